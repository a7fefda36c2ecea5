/**
 * The appliance's own Ed25519 signing key: generated on the box on first use, kept in a
 * 0600 file in a 0700 directory, and refused when its file permissions or contents
 * would let us sign with a key someone else could have read or planted.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { VeilportError } from '../util/errors.js';
import { base32, equalBytes } from './bytes.js';
import { checkPrivate, loadOrCreatePrivateFile } from '../util/private-file.js';

export const SIGNING_KEY_FILE = 'appliance-key.json';

export interface SigningKey {
  applianceId: string;
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/** Hex of the first 16 bytes of SHA-256(public key): short enough to read over the phone. */
export function publicKeyFingerprint(publicKey: Uint8Array): string {
  return bytesToHex(sha256(publicKey).subarray(0, 16));
}

/**
 * Appliance id derived from the public key ("vp-" + base32 of 10 bytes of its SHA-256),
 * so an id can never be paired with someone else's key by editing a file.
 */
export function applianceIdFor(publicKey: Uint8Array): string {
  return 'vp-' + base32(sha256(publicKey).subarray(0, 10));
}

const keyError = (file: string, why: string) => new VeilportError('KEY_ERROR', `signing key file ${file}: ${why}`, { file });

function parseKeyFile(file: string, text: string): SigningKey {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw keyError(file, 'is not valid JSON');
  }
  if (typeof doc !== 'object' || doc === null) throw keyError(file, 'is not a JSON object');
  const d = doc as Record<string, unknown>;
  if (d.version !== 1 || d.algorithm !== 'Ed25519') throw keyError(file, 'has an unknown version or algorithm');
  const hex = (v: unknown) => (typeof v === 'string' && /^[0-9a-f]{64}$/.test(v) ? hexToBytes(v) : null);
  const secretKey = hex(d.secretKey);
  const publicKey = hex(d.publicKey);
  if (!secretKey || !publicKey) throw keyError(file, 'secretKey/publicKey must be 64 lower-case hex digits');
  if (!equalBytes(ed25519.getPublicKey(secretKey), publicKey)) throw keyError(file, 'publicKey does not belong to secretKey');
  const applianceId = applianceIdFor(publicKey);
  if (d.applianceId !== applianceId) throw keyError(file, `applianceId does not match the key (expected ${applianceId})`);
  return { applianceId, publicKey, secretKey };
}

function newKeyFile(): string {
  const secretKey = ed25519.utils.randomSecretKey();
  const publicKey = ed25519.getPublicKey(secretKey);
  const doc = {
    version: 1,
    algorithm: 'Ed25519',
    applianceId: applianceIdFor(publicKey),
    publicKey: bytesToHex(publicKey),
    secretKey: bytesToHex(secretKey),
    createdAt: new Date().toISOString(),
  };
  secretKey.fill(0);
  return JSON.stringify(doc, null, 2) + '\n';
}

/**
 * Loads the appliance signing key from `dir/appliance-key.json`, creating the directory
 * (0700) and the key (0600) on first use.
 * @throws VeilportError KEY_ERROR naming the file when it is group/world accessible, not
 *   owned by this user, a symlink, or malformed; or when the directory is group/world writable.
 */
export async function loadOrCreateSigningKey(dir: string): Promise<SigningKey> {
  const file = path.join(dir, SIGNING_KEY_FILE);
  return parseKeyFile(file, await loadOrCreatePrivateFile(file, 'signing key', newKeyFile));
}

/**
 * Reads the appliance's public key and id from `dir/appliance-key.json` without ever
 * creating a key (a fresh key would make every honest package look forged). The file
 * and its directory get the same checks as when signing: a key someone else could
 * have planted is no key to trust.
 * @returns null when there is no key file; throws KEY_ERROR when it exists but is
 *   unreadable, too open or malformed.
 */
export async function readApplianceKey(dir: string): Promise<{ applianceId: string; publicKey: Uint8Array } | null> {
  const file = path.join(dir, SIGNING_KEY_FILE);
  try {
    await fs.lstat(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw keyError(file, `cannot be examined (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  await checkPrivate(dir, 'dir', 'signing key directory');
  await checkPrivate(file, 'file', 'signing key file');
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw keyError(file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const k = parseKeyFile(file, text);
  k.secretKey.fill(0);
  return { applianceId: k.applianceId, publicKey: k.publicKey };
}
