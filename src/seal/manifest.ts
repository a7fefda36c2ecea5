/**
 * The manifest: the clear JSON part of the header. The issuer (export engine) supplies
 * the case fields; the sealer adds the fields a reader needs (package id, format
 * version, crypto parameters) and fills issue/expiry defaults. A reader checks the
 * added fields strictly because they steer decryption.
 */
import { VeilportError, type ErrorCode } from '../util/errors.js';
import {
  ALG_AEAD,
  ALG_DIGEST,
  ALG_KDF,
  ALG_RECIPIENT,
  ALG_SIGNATURE,
  DEFAULT_LIFETIME_MS,
  FORMAT_VERSION,
  MAX_CHUNK_SIZE,
  MIN_CHUNK_SIZE,
  SCRYPT_BOUNDS,
  type ScryptParams,
} from './constants.js';

export interface CryptoParams {
  aead: typeof ALG_AEAD;
  chunkSize: number;
  kdf: { name: typeof ALG_KDF } & ScryptParams;
  recipientWrap: typeof ALG_RECIPIENT | null;
  signature: typeof ALG_SIGNATURE;
  digest: typeof ALG_DIGEST;
}

/** A manifest as read from a package: issuer fields plus the fields the sealer guarantees. */
export type Manifest = Record<string, unknown> & {
  formatVersion: number;
  packageId: string;
  applianceId: string;
  issuedAt: string;
  expiresAt: string | null;
  allowExtract: boolean;
  crypto: CryptoParams;
};

/** Keys only the sealer may set; an issuer supplying them is a bug, not a wish. */
const RESERVED = ['formatVersion', 'packageId', 'crypto'] as const;

/**
 * ISO 8601 date-time with an explicit zone. A zone-less string would be read as local
 * time by a browser, so the appliance and the player could disagree on the expiry.
 */
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

