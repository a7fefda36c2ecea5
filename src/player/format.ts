/**
 * The offline player's package reader, written from docs/package-format.md alone (no
 * imports from src/seal, which is Node code): it reads a package through a random-access
 * byte source (a File in the browser, a buffer in tests), runs the validation order of
 * §6 step by step with the same error codes as the reference reader, and decrypts one
 * chunk at a time. Only the @noble libraries the spec names are used.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';

/** Error codes of the spec (§6), the same the reference reader and `veilport verify` use. */
export type PackageCode = 'PACKAGE_FORMAT' | 'PACKAGE_TAMPERED' | 'PACKAGE_SIGNATURE' | 'PACKAGE_EXPIRED' | 'WRONG_PASSWORD';

/**
 * A refusal: `code` is the spec's category, `reason` a key the UI turns into a sentence
 * in the reader's language, `params` fill it in, and `message` is the English text.
 */
export class PackageError extends Error {
  constructor(
    readonly code: PackageCode,
    readonly reason: string,
    message: string,
    readonly params: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'PackageError';
  }
}

/** Random access to the package bytes; nothing ever needs the whole file at once. */
export interface ByteSource {
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** A File or Blob as a byte source (reads with slice(), as §7 recommends). */
export function blobSource(blob: Blob): ByteSource {
  return {
    size: blob.size,
    async read(offset, length) {
      let buf: ArrayBuffer;
      try {
        buf = await blob.slice(offset, offset + length).arrayBuffer();
      } catch {
        // A File is a snapshot: reading fails when the file on disk changed or vanished.
        throw new PackageError('PACKAGE_TAMPERED', 'fileChanged', 'the package file changed or could not be read after it was opened');
      }
      if (buf.byteLength !== length) throw new PackageError('PACKAGE_TAMPERED', 'fileChanged', 'the package file changed after it was opened');
      return new Uint8Array(buf);
    },
  };
}

/** Bytes in memory as a byte source (tests, small files). */
export function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: async (offset, length) => bytes.slice(offset, offset + length),
  };
}

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** The manifest as read (§4): fields the sealer guarantees, plus whatever the issuer set. */
export type Manifest = Record<string, unknown> & {
  formatVersion: number;
  packageId: string;
  applianceId: string;
  issuedAt: string;
  expiresAt: string | null;
  allowExtract: boolean;
  crypto: { aead: string; chunkSize: number; kdf: { name: string } & ScryptParams; recipientWrap: string | null; signature: string; digest: string };
};

export interface ChunkRecord {
  /** Offset of the ciphertext (after the 28-byte record head). */
  at: number;
  /** L: ciphertext length including the 16-byte tag. */
  length: number;
  final: boolean;
}

export interface VerifiedPackage {
  manifest: Manifest;
  size: number;
  signerPublicKey: Uint8Array;
  /** SHA-256(signerPublicKey)[0..16] as hex: what a recipient compares with the issuing office (§6 step 8). */
  fingerprint: string;
  /** True only when the signer is one of the trusted keys (false: no trust list; the UI then warns instead of saying "authentic"). */
  trusted: boolean;
  /** The appliance id derived from the signing key (§4.1); the manifest's applianceId equals it. */
  keyApplianceId: string;
  headerHash: Uint8Array;
  noncePrefix: Uint8Array;
  password: { salt: Uint8Array; nonce: Uint8Array; wrappedKey: Uint8Array };
  chunks: ChunkRecord[];
}

export interface VerifyOptions {
  /** Clock for the expiry check (default: now). */
  now?: Date;
  /** Ed25519 public keys to trust; when given, any other signer is refused. */
  trustedKeys?: Uint8Array[];
  /** Progress of the digest pass, 0..1. */
  onProgress?: (fraction: number) => void;
}

