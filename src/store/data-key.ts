/**
 * The appliance's data key: 32 random bytes in `<keys>/data-key.json` (0600), used to
 * encrypt requesters' personal data (name, phone, ID number) at rest. Each value is
 * sealed with XChaCha20-Poly1305 under a fresh nonce and bound (as associated data) to
 * the record and field it belongs to, so a ciphertext copied to another record or
 * field does not open.
 */
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { VeilportError } from '../util/errors.js';
import { loadOrCreatePrivateFile } from '../util/private-file.js';

export const DATA_KEY_FILE = 'data-key.json';

/** An encrypted text field as stored: `v1:` + hex(nonce || ciphertext+tag). */
export type SealedText = string & { readonly __sealed: true };

export interface DataKey {
  seal(plain: string, context: string): SealedText;
  open(sealed: SealedText, context: string): string;
}

export async function loadOrCreateDataKey(keysDir: string): Promise<DataKey> {
  const file = join(keysDir, DATA_KEY_FILE);
  const text = await loadOrCreatePrivateFile(file, 'data key', () =>
    JSON.stringify({ version: 1, algorithm: 'XChaCha20-Poly1305', key: randomBytes(32).toString('hex'), createdAt: new Date().toISOString() }) + '\n',
  );
  let key: Uint8Array;
  try {
    const doc = JSON.parse(text) as { version?: unknown; key?: unknown };
    if (doc.version !== 1 || typeof doc.key !== 'string' || !/^[0-9a-f]{64}$/.test(doc.key)) throw new Error('bad fields');
    key = hexToBytes(doc.key);
  } catch {
    throw new VeilportError('KEY_ERROR', `data key file ${file} is malformed (expected version 1 and 64 hex digits of key)`, { file });
  }
  return dataKeyFrom(key);
}

export function dataKeyFrom(key: Uint8Array): DataKey {
  return {
    seal(plain, context) {
      const nonce = randomBytes(24);
      const ct = xchacha20poly1305(key, nonce, utf8ToBytes(context)).encrypt(utf8ToBytes(plain));
      return `v1:${bytesToHex(nonce)}${bytesToHex(ct)}` as SealedText;
    },
    open(sealed, context) {
      if (typeof sealed !== 'string' || !/^v1:[0-9a-f]{82,}$/.test(sealed)) {
        throw new VeilportError('KEY_ERROR', `an encrypted field (${context}) is malformed`);
      }
      const bytes = hexToBytes(sealed.slice(3));
      try {
        return new TextDecoder().decode(xchacha20poly1305(key, bytes.subarray(0, 24), utf8ToBytes(context)).decrypt(bytes.subarray(24)));
      } catch {
        throw new VeilportError('KEY_ERROR', `an encrypted field (${context}) does not open with this appliance's data key`);
      }
    },
  };
}
