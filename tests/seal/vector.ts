/**
 * The known-answer vector printed in docs/package-format.md: a package built with a
 * counting "random" source so every byte is reproducible. Not a test file itself.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { x25519 } from '@noble/curves/ed25519.js';
import { sealWithRandom } from '../../src/seal/seal.js';
import { makeSigner } from './helpers.js';

export const VECTOR = {
  signerSecretKey: new Uint8Array(32).fill(0x07),
  recipientSecretKey: new Uint8Array(32).fill(0x09),
  password: 'correct horse battery',
  scrypt: { N: 2 ** 14, r: 8, p: 1 },
  chunkSize: 16,
  now: new Date('2026-03-01T09:00:00.000Z'),
  manifest: { caseId: 'CASE-EXAMPLE', expiresAt: '2026-03-15T09:00:00.000Z', allowExtract: false },
  video: new TextEncoder().encode('masked video bytes would go here (40 B).'),
};

/** Random source of the vector: consecutive byte values 0x00, 0x01, ... wrapping after 0xff. */
export function countingRandom(): (n: number) => Uint8Array {
  let next = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = next++ & 0xff;
    return out;
  };
}

export async function buildVector(dir: string): Promise<Uint8Array> {
  const out = join(dir, 'vector.vpkg');
  const signer = makeSigner(0x07);
  await sealWithRandom(
    {
      out,
      manifest: { ...VECTOR.manifest },
      video: (async function* () {
        yield VECTOR.video;
      })(),
      password: VECTOR.password,
      signer,
      recipientPublicKey: x25519.getPublicKey(VECTOR.recipientSecretKey),
      chunkSize: VECTOR.chunkSize,
      scrypt: VECTOR.scrypt,
      now: VECTOR.now,
    },
    countingRandom(),
  );
  return new Uint8Array(await readFile(out));
}

/** `xxd`-like dump: 8 hex digits of offset, two spaces, 16 bytes in hex separated by spaces. */
export function hexdump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) {
    const hex = [...bytes.subarray(i, i + 16)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    lines.push(`${i.toString(16).padStart(8, '0')}  ${hex}`);
  }
  return lines.join('\n');
}