const enc = new TextEncoder();
const MAGIC = Uint8Array.of(0x89, 0x56, 0x50, 0x4b, 0x47, 0x0d, 0x0a, 0x1a);
const END_MARKER = enc.encode('VPKG-END');
const SIGNATURE_CONTEXT = enc.encode('veilport/package/v1/signature');
const PASSWORD_WRAP_AAD = enc.encode('veilport/package/v1/wrap/password');
const PREFIX = 14;
const TRAILER = 104;
const RECORD_HEAD = 28;
const TAG = 16;
const MIN_PACKAGE = 306;
const MIN_HEADER = 144;
const MAX_HEADER = 4 * 1024 * 1024;
const READ_BLOCK = 4 * 1024 * 1024;
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
const u16 = (b: Uint8Array, at: number) => (b[at]! << 8) | b[at + 1]!;
const u32 = (b: Uint8Array, at: number) => ((b[at]! << 24) >>> 0) + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function u64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  const hi = Math.floor(n / 2 ** 32);
  const lo = n >>> 0;
  b.set([hi >>> 24, (hi >>> 16) & 255, (hi >>> 8) & 255, hi & 255, lo >>> 24, (lo >>> 16) & 255, (lo >>> 8) & 255, lo & 255]);
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** §4.1: "vp-" + base32(SHA-256(key)[0..10]), RFC 4648 alphabet in lower case, no padding. */
export function applianceIdOf(publicKey: Uint8Array): string {
  const bytes = sha256(publicKey).subarray(0, 10);
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(acc << (5 - bits)) & 31];
  return 'vp-' + out;
}

const format = (reason: string, message: string, params: Record<string, string> = {}) => new PackageError('PACKAGE_FORMAT', reason, message, params);
const malformed = (detail: string) => format('malformed', `malformed package: ${detail}`, { detail });

export function isoTime(value: unknown): number | null {
  if (typeof value !== 'string' || !ISO_WITH_ZONE.test(value)) return null;
  const t = Date.parse(value);
  return Number.isFinite(t) ? t : null;
}

/** §3 bounds on scrypt; the same numbers the sealer applies. */
function checkScrypt(kdf: Record<string, unknown>): ScryptParams {
  const { N, r, p } = kdf;
  if (![N, r, p].every((v) => Number.isSafeInteger(v))) throw malformed('scrypt parameters are not integers');
  const n = N as number;
  const rr = r as number;
  const pp = p as number;
  const log = Math.log2(n);
  if (!Number.isInteger(log) || log < 14 || log > 20) throw malformed(`scrypt N=${n} is not a power of two in 2^14..2^20`);
  if (rr < 1 || rr > 32 || pp < 1 || pp > 16) throw malformed('scrypt r or p out of bounds');
  if (128 * n * rr > 256 * 1024 * 1024 || n * rr * pp > 2 ** 23) throw malformed('scrypt cost out of bounds');
  return { N: n, r: rr, p: pp };
}

/** §4.1: the fields a reader relies on. */
function parseManifest(bytes: Uint8Array, keyBlockLength: number): Manifest {
  let m: unknown;
  try {
    m = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw malformed('manifest is not valid UTF-8 JSON');
  }
  if (!isObject(m)) throw malformed('manifest is not a JSON object');
  if (m.formatVersion !== 1) throw malformed('manifest formatVersion does not match the file version');
  if (typeof m.packageId !== 'string' || !/^[0-9a-f]{32}$/.test(m.packageId)) throw malformed('packageId is not 32 lower-case hex digits');
  if (typeof m.applianceId !== 'string' || m.applianceId.length < 1 || m.applianceId.length > 128) throw malformed('applianceId missing');
  if (isoTime(m.issuedAt) === null) throw malformed('issuedAt is not a date-time with a zone');
  if (m.expiresAt !== null && isoTime(m.expiresAt) === null) throw malformed('expiresAt is neither null nor a date-time with a zone');
  if (typeof m.allowExtract !== 'boolean') throw malformed('allowExtract is not a boolean');
  const c = m.crypto;
  if (!isObject(c)) throw malformed('crypto missing');
  if (c.aead !== 'XChaCha20-Poly1305' || c.signature !== 'Ed25519' || c.digest !== 'SHA-256') throw malformed('unsupported algorithms');
  if (!isObject(c.kdf) || c.kdf.name !== 'scrypt') throw malformed('unsupported key derivation');
  checkScrypt(c.kdf);
  if (!Number.isSafeInteger(c.chunkSize) || (c.chunkSize as number) < 16 || (c.chunkSize as number) > 16 * 1024 * 1024) throw malformed('chunk size out of bounds');
  if (c.recipientWrap !== (keyBlockLength === 272 ? 'X25519-HKDF-SHA256' : null)) throw malformed('crypto.recipientWrap does not match the key block');
  return m as Manifest;
}

