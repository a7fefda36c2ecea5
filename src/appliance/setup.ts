/**
 * First-boot provisioning (`veilport setup`, run once by veilport-setup.service):
 *
 *  1. finds a provisioning file: given with --provision, else `veilport-provision.json`
 *     on the boot partition (/boot/efi, /boot/firmware, /boot) or at the top of a USB
 *     stick (mounted read-only, nosuid, nodev, noexec, and unmounted again);
 *  2. merges its settings into /etc/veilport/veilport.json, validated by the same
 *     schema as the daemon before anything is written; files it names by a relative
 *     path (broker CA, client certificate, password file, TLS certificate) are copied
 *     from beside it into /etc/veilport;
 *  3. sets the system time zone, adds NAS mounts to /etc/fstab;
 *  4. creates the data and export directories and the appliance's identity key pair
 *     and data key (generated here, on the box; never baked into an image);
 *  5. writes the unit drop-in that opens the settings' paths in the service sandbox;
 *  6. issues a one-time bootstrap token for the first administrator and prints it on
 *     the console (there is no default password), and hands the data directory to the
 *     service user;
 *  7. leaves the marker that makes the unit's condition false on later boots.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, posix, resolve } from 'node:path';
import { loadSettings, type Settings } from '../config/settings.js';
import { VeilportError } from '../util/errors.js';
import { loadOrCreateSigningKey, publicKeyFingerprint } from '../seal/signing-key.js';
import { loadOrCreateDataKey } from '../store/data-key.js';
import { openStore } from '../store/store.js';
import { AccountService } from '../auth/accounts.js';
import { authSettingsFrom } from '../auth/settings.js';
import { announceBootstrapToken } from '../auth/bootstrap.js';
import { markBootstrapTokenShown } from './boot.js';
import { pathsDropIn } from './sandbox.js';
import { fstabEntries, lookupUser, type UserInfo } from './system.js';

export const PROVISION_FILE = 'veilport-provision.json';
/** Where an installer can put the provisioning file without tools: the FAT boot partition. */
export const BOOT_DIRS = ['/boot/efi', '/boot/firmware', '/boot'];
export const DEFAULT_MARKER = '/var/lib/veilport/.provisioned';
export const DEFAULT_DROPIN_DIR = '/etc/systemd/system/veilport.service.d';

export interface Provision {
  version: 1;
  /** IANA zone: the system clock's zone and, unless the settings say otherwise, site.timeZone. */
  timeZone?: string;
  /** Extra /etc/fstab lines (e.g. the NAS with the recordings). */
  fstab?: string[];
  /** Any part of veilport.json (paths, mqtt, server, cameras, ...). */
  settings?: Record<string, unknown>;
}

export interface SetupOptions {
  configFile: string;
  /** An explicit provisioning file (else searched when `search` is set). */
  provisionFile?: string;
  /** Look on the boot partition and USB sticks (first boot). */
  search?: boolean;
  /** Directories searched for PROVISION_FILE (default BOOT_DIRS). */
  searchDirs?: string[];
  /** Also look on removable USB block devices (default: with `search`, when root). */
  usb?: boolean;
  /** The daemon's user; files are handed to it when running as root. Default "veilport" if it exists. */
  serviceUser?: string | null;
  /** Where the unit drop-in goes; null: none. */
  dropInDir?: string | null;
  /** The marker of a finished first boot; null: none. */
  marker?: string | null;
  /** Root for /etc/localtime, /etc/timezone, /etc/fstab (default "/"; tests use a directory). */
  systemRoot?: string;
  /** Print the bootstrap token (default true). */
  token?: boolean;
  /** Console output. */
  say: (text: string) => void;
  env?: NodeJS.ProcessEnv;
}

export interface SetupReport {
  provisionedFrom: string | null;
  configFile: string;
  settings: Settings;
  applianceId: string;
  fingerprint: string;
  token: string | null;
  dropIn: string | null;
  copied: string[];
  notes: string[];
}

const PROVISION_KEYS = new Set(['version', 'timeZone', 'fstab', 'settings']);
/** Settings that name files: relative paths in a provisioning file are copied from beside it. */
const FILE_SETTINGS: [string, string][] = [['mqtt', 'caFile'], ['mqtt', 'certFile'], ['mqtt', 'keyFile'], ['mqtt', 'passwordFile'], ['server', 'tlsCert'], ['server', 'tlsKey']];

function bad(msg: string, file?: string): never {
  throw new VeilportError('BAD_INPUT', file ? `provisioning file ${file}: ${msg}` : msg);
}

