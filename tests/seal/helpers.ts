/** Shared helpers for the sealed-package tests (not a test file itself). */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { applianceIdFor, sealPackage, type SealOptions, type SealResult, type SigningKey } from '../../src/seal/index.js';
import { SIGNATURE_CONTEXT, TRAILER_BYTES, DIGEST_BYTES, SIGNATURE_BYTES } from '../../src/seal/constants.js';

/** Small scrypt cost so tests run fast; one test uses the default. */
export const FAST = { N: 2 ** 14, r: 8, p: 1 };
export const PASSWORD = 'correct horse battery';
export const NOW = new Date('2026-03-01T09:00:00.000Z');

export function makeSigner(seedByte = 7): SigningKey {
  const secretKey = new Uint8Array(32).fill(seedByte);
  const publicKey = ed25519.getPublicKey(secretKey);
  return { applianceId: applianceIdFor(publicKey), publicKey, secretKey };
}

/** Deterministic non-repeating-looking bytes, so moved chunks differ. */
export function pattern(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Yields `data` in pieces of `piece` bytes (odd sizes exercise re-chunking). */
export async function* pieces(data: Uint8Array, piece = 777): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += piece) yield data.slice(i, i + piece);
}

export async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of it) parts.push(p);
  return concatBytes(...parts);
}

export const baseManifest = (): Record<string, unknown> => ({
  caseId: 'CASE-2026-0042',
  requester: { reference: 'REQ-17', organisation: 'Mapo Police Station', type: 'police' },
  purpose: 'criminal investigation',
  legalBasis: 'PIPA art. 18(2)7',
  cameras: ['cam-03'],
  range: { from: '2026-02-28T10:00:00Z', to: '2026-02-28T10:05:00Z' },
  expiresAt: '2026-03-15T09:00:00.000Z',
  allowExtract: false,
});

export interface Sealed {
  path: string;
  bytes: Uint8Array;
  result: SealResult;
  signer: SigningKey;
}

/** Seals `video` into `dir/name` with fast defaults; overrides go to sealPackage. */
export async function seal(dir: string, name: string, video: Uint8Array, over: Partial<SealOptions> = {}): Promise<Sealed> {
  const signer = over.signer ?? makeSigner();
  const path = join(dir, name);
  const result = await sealPackage({
    out: path,
    manifest: baseManifest(),
    video: pieces(video),
    password: PASSWORD,
    signer,
    scrypt: FAST,
    chunkSize: 64,
    now: NOW,
    ...over,
  });
  return { path, bytes: new Uint8Array(await readFile(path)), result, signer };
}

/** Recomputes the digest (what anyone can do) and optionally re-signs (what only a key holder can do). */
export function redigest(bytes: Uint8Array, secretKey?: Uint8Array): Uint8Array {
  const out = Uint8Array.from(bytes);
  const dataEnd = out.length - TRAILER_BYTES;
  const digest = sha256(out.subarray(0, dataEnd));
  out.set(digest, dataEnd);
  if (secretKey) out.set(ed25519.sign(concatBytes(SIGNATURE_CONTEXT, digest), secretKey), dataEnd + DIGEST_BYTES);
  return out;
}

export const resign = (bytes: Uint8Array, secretKey: Uint8Array) => redigest(bytes, secretKey);
export { DIGEST_BYTES, SIGNATURE_BYTES, TRAILER_BYTES };

export async function writeBytes(dir: string, name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}