/**
 * §6 steps 1-10: everything but the password. Streams the file once for the digest,
 * then reads the header and the 28-byte head of every chunk record.
 * @throws PackageError with the code the spec names for the first failing step.
 */
export async function verifyPackage(src: ByteSource, opts: VerifyOptions = {}): Promise<VerifiedPackage> {
  const size = src.size;
  // 1. Magic (a file shorter than 8 bytes is compared on its length).
  const head = await src.read(0, Math.min(size, PREFIX));
  const seen = head.subarray(0, Math.min(8, size));
  if (size === 0 || !equal(seen, MAGIC.subarray(0, seen.length))) throw format('notPackage', 'not a Veilport package');
  // 2. Size.
  if (size < MIN_PACKAGE) throw format('truncated', `package is truncated (${size} bytes)`, { size: String(size) });
  // 3. Version.
  const version = u16(head, 8);
  if (version !== 1) throw format('version', `unsupported package format version ${version}`, { version: String(version) });
  // 4. End marker.
  const dataEnd = size - TRAILER;
  const trailer = await src.read(dataEnd, TRAILER);
  if (!equal(trailer.subarray(96), END_MARKER)) throw format('incomplete', 'package is incomplete (truncated or bytes appended)');
  // 5. Digest of every byte before the trailer, in blocks.
  const h = sha256.create();
  for (let pos = 0; pos < dataEnd; ) {
    const n = Math.min(READ_BLOCK, dataEnd - pos);
    h.update(await src.read(pos, n));
    pos += n;
    opts.onProgress?.(pos / dataEnd);
  }
  const digest = h.digest();
  if (!equal(digest, trailer.subarray(0, 32))) {
    throw new PackageError('PACKAGE_TAMPERED', 'digest', 'package contents do not match its digest (modified after sealing)');
  }
  // 6. Header bounds, manifest, key block.
  const H = u32(head, 10);
  if (H < MIN_HEADER || H > MAX_HEADER || PREFIX + H + RECORD_HEAD + TAG > dataEnd) throw malformed(`header length ${H} out of bounds`);
  const header = await src.read(0, PREFIX + H);
  const M = u32(header, PREFIX);
  if (M < 2 || M > H - 6 - 136) throw malformed(`manifest length ${M} out of bounds`);
  const K = u16(header, PREFIX + 4 + M);
  let p = PREFIX + 4 + M + 2;
  if ((K !== 136 && K !== 272) || p + K !== PREFIX + H) throw malformed(`key block length ${K} does not fit the header`);
  const manifest = parseManifest(header.subarray(PREFIX + 4, PREFIX + 4 + M), K);
  const take = (n: number) => header.slice(p, (p += n));
  const signerPublicKey = take(32);
  const noncePrefix = take(16);
  const password = { salt: take(16), nonce: take(24), wrappedKey: take(48) };
  // 7. Signature (strict RFC 8032).
  let valid = false;
  try {
    valid = ed25519.verify(trailer.subarray(32, 96), concat(SIGNATURE_CONTEXT, digest), signerPublicKey, { zip215: false });
  } catch {
    valid = false;
  }
  const fingerprint = hex(sha256(signerPublicKey).subarray(0, 16));
  if (!valid) throw new PackageError('PACKAGE_SIGNATURE', 'signature', `signature does not verify with the appliance key in the package (${fingerprint})`, { fingerprint });
  // 8. The appliance id is bound to the key, then the key must be trusted.
  const keyApplianceId = applianceIdOf(signerPublicKey);
  if (manifest.applianceId !== keyApplianceId) {
    throw new PackageError(
      'PACKAGE_SIGNATURE',
      'applianceMismatch',
      `package names appliance ${manifest.applianceId.slice(0, 40)} but is signed by an unknown appliance key ${fingerprint} (whose id is ${keyApplianceId}): re-sealed with another key`,
      { fingerprint, applianceId: manifest.applianceId.slice(0, 40), keyApplianceId },
    );
  }
  const trusted = opts.trustedKeys;
  if (trusted && !trusted.some((k) => equal(k, signerPublicKey))) {
    throw new PackageError('PACKAGE_SIGNATURE', 'untrusted', `signed by an unknown appliance key ${fingerprint} (${keyApplianceId})`, { fingerprint, keyApplianceId });
  }
  // 9. Chunk records: bounds, canonical sizes, nonces, exact end.
  const chunkSize = manifest.crypto.chunkSize;
  const chunks: ChunkRecord[] = [];
  for (let q = PREFIX + H; q < dataEnd; ) {
    const i = chunks.length;
    if (q + RECORD_HEAD > dataEnd) throw malformed(`chunk ${i} record head runs past the trailer`);
    const rec = await src.read(q, RECORD_HEAD);
    const L = u32(rec, 0);
    if (L < TAG || L > chunkSize + TAG || q + RECORD_HEAD + L > dataEnd) throw malformed(`chunk ${i} length ${L} out of bounds`);
    const final = q + RECORD_HEAD + L === dataEnd;
    if (!final && L !== chunkSize + TAG) throw malformed(`chunk ${i} is short but not the last`);
    if (final && L === TAG && i > 0) throw malformed(`chunk ${i} is an empty last chunk after data`);
    if (i + 1 > 2 ** 40) throw malformed('too many chunks');
    if (!equal(rec.subarray(4), concat(noncePrefix, u64(i)))) {
      throw new PackageError('PACKAGE_TAMPERED', 'chunksMoved', `chunk ${i} nonce does not match its position (chunks moved)`, { chunk: String(i) });
    }
    chunks.push({ at: q + RECORD_HEAD, length: L, final });
    q += RECORD_HEAD + L;
  }
  if (chunks.length === 0) throw malformed('no chunk records');
  // 10. Expiry (after the signature, so a forged date is never believed).
  checkExpiry(manifest, opts.now ?? new Date());
  return { manifest, size, signerPublicKey, fingerprint, trusted: trusted !== undefined, keyApplianceId, headerHash: sha256(header), noncePrefix, password, chunks };
}

