/**
 * Which appliance keys a reader trusts. A valid signature only proves that *someone*
 * holding the key in the package signed it; "authentic" needs that key to be one of:
 *
 *   - this box's own key (`<data>/keys/appliance-key.json`, read, never created),
 *   - a key given on the command line (`--trust-key HEX|FILE`),
 *   - the fleet trust file central IT distributes (default
 *     /etc/veilport/trusted-appliances.json; format in docs/package-format.md §10).
 *
 * The fleet file is not signed: it is itself the trust anchor, like ssh_known_hosts,
 * and a signature would only move the question to "which key signs trust files", a key
 * that would have to be pinned in the same root-owned place. Its integrity comes from
 * where it lives: it is refused unless only root (or the reading user) can write it and
 * its folder, and every entry's appliance id must be the one derived from its key.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { hexToBytes } from '@noble/hashes/utils.js';
import { VeilportError } from '../util/errors.js';
import { equalBytes } from './bytes.js';
import { applianceIdFor, publicKeyFingerprint, readApplianceKey } from './signing-key.js';

export type TrustSource = 'own' | 'trust-key' | 'fleet';

export interface TrustedKey {
  publicKey: Uint8Array;
  applianceId: string;
  source: TrustSource;
  /** Where it came from, for people: "this box (/var/lib/veilport)", "--trust-key", the fleet entry's name. */
  label: string;
  /** A fleet entry revoked at this time: packages it signed are refused, whatever date they claim. */
  revokedAt: string | null;
}

export interface TrustList {
  keys: TrustedKey[];
  /** Why an expected source gave no key (shown when a package then turns out untrusted). */
  notes: string[];
}

export const FLEET_TRUST_FORMAT = 'veilport-trusted-appliances/1';
export const DEFAULT_FLEET_TRUST_FILE = '/etc/veilport/trusted-appliances.json';
export const DEFAULT_DATA_DIR = '/var/lib/veilport';
const MAX_TRUST_FILE_BYTES = 1024 * 1024;
const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

const bad = (msg: string) => new VeilportError('BAD_INPUT', msg);

/** The box's data directory when none is given: $VEILPORT_DATA, $VEILPORT_PATHS_DATA, else /var/lib/veilport. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['VEILPORT_DATA'] || env['VEILPORT_PATHS_DATA'] || DEFAULT_DATA_DIR;
}

/** The fleet trust file when none is given: $VEILPORT_TRUST_FILE, else /etc/veilport/trusted-appliances.json. */
export function defaultFleetTrustFile(env: NodeJS.ProcessEnv = process.env): string {
  return env['VEILPORT_TRUST_FILE'] || DEFAULT_FLEET_TRUST_FILE;
}

/** Refuses a trust file (or its folder) that someone other than root or this user could have written. */
async function checkNotPlantable(file: string, what: string): Promise<void> {
  const uid = process.getuid?.();
  for (const [p, kind] of [[file, 'file'], [path.dirname(path.resolve(file)), 'folder']] as const) {
    const st = await fs.stat(p);
    if (kind === 'file' && !st.isFile()) throw bad(`${what} ${file} is not a regular file`);
    if (st.mode & 0o022) throw bad(`${what} ${kind === 'file' ? file : `folder ${p}`} is writable by group or others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}): anyone could add a key to it; chmod go-w it`);
    if (uid !== undefined && st.uid !== 0 && st.uid !== uid) throw bad(`${what} ${kind === 'file' ? file : `folder ${p}`} is owned by uid ${st.uid}, neither root nor this user (uid ${uid})`);
  }
}