function isoTime(value: unknown): number | null {
  if (typeof value !== 'string' || !ISO_WITH_ZONE.test(value)) return null;
  const t = Date.parse(value);
  return Number.isFinite(t) ? t : null;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks scrypt parameters against SCRYPT_BOUNDS; `code` is BAD_INPUT when sealing, PACKAGE_FORMAT when reading. */
export function checkScryptParams(p: unknown, code: ErrorCode): ScryptParams {
  const fail = (why: string) => new VeilportError(code, `scrypt parameters refused: ${why}`);
  if (!isPlainObject(p)) throw fail('not an object');
  const { N, r, p: par } = p;
  if (![N, r, par].every((v) => Number.isSafeInteger(v))) throw fail('N, r and p must be integers');
  const n = N as number;
  const rr = r as number;
  const pp = par as number;
  const logN = Math.log2(n);
  if (!Number.isInteger(logN) || logN < SCRYPT_BOUNDS.minLogN || logN > SCRYPT_BOUNDS.maxLogN) {
    throw fail(`N=${n} is not a power of two in 2^${SCRYPT_BOUNDS.minLogN}..2^${SCRYPT_BOUNDS.maxLogN}`);
  }
  if (rr < 1 || rr > SCRYPT_BOUNDS.maxR) throw fail(`r=${rr} is outside 1..${SCRYPT_BOUNDS.maxR}`);
  if (pp < 1 || pp > SCRYPT_BOUNDS.maxP) throw fail(`p=${pp} is outside 1..${SCRYPT_BOUNDS.maxP}`);
  if (128 * n * rr > SCRYPT_BOUNDS.maxMemoryBytes) throw fail(`N=${n}, r=${rr} needs more than ${SCRYPT_BOUNDS.maxMemoryBytes} bytes`);
  if (n * rr * pp > SCRYPT_BOUNDS.maxWork) throw fail(`N*r*p exceeds ${SCRYPT_BOUNDS.maxWork}`);
  return { N: n, r: rr, p: pp };
}

/** Checks a plaintext chunk size; `code` as for checkScryptParams. */
export function checkChunkSize(n: unknown, code: ErrorCode): number {
  if (!Number.isSafeInteger(n) || (n as number) < MIN_CHUNK_SIZE || (n as number) > MAX_CHUNK_SIZE) {
    throw new VeilportError(code, `chunk size ${String(n)} is outside ${MIN_CHUNK_SIZE}..${MAX_CHUNK_SIZE}`);
  }
  return n as number;
}

export interface BuildContext {
  packageId: string;
  applianceId: string;
  now: Date;
  crypto: CryptoParams;
}

/** Builds the manifest a sealer writes, or throws BAD_INPUT naming the field at fault. */
export function buildManifest(input: Record<string, unknown>, ctx: BuildContext): { manifest: Manifest; bytes: Uint8Array } {
  const bad = (msg: string) => new VeilportError('BAD_INPUT', msg);
  if (!isPlainObject(input)) throw bad('manifest must be a plain object');
  for (const key of RESERVED) {
    if (key in input) throw bad(`manifest field "${key}" is set by the sealer, not the issuer`);
  }
  if (input.applianceId !== undefined && input.applianceId !== ctx.applianceId) {
    throw bad(`manifest applianceId ${JSON.stringify(input.applianceId)} is not the signing appliance ${ctx.applianceId}`);
  }
  const nowMs = ctx.now.getTime();
  const issuedAt = input.issuedAt ?? ctx.now.toISOString();
  const issuedMs = isoTime(issuedAt);
  if (issuedMs === null) throw bad('manifest issuedAt must be an ISO 8601 date-time with a zone');
  let expiresAt = input.expiresAt;
  if (expiresAt === undefined) expiresAt = new Date(issuedMs + DEFAULT_LIFETIME_MS).toISOString();
  if (expiresAt !== null) {
    const expMs = isoTime(expiresAt);
    if (expMs === null) throw bad('manifest expiresAt must be an ISO 8601 date-time with a zone, or null');
    if (expMs <= nowMs || expMs <= issuedMs) throw bad(`manifest expiresAt ${String(expiresAt)} is not after the issue time`);
  }
  const allowExtract = input.allowExtract ?? false;
  if (typeof allowExtract !== 'boolean') throw bad('manifest allowExtract must be true or false');

  const manifest = {
    formatVersion: FORMAT_VERSION,
    packageId: ctx.packageId,
    ...input,
    applianceId: ctx.applianceId,
    issuedAt,
    expiresAt,
    allowExtract,
    crypto: ctx.crypto,
  } as Manifest;
  let json: string;
  try {
    json = JSON.stringify(manifest);
  } catch (e) {
    throw new VeilportError('BAD_INPUT', `manifest is not serialisable as JSON: ${(e as Error).message}`, {}, { cause: e });
  }
  // Round-trip so the caller gets exactly what a reader will see (Dates become strings, undefined vanishes).
  return { manifest: JSON.parse(json) as Manifest, bytes: new TextEncoder().encode(json) };
}

/**
 * Parses and checks a manifest read from a package. Throws PACKAGE_FORMAT for anything
 * that is not what a version-1 sealer writes.
 */
export function parseManifest(bytes: Uint8Array, hasRecipientSlot: boolean): Manifest {
  const bad = (msg: string) => new VeilportError('PACKAGE_FORMAT', `manifest: ${msg}`);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw bad('not valid UTF-8 JSON');
  }
  if (!isPlainObject(value)) throw bad('not a JSON object');
  const m = value;
  if (m.formatVersion !== FORMAT_VERSION) throw bad(`formatVersion ${String(m.formatVersion)} does not match the file version`);
  if (typeof m.packageId !== 'string' || !/^[0-9a-f]{32}$/.test(m.packageId)) throw bad('packageId is not 32 lower-case hex digits');
  if (typeof m.applianceId !== 'string' || m.applianceId.length === 0 || m.applianceId.length > 128) throw bad('applianceId missing');
  if (isoTime(m.issuedAt) === null) throw bad('issuedAt is not an ISO 8601 date-time with a zone');
  if (m.expiresAt !== null && isoTime(m.expiresAt) === null) throw bad('expiresAt is neither null nor an ISO 8601 date-time with a zone');
  if (typeof m.allowExtract !== 'boolean') throw bad('allowExtract is not a boolean');
  const c = m.crypto;
  if (!isPlainObject(c)) throw bad('crypto missing');
  if (c.aead !== ALG_AEAD || c.signature !== ALG_SIGNATURE || c.digest !== ALG_DIGEST) throw bad('unsupported algorithms');
  if (!isPlainObject(c.kdf) || c.kdf.name !== ALG_KDF) throw bad('unsupported key derivation');
  checkScryptParams(c.kdf, 'PACKAGE_FORMAT');
  checkChunkSize(c.chunkSize, 'PACKAGE_FORMAT');
  const expected = hasRecipientSlot ? ALG_RECIPIENT : null;
  if (c.recipientWrap !== expected) throw bad('crypto.recipientWrap does not match the key block');
  return m as Manifest;
}

/** Throws PACKAGE_EXPIRED when `now` is at or past the manifest's expiry. */
export function checkExpiry(manifest: Manifest, now: Date): void {
  if (manifest.expiresAt === null) return;
  const exp = isoTime(manifest.expiresAt);
  if (exp === null || now.getTime() >= exp) {
    throw new VeilportError('PACKAGE_EXPIRED', `package expired on ${manifest.expiresAt}`, { expiresAt: manifest.expiresAt });
  }
}

/**
 * Throws EXTRACT_FORBIDDEN unless the issuer allowed writing the clear video out
 * (`allowExtract === true`; anything else, including "true" as a string, forbids it).
 */
export function assertExtractAllowed(manifest: Record<string, unknown>): void {
  if (manifest.allowExtract !== true) {
    throw new VeilportError('EXTRACT_FORBIDDEN', 'this package does not allow extracting the clear video (allowExtract is not true)');
  }
}