/** §6 step 10; the player repeats it while a package stays open. */
export function checkExpiry(manifest: Manifest, now: Date): void {
  if (manifest.expiresAt === null) return;
  const exp = isoTime(manifest.expiresAt);
  if (exp === null || now.getTime() >= exp) {
    throw new PackageError('PACKAGE_EXPIRED', 'expired', `package expired on ${manifest.expiresAt}`, { expiresAt: manifest.expiresAt });
  }
}

/** scrypt(password, salt, N, r, p, dkLen 32); supplied by the caller (Web Worker or inline). */
export type DeriveKey = (password: Uint8Array, salt: Uint8Array, params: ScryptParams) => Promise<Uint8Array>;

/** §5.2 / §6 step 11: password (NFC) -> KEK -> content key; a failing tag is a wrong password. */
export async function unwrapContentKey(v: VerifiedPackage, password: string, derive: DeriveKey): Promise<Uint8Array> {
  const pw = enc.encode(password.normalize('NFC'));
  const kdf = v.manifest.crypto.kdf;
  const kek = await derive(pw, v.password.salt, { N: kdf.N, r: kdf.r, p: kdf.p });
  pw.fill(0);
  try {
    return xchacha20poly1305(kek, v.password.nonce, PASSWORD_WRAP_AAD).decrypt(v.password.wrappedKey);
  } catch {
    throw new PackageError('WRONG_PASSWORD', 'wrongPassword', 'wrong password');
  } finally {
    kek.fill(0);
  }
}

/** §5.5 / §6 step 12: decrypts chunk i; a failing tag means the bytes changed (discard everything). */
export async function decryptChunk(src: ByteSource, v: VerifiedPackage, contentKey: Uint8Array, i: number): Promise<Uint8Array> {
  const c = v.chunks[i];
  if (!c) throw new RangeError(`no chunk ${i}`);
  const sealed = await src.read(c.at, c.length);
  const nonce = concat(v.noncePrefix, u64(i));
  const aad = concat(v.headerHash, u64(i), Uint8Array.of(c.final ? 1 : 0));
  try {
    return xchacha20poly1305(contentKey, nonce, aad).decrypt(sealed);
  } catch {
    throw new PackageError('PACKAGE_TAMPERED', 'chunkTag', `chunk ${i} failed authentication`, { chunk: String(i) });
  }
}