async function readSmall(file: string, what: string): Promise<string> {
  let st;
  try {
    st = await fs.stat(file);
  } catch (e) {
    throw bad(`${what} ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (!st.isFile()) throw bad(`${what} ${file} is not a regular file`);
  if (st.size > MAX_TRUST_FILE_BYTES) throw bad(`${what} ${file} is ${st.size} bytes, more than a trust file can be (${MAX_TRUST_FILE_BYTES})`);
  try {
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    throw bad(`${what} ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/**
 * Parses a fleet trust file (docs/package-format.md §10).
 * @throws VeilportError BAD_INPUT naming the file and the entry at fault.
 */
export function parseFleetTrust(text: string, file: string): TrustedKey[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw bad(`fleet trust file ${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw bad(`fleet trust file ${file} must be a JSON object`);
  const d = doc as Record<string, unknown>;
  if (d['format'] !== FLEET_TRUST_FORMAT) throw bad(`fleet trust file ${file}: "format" must be "${FLEET_TRUST_FORMAT}" (found ${JSON.stringify(d['format'])?.slice(0, 60)})`);
  const list = d['appliances'];
  if (!Array.isArray(list)) throw bad(`fleet trust file ${file}: "appliances" must be a list`);
  const out: TrustedKey[] = [];
  list.forEach((raw, i) => {
    const where = `fleet trust file ${file}: appliances[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad(`${where} must be an object`);
    const e = raw as Record<string, unknown>;
    const hex = e['publicKey'];
    if (typeof hex !== 'string' || !HEX_KEY.test(hex)) throw bad(`${where}: publicKey must be an Ed25519 public key as 64 hex digits`);
    const publicKey = hexToBytes(hex.toLowerCase());
    const id = applianceIdFor(publicKey);
    if (e['applianceId'] !== id) throw bad(`${where}: applianceId ${JSON.stringify(e['applianceId'])?.slice(0, 60)} is not the id of its publicKey (${id}): a typo, or a key paired with another box's name`);
    const name = e['name'];
    if (name !== undefined && (typeof name !== 'string' || name.length > 200 || /[\u0000-\u001f\u007f-\u009f]/.test(name))) throw bad(`${where}: name must be a string of at most 200 characters without control characters`);
    const revokedAt = e['revokedAt'] ?? null;
    if (revokedAt !== null && (typeof revokedAt !== 'string' || !ISO_WITH_ZONE.test(revokedAt) || Number.isNaN(Date.parse(revokedAt)))) throw bad(`${where}: revokedAt must be null or an ISO date-time with a zone`);
    if (out.some((k) => equalBytes(k.publicKey, publicKey))) throw bad(`${where}: key ${publicKeyFingerprint(publicKey)} is listed twice`);
    out.push({ publicKey, applianceId: id, source: 'fleet', label: typeof name === 'string' && name ? `fleet: ${name}` : `fleet: ${id}`, revokedAt: revokedAt as string | null });
  });
  return out;
}

/** `--trust-key` value: 64 hex digits, or a file holding them, an appliance key file's JSON (its publicKey), or a fleet trust file. */
async function trustKeyArg(arg: string): Promise<TrustedKey[]> {
  const key = (publicKey: Uint8Array): TrustedKey => ({ publicKey, applianceId: applianceIdFor(publicKey), source: 'trust-key', label: '--trust-key', revokedAt: null });
  if (HEX_KEY.test(arg)) return [key(hexToBytes(arg.toLowerCase()))];
  const text = (await readSmall(arg, '--trust-key file').catch(() => {
    throw bad(`--trust-key "${arg.slice(0, 80)}": neither 64 hex digits (an Ed25519 public key) nor a readable file`);
  })).trim();
  if (HEX_KEY.test(text)) return [key(hexToBytes(text.toLowerCase()))];
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw bad(`--trust-key ${arg}: the file holds neither 64 hex digits nor JSON with a publicKey`);
  }
  const d = (typeof doc === 'object' && doc !== null ? doc : {}) as Record<string, unknown>;
  if (d['format'] === FLEET_TRUST_FORMAT) return parseFleetTrust(text, arg).map((k) => ({ ...k, source: 'trust-key' as const, label: `--trust-key ${arg}` }));
  const hex = d['publicKey'];
  if (typeof hex !== 'string' || !HEX_KEY.test(hex)) throw bad(`--trust-key ${arg}: no "publicKey" of 64 hex digits in it`);
  const k = key(hexToBytes(hex.toLowerCase()));
  if (d['applianceId'] !== undefined && d['applianceId'] !== k.applianceId) throw bad(`--trust-key ${arg}: applianceId ${JSON.stringify(d['applianceId'])?.slice(0, 60)} is not the id of its publicKey (${k.applianceId})`);
  return [k];
}

export interface TrustOptions {
  /** The data directory whose own key to trust; undefined: the box's default (a missing one is no error). */
  dataDir?: string;
  /** `--trust-key` values. */
  trustKeys?: string[];
  /** Fleet trust file; undefined: the default location, used when it exists. */
  trustFile?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Collects the trusted keys from the three sources.
 * @throws VeilportError BAD_INPUT for a `--trust-key` or trust file that cannot be used,
 *   a `--data` folder without a readable key; KEY_ERROR for a key file too open to trust.
 */
export async function loadTrust(o: TrustOptions = {}): Promise<TrustList> {
  const env = o.env ?? process.env;
  const keys: TrustedKey[] = [];
  const notes: string[] = [];
  const add = (k: TrustedKey) => {
    if (!keys.some((x) => equalBytes(x.publicKey, k.publicKey))) keys.push(k);
  };

  const explicitData = o.dataDir !== undefined;
  const dataDir = path.resolve(o.dataDir ?? defaultDataDir(env));
  const keysDir = path.join(dataDir, 'keys');
  try {
    const own = await readApplianceKey(keysDir);
    if (own) add({ ...own, source: 'own', label: `this box's key (${dataDir})`, revokedAt: null });
    else if (explicitData) throw bad(`--data ${dataDir}: no appliance key there (${path.join(keysDir, 'appliance-key.json')} does not exist)`);
    else notes.push(`no appliance key in ${keysDir} (not a Veilport box, or another data folder: --data DIR)`);
  } catch (e) {
    if (explicitData) throw e;
    notes.push(`this box's key was not read: ${(e as Error).message}`);
  }

  for (const arg of o.trustKeys ?? []) for (const k of await trustKeyArg(arg)) add(k);

  const fleetFile = o.trustFile ?? defaultFleetTrustFile(env);
  let present = true;
  try {
    await fs.stat(fleetFile);
  } catch {
    present = false;
  }
  if (!present) {
    if (o.trustFile !== undefined) throw bad(`--trust-file ${fleetFile} does not exist`);
    notes.push(`no fleet trust file at ${fleetFile}`);
  } else {
    await checkNotPlantable(fleetFile, 'fleet trust file');
    for (const k of parseFleetTrust(await readSmall(fleetFile, 'fleet trust file'), fleetFile)) add(k);
  }
  return { keys, notes };
}

/** The trusted entry for `publicKey`, if any. */
export function findTrusted(list: TrustList, publicKey: Uint8Array): TrustedKey | undefined {
  return list.keys.find((k) => equalBytes(k.publicKey, publicKey));
}

/** A trust list of bare keys (API callers, tests). */
export function trustKeys(publicKeys: Uint8Array[], source: TrustSource = 'trust-key', label = 'given key'): TrustList {
  return { keys: publicKeys.map((publicKey) => ({ publicKey, applianceId: applianceIdFor(publicKey), source, label, revokedAt: null })), notes: [] };
}
