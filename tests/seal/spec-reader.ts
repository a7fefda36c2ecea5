/**
 * An independent reader written from docs/package-format.md alone (no imports from
 * src/seal), in the style a browser player would use: whole file in memory, @noble only.
 * The tests run it against packages from the real sealer to show the spec is enough.
 * Not a test file itself.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '@noble/hashes/utils.js';

export class SpecError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

const enc = new TextEncoder();
const MAGIC = [0x89, 0x56, 0x50, 0x4b, 0x47, 0x0d, 0x0a, 0x1a];
const END = enc.encode('VPKG-END');
const same = (a: Uint8Array, b: ArrayLike<number>) => a.length === b.length && a.every((x, i) => x === b[i]);
const u32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getUint32(at, false);
const u64 = (n: number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), false);
  return b;
};
const fail = (code: string, msg: string): never => {
  throw new SpecError(code, msg);
};

export interface Credentials {
  password?: string;
  recipientSecretKey?: Uint8Array;
  /** §6 step 8: when given, the signer must be one of these keys. */
  trustedKeys?: Uint8Array[];
}

/** §4.1: "vp-" + lower-case RFC 4648 base32 (no padding) of SHA-256(key)[0..10]. */
function applianceId(key: Uint8Array): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const bits = [...sha256(key).subarray(0, 10)].map((x) => x.toString(2).padStart(8, '0')).join('');
  let out = '';
  for (let i = 0; i < bits.length; i += 5) out += alphabet[parseInt(bits.slice(i, i + 5).padEnd(5, '0'), 2)];
  return 'vp-' + out;
}