export function parseProvision(file: string, text: string): Provision {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    bad(`not valid JSON (${(e as Error).message})`, file);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) bad('must be a JSON object', file);
  const o = doc as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!PROVISION_KEYS.has(k)) bad(`${k}: unknown key (known: ${[...PROVISION_KEYS].join(', ')})`, file);
  if (o['version'] !== 1) bad('version: must be 1', file);
  if (o['timeZone'] !== undefined) {
    if (typeof o['timeZone'] !== 'string') bad('timeZone: must be a string such as "Asia/Seoul"', file);
    try {
      new Intl.DateTimeFormat('en', { timeZone: o['timeZone'] });
    } catch {
      bad(`timeZone: "${o['timeZone']}" is not an IANA time zone (e.g. Asia/Seoul)`, file);
    }
  }
  if (o['fstab'] !== undefined && (!Array.isArray(o['fstab']) || o['fstab'].some((l) => typeof l !== 'string' || l.split(/\s+/).filter(Boolean).length < 3 || /\n/.test(l)))) {
    bad('fstab: must be a list of /etc/fstab lines ("SOURCE TARGET TYPE [OPTIONS]")', file);
  }
  if (o['settings'] !== undefined && (typeof o['settings'] !== 'object' || o['settings'] === null || Array.isArray(o['settings']))) bad('settings: must be an object like veilport.json', file);
  return o as unknown as Provision;
}

/** Lists removable or USB partitions (lsblk), with their mount points if mounted. */
function usbPartitions(): { path: string; mountpoint: string | null; fstype: string }[] {
  let json: { blockdevices?: unknown[] };
  try {
    json = JSON.parse(execFileSync('lsblk', ['-J', '-p', '-o', 'NAME,TYPE,RM,HOTPLUG,TRAN,FSTYPE,MOUNTPOINT'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] })) as { blockdevices?: unknown[] };
  } catch {
    return [];
  }
  type Dev = { name: string; type: string; rm: boolean | string; hotplug: boolean | string; tran: string | null; fstype: string | null; mountpoint: string | null; children?: Dev[] };
  const out: { path: string; mountpoint: string | null; fstype: string }[] = [];
  const yes = (v: unknown) => v === true || v === '1';
  const walk = (d: Dev, removable: boolean) => {
    const r = removable || yes(d.rm) || yes(d.hotplug) || d.tran === 'usb';
    if (r && d.fstype && ['vfat', 'exfat', 'ext4', 'ext3', 'ext2', 'ntfs', 'iso9660'].includes(d.fstype)) out.push({ path: d.name, mountpoint: d.mountpoint, fstype: d.fstype });
    for (const c of d.children ?? []) walk(c, r);
  };
  for (const d of (json.blockdevices ?? []) as Dev[]) walk(d, false);
  return out;
}

/** Reads PROVISION_FILE from a USB stick; copies it and its directory's small files to a private temp dir. */
function fromUsb(say: (t: string) => void): string | null {
  for (const part of usbPartitions()) {
    let dir = part.mountpoint;
    let mounted = false;
    if (!dir) {
      dir = mkdtempSync(join(tmpdir(), 'veilport-usb-'));
      const r = spawnSync('mount', ['-o', 'ro,nosuid,nodev,noexec', part.path, dir], { encoding: 'utf8', timeout: 30_000 });
      if (r.status !== 0) {
        rmSync(dir, { recursive: true, force: true });
        continue;
      }
      mounted = true;
    }
    try {
      const file = join(dir, PROVISION_FILE);
      if (!existsSync(file)) continue;
      // Copy what we need before unmounting: the file and the small files beside it.
      const copy = mkdtempSync(join(tmpdir(), 'veilport-provision-'));
      for (const n of readdirSync(dir)) {
        const p = join(dir, n);
        const st = lstatSync(p);
        if (st.isFile() && st.size < 1024 * 1024) copyFileSync(p, join(copy, n));
      }
      say(`veilport setup: provisioning file found on USB stick ${part.path}`);
      return join(copy, PROVISION_FILE);
    } finally {
      if (mounted) {
        spawnSync('umount', [dir], { timeout: 30_000 });
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  return null;
}

export function findProvisionFile(opts: Pick<SetupOptions, 'provisionFile' | 'search' | 'searchDirs' | 'usb' | 'say'>): string | null {
  if (opts.provisionFile) {
    if (!existsSync(opts.provisionFile)) bad(`provisioning file ${opts.provisionFile} does not exist`);
    return resolve(opts.provisionFile);
  }
  if (!opts.search) return null;
  for (const d of opts.searchDirs ?? BOOT_DIRS) {
    const f = join(d, PROVISION_FILE);
    if (existsSync(f)) return f;
  }
  const usb = opts.usb ?? process.getuid?.() === 0;
  return usb ? fromUsb(opts.say) : null;
}

function mergeDeep(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    const obj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
    out[k] = obj(b) && obj(v) && k !== 'cameras' ? mergeDeep(b, v) : v;
  }
  return out;
}

function readJsonObject(file: string): Record<string, unknown> {
  if (!existsSync(file)) return {};
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    /* reported by loadSettings below */
  }
  bad(`settings file ${file} is not a JSON object; fix or remove it and run setup again`);
}

function writeAtomic(file: string, content: string, mode: number, owner?: { uid: number; gid: number }): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode });
  chmodSync(tmp, mode);
  if (owner) chownSync(tmp, owner.uid, owner.gid);
  renameSync(tmp, file);
}

