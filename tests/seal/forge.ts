/**
 * A hostile sealer written from docs/package-format.md alone: it writes a well-formed,
 * validly signed package with ANY manifest (a real box's applianceId, allowExtract,
 * no expiry) under ANY Ed25519 key, as someone who decrypted a package could. The
 * reference sealer refuses to do this; readers must refuse what it makes.
 * Not a test file.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, randomBytes } from '@noble/hashes/utils.js';

const enc = new TextEncoder();
const u16 = (n: number) => Uint8Array.of(n >>> 8, n & 255);
const u32 = (n: number) => Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
const u64 = (n: number) => concatBytes(u32(Math.floor(n / 2 ** 32)), u32(n >>> 0));

export async function forgePackage(o: { manifest: Record<string, unknown>; video: Uint8Array; password: string; secretKey: Uint8Array; chunkSize?: number }): Promise<Uint8Array> {
  const chunkSize = o.chunkSize ?? 4096;
  const kdf = { name: 'scrypt', N: 2 ** 14, r: 8, p: 1 };
  const manifest = {
    formatVersion: 1,
    packageId: Buffer.from(randomBytes(16)).toString('hex'),
    issuedAt: new Date().toISOString(),
    ...o.manifest,
    crypto: { aead: 'XChaCha20-Poly1305', chunkSize, kdf, recipientWrap: null, signature: 'Ed25519', digest: 'SHA-256' },
  };
  const ck = randomBytes(32);
  const noncePrefix = randomBytes(16);
  const salt = randomBytes(16);
  const pwNonce = randomBytes(24);
  const kek = await scryptAsync(enc.encode(o.password.normalize('NFC')), salt, { N: kdf.N, r: kdf.r, p: kdf.p, dkLen: 32 });
  const wrapped = xchacha20poly1305(kek, pwNonce, enc.encode('veilport/package/v1/wrap/password')).encrypt(ck);
  const keyBlock = concatBytes(ed25519.getPublicKey(o.secretKey), noncePrefix, salt, pwNonce, wrapped);
  const m = enc.encode(JSON.stringify(manifest));
  const header = concatBytes(u32(m.length), m, u16(keyBlock.length), keyBlock);
  const prefix = concatBytes(Uint8Array.of(0x89, 0x56, 0x50, 0x4b, 0x47, 0x0d, 0x0a, 0x1a), u16(1), u32(header.length));
  const headerHash = sha256(concatBytes(prefix, header));
  const records: Uint8Array[] = [];
  const count = Math.max(1, Math.ceil(o.video.length / chunkSize));
  for (let i = 0; i < count; i++) {
    const nonce = concatBytes(noncePrefix, u64(i));
    const aad = concatBytes(headerHash, u64(i), Uint8Array.of(i === count - 1 ? 1 : 0));
    const sealed = xchacha20poly1305(ck, nonce, aad).encrypt(o.video.subarray(i * chunkSize, (i + 1) * chunkSize));
    records.push(u32(sealed.length), nonce, sealed);
  }
  const body = concatBytes(prefix, header, ...records);
  const digest = sha256(body);
  const signature = ed25519.sign(concatBytes(enc.encode('veilport/package/v1/signature'), digest), o.secretKey);
  return concatBytes(body, digest, signature, enc.encode('VPKG-END'));
}