export async function specOpen(b: Uint8Array, cred: Credentials, now: Date): Promise<{ manifest: Record<string, any>; video: Uint8Array }> {
  // 1-2. magic, version
  if (b.length === 0 || !same(b.subarray(0, Math.min(8, b.length)), MAGIC.slice(0, Math.min(8, b.length)))) fail('PACKAGE_FORMAT', 'not a package');
  if (b.length < 14 + 144 + 44 + 104) fail('PACKAGE_FORMAT', 'truncated');
  if (new DataView(b.buffer, b.byteOffset).getUint16(8, false) !== 1) fail('PACKAGE_FORMAT', 'version');
  // 3. end marker
  if (!same(b.subarray(b.length - 8), END)) fail('PACKAGE_FORMAT', 'end marker');
  // 4. digest
  const dataEnd = b.length - 104;
  const digest = sha256(b.subarray(0, dataEnd));
  if (!same(digest, b.subarray(dataEnd, dataEnd + 32))) fail('PACKAGE_TAMPERED', 'digest');
  // 5. header
  const H = u32(b, 10);
  if (H < 144 || H > 4 * 1024 * 1024 || 14 + H > dataEnd - 44) fail('PACKAGE_FORMAT', 'header length');
  const header = b.subarray(0, 14 + H);
  const M = u32(b, 14);
  if (M < 2 || 18 + M + 2 + 136 > 14 + H) fail('PACKAGE_FORMAT', 'manifest length');
  let manifest: Record<string, any>;
  try {
    manifest = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(18, 18 + M)));
  } catch {
    return fail('PACKAGE_FORMAT', 'manifest json');
  }
  const K = new DataView(b.buffer, b.byteOffset).getUint16(18 + M, false);
  let p = 20 + M;
  if ((K !== 136 && K !== 272) || p + K !== 14 + H) fail('PACKAGE_FORMAT', 'key block');
  const take = (n: number) => b.subarray(p, (p += n));
  const signerPublicKey = take(32);
  const noncePrefix = take(16);
  const pw = { salt: take(16), nonce: take(24), wrapped: take(48) };
  const rc = K === 272 ? { eph: take(32), pub: take(32), nonce: take(24), wrapped: take(48) } : null;
  const c = manifest.crypto;
  const { N, r, p: par } = c.kdf;
  if (c.aead !== 'XChaCha20-Poly1305' || c.signature !== 'Ed25519' || c.digest !== 'SHA-256' || c.kdf.name !== 'scrypt') fail('PACKAGE_FORMAT', 'algorithms');
  if (![N, r, par].every(Number.isInteger) || N < 2 ** 14 || N > 2 ** 20 || (N & (N - 1)) !== 0 || r < 1 || r > 32 || par < 1 || par > 16 || 128 * N * r > 256 * 1024 * 1024 || N * r * par > 2 ** 23) {
    fail('PACKAGE_FORMAT', 'scrypt bounds');
  }
  if (!Number.isInteger(c.chunkSize) || c.chunkSize < 16 || c.chunkSize > 16 * 1024 * 1024) fail('PACKAGE_FORMAT', 'chunk size');
  if ((c.recipientWrap === null) !== (rc === null)) fail('PACKAGE_FORMAT', 'recipientWrap');
  // 6. signature
  const msg = concatBytes(enc.encode('veilport/package/v1/signature'), digest);
  if (!ed25519.verify(b.subarray(dataEnd + 32, dataEnd + 96), msg, signerPublicKey, { zip215: false })) fail('PACKAGE_SIGNATURE', 'signature');
  // 6b. the applianceId is the signing key's, then the key is trusted
  if (manifest.applianceId !== applianceId(signerPublicKey)) fail('PACKAGE_SIGNATURE', 'applianceId is not the signing key\'s');
  if (cred.trustedKeys && !cred.trustedKeys.some((k) => same(k, signerPublicKey))) fail('PACKAGE_SIGNATURE', 'unknown appliance key');
  // 7. chunk records
  const chunks: Array<{ at: number; len: number; final: boolean }> = [];
  for (let q = 14 + H; q < dataEnd; ) {
    if (q + 28 > dataEnd) fail('PACKAGE_FORMAT', 'record head');
    const len = u32(b, q);
    if (len < 16 || len > c.chunkSize + 16 || q + 28 + len > dataEnd) fail('PACKAGE_FORMAT', 'chunk length');
    const final = q + 28 + len === dataEnd;
    if (!final && len !== c.chunkSize + 16) fail('PACKAGE_FORMAT', 'short chunk');
    if (final && len === 16 && chunks.length > 0) fail('PACKAGE_FORMAT', 'empty last chunk');
    if (!same(b.subarray(q + 4, q + 28), concatBytes(noncePrefix, u64(chunks.length)))) fail('PACKAGE_TAMPERED', 'nonce');
    chunks.push({ at: q + 28, len, final });
    q += 28 + len;
  }
  if (chunks.length === 0) fail('PACKAGE_FORMAT', 'no chunks');
  // 8. expiry
  if (manifest.expiresAt !== null && now.getTime() >= Date.parse(manifest.expiresAt)) fail('PACKAGE_EXPIRED', `expired on ${manifest.expiresAt}`);
  // 9. content key
  let key: Uint8Array;
  const wrapAad = enc.encode('veilport/package/v1/wrap/password');
  if (cred.recipientSecretKey && rc) {
    const shared = x25519.getSharedSecret(cred.recipientSecretKey, rc.eph);
    const info = enc.encode('veilport/package/v1/wrap/x25519');
    const wk = hkdf(sha256, shared, concatBytes(rc.eph, rc.pub), info, 32);
    key = xchacha20poly1305(wk, rc.nonce, info).decrypt(rc.wrapped);
  } else {
    const kek = await scryptAsync(enc.encode((cred.password ?? '').normalize('NFC')), pw.salt, { N, r, p: par, dkLen: 32 });
    try {
      key = xchacha20poly1305(kek, pw.nonce, wrapAad).decrypt(pw.wrapped);
    } catch {
      return fail('WRONG_PASSWORD', 'wrong password');
    }
  }
  // 10. chunks
  const headerHash = sha256(header);
  const out: Uint8Array[] = [];
  chunks.forEach((ch, i) => {
    const aad = concatBytes(headerHash, u64(i), Uint8Array.of(ch.final ? 1 : 0));
    try {
      out.push(xchacha20poly1305(key, concatBytes(noncePrefix, u64(i)), aad).decrypt(b.subarray(ch.at, ch.at + ch.len)));
    } catch {
      fail('PACKAGE_TAMPERED', `chunk ${i}`);
    }
  });
  return { manifest, video: concatBytes(...out) };
}