function chownTree(path: string, uid: number, gid: number): void {
  const st = lstatSync(path);
  if (st.isSymbolicLink()) return;
  chownSync(path, uid, gid);
  if (st.isDirectory()) for (const n of readdirSync(path)) chownTree(join(path, n), uid, gid);
}

export async function runSetup(opts: SetupOptions): Promise<SetupReport> {
  const say = opts.say;
  const root = opts.systemRoot ?? '/';
  const isRoot = process.getuid?.() === 0;
  const user: UserInfo | null = opts.serviceUser === null ? null : lookupUser(opts.serviceUser ?? 'veilport');
  if (opts.serviceUser && !user) bad(`service user "${opts.serviceUser}" does not exist (systemd-sysusers creates "veilport" from /usr/lib/sysusers.d/veilport.conf)`);
  const owner = isRoot && user ? { uid: user.uid, gid: user.gid } : undefined;
  const notes: string[] = [];
  const copied: string[] = [];

  // 1-2. Provisioning file and settings.
  const provisionedFrom = findProvisionFile(opts);
  const prov = provisionedFrom ? parseProvision(provisionedFrom, readFileSync(provisionedFrom, 'utf8')) : null;
  const configDir = dirname(resolve(opts.configFile));
  mkdirSync(configDir, { recursive: true, mode: 0o750 });
  let merged = readJsonObject(opts.configFile);
  if (prov) {
    const over = structuredClone(prov.settings ?? {}) as Record<string, Record<string, unknown>>;
    for (const [section, key] of FILE_SETTINGS) {
      const v = over[section]?.[key];
      if (typeof v !== 'string' || v === '' || isAbsolute(v)) continue;
      const src = resolve(dirname(provisionedFrom!), v);
      if (!existsSync(src)) bad(`settings.${section}.${key}: "${v}" is not beside the provisioning file (${src})`, provisionedFrom!);
      const dest = join(configDir, posix.basename(v));
      // Readable by the service's group only: broker passwords and private keys.
      copyFileSync(src, dest);
      chmodSync(dest, 0o640);
      if (owner) chownSync(dest, 0, owner.gid);
      over[section]![key] = dest;
      copied.push(dest);
    }
    if (prov.timeZone && !(over['site'] && 'timeZone' in over['site'])) over['site'] = { ...(over['site'] ?? {}), timeZone: prov.timeZone };
    merged = mergeDeep(merged, over);
  }
  // Validate exactly as the daemon will read it, before replacing the file.
  const candidate = `${opts.configFile}.${process.pid}.check`;
  writeFileSync(candidate, JSON.stringify(merged, null, 2) + '\n', { mode: 0o640 });
  let settings: Settings;
  try {
    settings = loadSettings({ file: candidate, env: opts.env ?? {} });
  } catch (e) {
    rmSync(candidate, { force: true });
    const msg = (e as Error).message.replace(candidate, provisionedFrom ?? opts.configFile);
    throw new VeilportError('BAD_INPUT', `${msg} (nothing was changed)`);
  }
  rmSync(candidate, { force: true });
  if (prov || !existsSync(opts.configFile)) {
    writeAtomic(opts.configFile, JSON.stringify(merged, null, 2) + '\n', 0o640, owner ? { uid: 0, gid: owner.gid } : undefined);
    say(`veilport setup: settings written to ${opts.configFile}${provisionedFrom ? ` from ${provisionedFrom}` : ''}`);
  }
  for (const [key, p] of [['paths.data', settings.paths.data], ['paths.recordings', settings.paths.recordings], ['paths.exports', settings.paths.exports]] as const) {
    if (p && (!isAbsolute(p) || /\s/.test(p))) bad(`settings: ${key}: "${p}" must be an absolute path without spaces (it goes into the systemd unit)`);
  }

  // 3. Time zone and mounts.
  if (prov?.timeZone) {
    const zone = join(root, 'usr/share/zoneinfo', prov.timeZone);
    if (!existsSync(zone)) notes.push(`time zone ${prov.timeZone}: ${zone} is missing (tzdata not installed?); the system zone was not changed`);
    else {
      rmSync(join(root, 'etc/localtime'), { force: true });
      symlinkSync(`/usr/share/zoneinfo/${prov.timeZone}`, join(root, 'etc/localtime'));
      writeFileSync(join(root, 'etc/timezone'), prov.timeZone + '\n');
      say(`veilport setup: time zone ${prov.timeZone}`);
    }
  }
  if (prov?.fstab?.length) {
    const fstab = join(root, 'etc/fstab');
    const have = new Set(fstabEntries(fstab).map((m) => m.target));
    const add = prov.fstab.filter((l) => !have.has(l.trim().split(/\s+/)[1]!));
    if (add.length) {
      writeFileSync(fstab, (existsSync(fstab) ? readFileSync(fstab, 'utf8').replace(/\n?$/, '\n') : '') + '# added by veilport setup\n' + add.map((l) => l.trim() + '\n').join(''));
      for (const l of add) mkdirSync(join(root, l.trim().split(/\s+/)[1]!), { recursive: true });
      say(`veilport setup: ${add.length} mount(s) added to /etc/fstab: ${add.map((l) => l.trim().split(/\s+/)[1]).join(', ')}`);
      if (root === '/' && isRoot && existsSync('/run/systemd/system')) {
        spawnSync('systemctl', ['daemon-reload'], { timeout: 60_000 });
        for (const l of add) {
          const target = l.trim().split(/\s+/)[1]!;
          const r = spawnSync('mount', [target], { encoding: 'utf8', timeout: 60_000 });
          if (r.status !== 0) notes.push(`mount ${target} failed now (${(r.stderr || '').trim()}); it is retried at every boot, and "veilport doctor" reports it`);
        }
      }
    }
  }

  // 4. Directories and keys.
  const dataDir = settings.paths.data;
  const exportsDir = settings.paths.exports || join(dataDir, 'exports');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  mkdirSync(exportsDir, { recursive: true, mode: 0o700 });
  if (owner) {
    chownSync(dataDir, owner.uid, owner.gid);
    chownSync(exportsDir, owner.uid, owner.gid);
  }
  // As root, existing keys owned by the service user are accepted; new ones are handed to it below.
  const keysDir = join(dataDir, 'keys');
  const signer = await loadOrCreateSigningKey(keysDir);
  const dataKey = await loadOrCreateDataKey(keysDir);
  const fingerprint = publicKeyFingerprint(signer.publicKey);
  say(`veilport setup: appliance ${signer.applianceId}, signing key fingerprint ${fingerprint.match(/.{4}/g)!.join(' ')}`);

  // 5. Sandbox paths.
  let dropIn: string | null = null;
  const dropInDir = opts.dropInDir === undefined ? null : opts.dropInDir;
  if (dropInDir) {
    mkdirSync(dropInDir, { recursive: true, mode: 0o755 });
    dropIn = join(dropInDir, '10-paths.conf');
    writeAtomic(dropIn, pathsDropIn({ data: dataDir, recordings: settings.paths.recordings, exports: exportsDir }, opts.configFile), 0o644);
    say(`veilport setup: service sandbox paths in ${dropIn}`);
    if (root === '/' && isRoot && existsSync('/run/systemd/system')) spawnSync('systemctl', ['daemon-reload'], { timeout: 60_000 });
  }

  // 6. The first administrator's one-time token.
  let token: string | null = null;
  if (opts.token !== false) {
    const store = openStore(dataDir);
    try {
      const accounts = new AccountService(store, dataKey, authSettingsFrom(settings));
      token = announceBootstrapToken(accounts, say);
      if (token) markBootstrapTokenShown(dataDir);
      else say('veilport setup: an administrator account exists; no bootstrap token needed');
    } finally {
      await store.close();
    }
  }
  if (owner) chownTree(dataDir, owner.uid, owner.gid);

  // 7. Done: the first-boot unit's condition becomes false.
  if (opts.marker) {
    mkdirSync(dirname(opts.marker), { recursive: true });
    writeFileSync(opts.marker, JSON.stringify({ at: new Date().toISOString(), from: provisionedFrom, applianceId: signer.applianceId }) + '\n', { mode: 0o644 });
    if (owner && dirname(opts.marker) === dataDir) chownSync(opts.marker, owner.uid, owner.gid);
  }
  for (const n of notes) say(`veilport setup: note: ${n}`);
  return { provisionedFrom, configFile: opts.configFile, settings, applianceId: signer.applianceId, fingerprint, token, dropIn, copied, notes };
}
