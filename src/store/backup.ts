/**
 * Encrypted, signed backup of the whole store (every database's entries) and the data
 * key, in one file; and its restore. docs/backup.md is the format and the procedure.
 *
 *   prefix   magic "\x89VPBK\r\n\x1a" | format version u16 | header length u32
 *   header   JSON: created, appliance id, public key, schema version, databases, scrypt
 *            parameters and salt, the wrapped content key, the payload's nonce prefix
 *   chunks   (u32 length | XChaCha20-Poly1305 ciphertext+tag)*: the payload, gzipped
 *            JSON lines, in the same STREAM construction as sealed packages
 *   trailer  SHA-256 of everything before it | Ed25519 signature | "VPBK-END"
 *
 * A restore checks, in order: structure (`format`), the appliance signature
 * (`signature`), that the signer is trusted (`signer`), the password, then every chunk's
 * tag (`aead`) while it writes a fresh LMDB beside the live one, and swaps it in only
 * when all of it read back; a failed restore leaves the old data as it was.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, hexToBytes } from '@noble/hashes/utils.js';
import { VeilportError } from '../util/errors.js';
import { checkPrivate, createPrivateFileOnce } from '../util/private-file.js';
import { equalBytes, readU16, readU32, u16be, u32be } from '../seal/bytes.js';
import { SCRYPT_BOUNDS, type ScryptParams } from '../seal/constants.js';
import { derivePasswordKey } from '../seal/keywrap.js';
import { applianceIdFor, publicKeyFingerprint, SIGNING_KEY_FILE, loadOrCreateSigningKey, type SigningKey } from '../seal/signing-key.js';
import { encryptChunk, chunkAad, chunkNonce, rechunk, type StreamKey } from '../seal/stream.js';
import { dirOf, fsyncDir, readExactly, writeAll } from '../seal/file-io.js';
import type { Key } from 'lmdb';
import { DATA_KEY_FILE, loadOrCreateDataKey } from './data-key.js';
import { DATABASES, openStore, type DatabaseName, type Store } from './store.js';
import { SCHEMA_VERSION } from './migrations.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

export const BACKUP_MAGIC = Uint8Array.of(0x89, 0x56, 0x50, 0x42, 0x4b, 0x0d, 0x0a, 0x1a);
export const BACKUP_FORMAT_VERSION = 1;
const PREFIX_BYTES = 14;
const MAX_HEADER_BYTES = 64 * 1024;
const END_MARKER = ascii('VPBK-END');
const TRAILER_BYTES = 32 + 64 + END_MARKER.length;
const TAG_BYTES = 16;
const SIGNATURE_CONTEXT = ascii('veilport/backup/v1/signature');
const WRAP_AAD = ascii('veilport/backup/v1/wrap/password');
/** 128 MiB and ~0.8 s of scrypt on a 2-core x86 box (noble, measured): a stolen backup holds every requester's personal data. */
export const DEFAULT_BACKUP_SCRYPT: Readonly<ScryptParams> = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });
export const DEFAULT_BACKUP_CHUNK = 1024 * 1024;
const MAX_CHUNK = 16 * 1024 * 1024;
/** No single entry comes near this; a longer line means a broken payload, not a big record. */
const MAX_LINE_CHARS = 64 * 1024 * 1024;
/** Entries written to the fresh store per LMDB transaction. */
const RESTORE_BATCH = 2000;

export type BackupCheck = 'format' | 'signature' | 'signer' | 'aead' | 'payload';

const tampered = (check: BackupCheck, message: string, details: Record<string, unknown> = {}) =>
  new VeilportError('BACKUP_TAMPERED', message, { check, ...details });

interface BackupHeader {
  format: 'veilport-backup';
  version: 1;
  createdAt: string;
  applianceId: string;
  publicKey: string;
  schemaVersion: number;
  databases: string[];
  kdf: { algorithm: 'scrypt'; N: number; r: number; p: number; salt: string };
  keyWrap: { algorithm: 'XChaCha20-Poly1305'; nonce: string; wrappedKey: string };
  payload: { algorithm: 'XChaCha20-Poly1305-STREAM'; noncePrefix: string; chunkSize: number; compression: 'gzip'; encoding: 'json-lines' };
}

// ------------------------------------------------------------------ values as JSON

/**
 * Store values and keys as JSON, exactly: types JSON lacks become one-key objects
 * ({"$bin": base64}, {"$date": ms}, ...), and an object that has a key starting with
 * "$" is wrapped in {"$obj": ...} so it is never read as one of those.
 */
function encodeValue(v: unknown, where: string): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0) ? v : { $num: Object.is(v, -0) ? '-0' : String(v) };
  if (v === undefined) return { $undef: 1 };
  if (typeof v === 'bigint') return { $bigint: v.toString() };
  if (v instanceof Uint8Array) return { $bin: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  if (v instanceof Date) return { $date: Number.isNaN(v.getTime()) ? null : v.getTime() };
  if (Array.isArray(v)) return v.map((x, i) => encodeValue(x, `${where}[${i}]`));
  if (v instanceof Map) return { $map: [...v].map(([k, x]) => [encodeValue(k, `${where}<key>`), encodeValue(x, `${where}<value>`)]) };
  if (v instanceof Set) return { $set: [...v].map((x) => encodeValue(x, `${where}<item>`)) };
  const proto = typeof v === 'object' ? Object.getPrototypeOf(v) : undefined;
  if (proto === Object.prototype || proto === null) {
    const keys = Object.keys(v as object);
    const o = Object.fromEntries(keys.map((k) => [k, encodeValue((v as Record<string, unknown>)[k], `${where}.${k}`)]));
    return keys.some((k) => k.startsWith('$')) ? { $obj: o } : o;
  }
  const what = typeof v === 'object' ? (proto?.constructor?.name ?? 'object') : typeof v;
  throw new VeilportError('BAD_INPUT', `cannot back up ${where}: a ${what} has no backup encoding`, { where });
}

function decodeValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(decodeValue);
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  const decodeProps = (x: Record<string, unknown>) => Object.fromEntries(Object.keys(x).map((k) => [k, decodeValue(x[k])]));
  if (keys.length !== 1 || !keys[0]!.startsWith('$')) return decodeProps(o);
  const x = o[keys[0]!];
  switch (keys[0]) {
    case '$num': return x === '-0' ? -0 : Number(x);
    case '$undef': return undefined;
    case '$bigint': return BigInt(x as string);
    case '$bin': return Buffer.from(x as string, 'base64');
    case '$date': return new Date(x === null ? NaN : (x as number));
    case '$map': return new Map((x as [unknown, unknown][]).map(([k, y]) => [decodeValue(k), decodeValue(y)]));
    case '$set': return new Set((x as unknown[]).map(decodeValue));
    case '$obj': return decodeProps(x as Record<string, unknown>);
    default: throw new Error(`unknown tag ${keys[0]}`);
  }
}

// ------------------------------------------------------------------------ backup

export interface BackupOptions {
  /** The backup file; refused if it exists. Written as `<out>.partial`, fsynced, then linked into place. */
  out: string;
  password: string;
  /** The appliance key: signs the backup, and its fingerprint is what a replacement box trusts. */
  signer: SigningKey;
  /** Where `data-key.json` lives (`<data>/keys`). */
  keysDir: string;
  /** Tests only: cheaper scrypt (still within the bounds a restore accepts). */
  scrypt?: ScryptParams;
  /** Plaintext bytes per encrypted chunk (default 1 MiB). */
  chunkSize?: number;
  now?: Date;
}

export interface BackupResult {
  bytes: number;
  /** SHA-256 of the whole file, hex: note it beside the backup to check copies. */
  sha256: string;
  /** Entries across all databases. */
  records: number;
}

function checkScrypt(p: ScryptParams): boolean {
  const logN = Math.log2(p.N);
  return (
    Number.isInteger(logN) && logN >= SCRYPT_BOUNDS.minLogN && logN <= SCRYPT_BOUNDS.maxLogN &&
    Number.isInteger(p.r) && p.r >= 1 && p.r <= SCRYPT_BOUNDS.maxR &&
    Number.isInteger(p.p) && p.p >= 1 && p.p <= SCRYPT_BOUNDS.maxP &&
    128 * p.N * p.r <= SCRYPT_BOUNDS.maxMemoryBytes && p.N * p.r * p.p <= SCRYPT_BOUNDS.maxWork
  );
}

/** The data key file's text, after the same checks the service applies before using it. */
async function readDataKeyText(keysDir: string): Promise<string> {
  const file = path.join(keysDir, DATA_KEY_FILE);
  try {
    await fs.lstat(file);
  } catch {
    throw new VeilportError('KEY_ERROR', `no data key at ${file}: a backup without it could not open anyone's personal data`, { file });
  }
  await loadOrCreateDataKey(keysDir); // validates modes and contents; never creates here, the file exists
  return fs.readFile(file, 'utf8');
}

/**
 * Writes every entry of every database, and the data key, to one encrypted, signed file.
 * Reads one consistent snapshot, so the service may keep running.
 * @throws VeilportError CONFLICT when `out` (or an unfinished `out.partial`) exists;
 *   KEY_ERROR when the data key is missing or unsafe.
 */
export async function writeBackup(store: Store, opts: BackupOptions): Promise<BackupResult> {
  const params = opts.scrypt ?? DEFAULT_BACKUP_SCRYPT;
  const chunkSize = opts.chunkSize ?? DEFAULT_BACKUP_CHUNK;
  if (!checkScrypt(params)) throw new VeilportError('BAD_INPUT', `scrypt parameters ${JSON.stringify(params)} are outside the accepted bounds`);
  if (!Number.isInteger(chunkSize) || chunkSize < 1024 || chunkSize > MAX_CHUNK) throw new VeilportError('BAD_INPUT', `chunk size ${chunkSize} must be 1 KiB to 16 MiB`);
  if (await fs.lstat(opts.out).then(() => true, () => false)) throw new VeilportError('CONFLICT', `${opts.out} exists; a backup never overwrites a file`, { file: opts.out });
  const dataKeyText = await readDataKeyText(opts.keysDir);

  const contentKey = randomBytes(32);
  const salt = randomBytes(16);
  const wrapNonce = randomBytes(24);
  const noncePrefix = randomBytes(16);
  const kek = await derivePasswordKey(opts.password, salt, params);
  const wrappedKey = xchacha20poly1305(kek, wrapNonce, WRAP_AAD).encrypt(contentKey);
  kek.fill(0);
  // One read snapshot for the schema version and every entry: the service may write meanwhile.
  const txn = store.root.useReadTransaction();
  const schemaVersion = store.db<number, string>('meta').get('schemaVersion', { transaction: txn }) ?? 0;
  const header: BackupHeader = {
    format: 'veilport-backup',
    version: 1,
    createdAt: (opts.now ?? new Date()).toISOString(),
    applianceId: opts.signer.applianceId,
    publicKey: bytesToHex(opts.signer.publicKey),
    schemaVersion,
    databases: [...DATABASES],
    kdf: { algorithm: 'scrypt', N: params.N, r: params.r, p: params.p, salt: bytesToHex(salt) },
    keyWrap: { algorithm: 'XChaCha20-Poly1305', nonce: bytesToHex(wrapNonce), wrappedKey: bytesToHex(wrappedKey) },
    payload: { algorithm: 'XChaCha20-Poly1305-STREAM', noncePrefix: bytesToHex(noncePrefix), chunkSize, compression: 'gzip', encoding: 'json-lines' },
  };
  const headerBytes = ascii(JSON.stringify(header));
  const prefix = concatBytes(BACKUP_MAGIC, u16be(BACKUP_FORMAT_VERSION), u32be(headerBytes.length));
  const key: StreamKey = { contentKey, noncePrefix, headerHash: sha256(concatBytes(prefix, headerBytes)) };

  const partial = `${opts.out}.partial`;
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(partial, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
  } catch (e) {
    txn.done();
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new VeilportError('CONFLICT', `${partial} exists: another backup is writing it, or one was interrupted (delete it and run again)`, { file: partial });
    throw new VeilportError('BAD_INPUT', `cannot create ${partial}: ${(e as Error).message}`, { file: partial });
  }
  const signed = sha256.create();
  const whole = sha256.create();
  let bytes = 0;
  const emit = async (b: Uint8Array, isSigned = true) => {
    if (isSigned) signed.update(b);
    whole.update(b);
    bytes += b.length;
    await writeAll(fh, b);
  };
  let records = 0;
  /** The payload as JSON lines, gathered into ~64 KiB pieces, all from one read snapshot. */
  function* lines(): Generator<Buffer> {
    let buf: string[] = [];
    let size = 0;
    const push = (o: unknown) => {
      const s = JSON.stringify(o) + '\n';
      buf.push(s);
      size += s.length;
    };
    const flush = function* () {
      if (buf.length) yield Buffer.from(buf.join(''), 'utf8');
      buf = [];
      size = 0;
    };
    push({ t: 'begin', format: 'veilport-backup-payload', version: 1, databases: header.databases });
    for (const name of DATABASES) {
      for (const { key: k, value } of store.db(name).getRange({ transaction: txn })) {
        const where = `${name} entry ${String(k)}`;
        push({ t: 'entry', db: name, k: encodeValue(k, `${where} (key)`), v: encodeValue(value, where) });
        records++;
        if (size >= 64 * 1024) yield* flush();
      }
    }
    push({ t: 'dataKey', text: dataKeyText });
    push({ t: 'end', records });
    yield* flush();
  }
  try {
    await emit(prefix);
    await emit(headerBytes);
    let index = 0;
    await pipeline(Readable.from(lines()), createGzip(), async (gz: AsyncIterable<Uint8Array>) => {
      for await (const { data, final } of rechunk(gz, chunkSize)) {
        const ct = encryptChunk(key, index++, final, data);
        await emit(concatBytes(u32be(ct.length), ct));
      }
    });
    const digest = signed.digest();
    const signature = ed25519.sign(concatBytes(SIGNATURE_CONTEXT, digest), opts.signer.secretKey);
    await emit(concatBytes(digest, signature, END_MARKER), false);
    await fh.sync();
    await fh.close();
    try {
      await fs.link(partial, opts.out); // unlike rename, never replaces a file that appeared meanwhile
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new VeilportError('CONFLICT', `${opts.out} appeared while the backup was written; left it alone`, { file: opts.out });
      throw e;
    }
    await fs.unlink(partial);
    await fsyncDir(dirOf(opts.out));
  } catch (e) {
    await fh.close().catch(() => {});
    await fs.unlink(partial).catch(() => {});
    throw e;
  } finally {
    txn.done();
    contentKey.fill(0);
  }
  return { bytes, sha256: bytesToHex(whole.digest()), records };
}

// ----------------------------------------------------------------------- restore

export interface RestoreOptions {
  file: string;
  password: string;
  /** The data directory to restore into (`<data>/db`, `<data>/keys`). */
  dataDir: string;
  /** Only a backup signed by this key is accepted (a replaced box: the old box's key). */
  trustedPublicKey?: Uint8Array;
  /** The same, as the fingerprint `veilport backup` printed (hex, separators ignored). */
  trustedFingerprint?: string;
  /** Replace a store that already holds records. */
  force?: boolean;
}

export interface RestoreResult {
  records: number;
  applianceId: string;
  schemaVersion: number;
  /** Fingerprint of the key that signed the backup. */
  fingerprint: string;
  /** What the signer was checked against: a given key, this box's own key, or nothing (a box without a key and no --trust-key). */
  signerCheck: 'trusted-key' | 'box-key' | 'unchecked';
}

function parseHeader(bytes: Uint8Array): BackupHeader {
  let h: BackupHeader;
  try {
    h = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as BackupHeader;
  } catch {
    throw tampered('format', 'backup header is not valid UTF-8 JSON (changed, or not a Veilport backup)');
  }
  const hex = (s: unknown, n: number) => typeof s === 'string' && s.length === n * 2 && /^[0-9a-f]+$/.test(s);
  const ok =
    typeof h === 'object' && h !== null && h.format === 'veilport-backup' && h.version === 1 &&
    typeof h.createdAt === 'string' && typeof h.applianceId === 'string' && hex(h.publicKey, 32) &&
    Number.isInteger(h.schemaVersion) && h.schemaVersion >= 0 &&
    Array.isArray(h.databases) && h.databases.every((d) => typeof d === 'string') &&
    h.kdf?.algorithm === 'scrypt' && hex(h.kdf.salt, 16) && [h.kdf.N, h.kdf.r, h.kdf.p].every(Number.isInteger) &&
    h.keyWrap?.algorithm === 'XChaCha20-Poly1305' && hex(h.keyWrap.nonce, 24) && hex(h.keyWrap.wrappedKey, 48) &&
    h.payload?.algorithm === 'XChaCha20-Poly1305-STREAM' && hex(h.payload.noncePrefix, 16) && h.payload.compression === 'gzip' && h.payload.encoding === 'json-lines' &&
    Number.isInteger(h.payload.chunkSize) && h.payload.chunkSize >= 1024 && h.payload.chunkSize <= MAX_CHUNK;
  if (!ok) throw tampered('format', 'backup header is missing fields or has values this version does not accept');
  if (h.applianceId !== applianceIdFor(hexToBytes(h.publicKey))) throw tampered('format', 'backup header names an appliance id that does not belong to its public key');
  return h;
}

const normaliseFingerprint = (s: string): string => {
  const f = s.toLowerCase().replace(/[\s:-]/g, '');
  if (!/^[0-9a-f]{32}$/.test(f)) throw new VeilportError('BAD_INPUT', `--trust-key "${s}": expected the 32 hex digits "veilport backup" printed as the signer fingerprint`);
  return f;
};

/** Process ids other than ours that have the LMDB environment at `dbPath` open (LMDB's reader table). */
function otherProcessesUsing(store: Store): number[] {
  const pids = [...store.root.readerList().matchAll(/^\s*(\d+)\s/gm)].map((m) => Number(m[1]));
  return [...new Set(pids)].filter((pid) => {
    if (pid === process.pid) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  });
}

const exists = (p: string) => fs.lstat(p).then(() => true, () => false);

/**
 * Restores a backup into `dataDir`: verifies it whole, writes a fresh LMDB beside the
 * live one, then swaps the directories and the data key file. Stop the service first.
 * @throws VeilportError BACKUP_TAMPERED (details.check: format | signature | signer | aead | payload),
 *   WRONG_PASSWORD, BAD_INPUT (newer schema, unknown database), CONFLICT (target holds
 *   records and no `force`, or the store is open in another process).
 */
export async function restoreBackup(opts: RestoreOptions): Promise<RestoreResult> {
  const fh = await fs.open(opts.file, 'r').catch((e: NodeJS.ErrnoException) => {
    throw new VeilportError('NOT_FOUND', `cannot open backup ${opts.file}: ${e.code ?? e.message}`, { file: opts.file });
  });
  let header: BackupHeader;
  let headerHash: Uint8Array;
  let bodyStart: number;
  let bodyEnd: number;
  try {
    const size = (await fh.stat()).size;
    if (size < PREFIX_BYTES + TRAILER_BYTES) throw tampered('format', `${opts.file} is too short to be a Veilport backup (${size} bytes)`);
    const prefix = await readExactly(fh, 0, PREFIX_BYTES, 'prefix');
    if (!equalBytes(prefix.subarray(0, 8), BACKUP_MAGIC)) throw tampered('format', `${opts.file} does not start like a Veilport backup (changed, or another kind of file)`);
    const version = readU16(prefix, 8);
    if (version !== BACKUP_FORMAT_VERSION) throw tampered('format', `backup format version ${version} is not ${BACKUP_FORMAT_VERSION} (a changed byte, or a newer Veilport)`);
    const headerLength = readU32(prefix, 10);
    if (headerLength > MAX_HEADER_BYTES || PREFIX_BYTES + headerLength + TRAILER_BYTES > size) throw tampered('format', `backup header length ${headerLength} does not fit the file`);
    const headerBytes = await readExactly(fh, PREFIX_BYTES, headerLength, 'header');
    header = parseHeader(headerBytes);
    headerHash = sha256(concatBytes(prefix, headerBytes));
    bodyStart = PREFIX_BYTES + headerLength;
    bodyEnd = size - TRAILER_BYTES;
    const trailer = await readExactly(fh, bodyEnd, TRAILER_BYTES, 'trailer');
    if (!equalBytes(trailer.subarray(96), END_MARKER)) throw tampered('format', 'backup does not end with its end marker (cut short, or changed)');

    // The signature: over SHA-256 of every byte before the trailer.
    const h = sha256.create();
    for await (const piece of fh.createReadStream({ start: 0, end: bodyEnd - 1, autoClose: false, highWaterMark: 1 << 20 })) h.update(piece as Buffer);
    const digest = h.digest();
    if (!equalBytes(digest, trailer.subarray(0, 32))) throw tampered('signature', 'backup contents do not match its signed digest (a byte was changed)');
    const publicKey = hexToBytes(header.publicKey);
    if (!ed25519.verify(trailer.subarray(32, 96), concatBytes(SIGNATURE_CONTEXT, digest), publicKey)) {
      throw tampered('signature', `the appliance signature does not verify with the key in the backup header (changed)`);
    }
  } catch (e) {
    await fh.close();
    throw e;
  }
  const publicKey = hexToBytes(header.publicKey);
  const fingerprint = publicKeyFingerprint(publicKey);
  try {
    // Who signed it.
    const keysDir = path.join(opts.dataDir, 'keys');
    let signerCheck: RestoreResult['signerCheck'] = 'unchecked';
    const trusted = opts.trustedPublicKey ? publicKeyFingerprint(opts.trustedPublicKey) : opts.trustedFingerprint !== undefined ? normaliseFingerprint(opts.trustedFingerprint) : null;
    if (trusted !== null) {
      if (trusted !== fingerprint) throw tampered('signer', `backup signed by appliance ${header.applianceId} (key fingerprint ${fingerprint}), not by the trusted key ${trusted}`, { signer: fingerprint, trusted });
      signerCheck = 'trusted-key';
    } else if (await exists(path.join(keysDir, SIGNING_KEY_FILE))) {
      const box = await loadOrCreateSigningKey(keysDir);
      const mine = publicKeyFingerprint(box.publicKey);
      if (mine !== fingerprint) {
        throw tampered('signer', `backup signed by appliance ${header.applianceId} (key fingerprint ${fingerprint}), not by this box (${box.applianceId}, key fingerprint ${mine}); if this box replaces ${header.applianceId}, restore with --trust-key and the fingerprint printed when that backup was made`, { signer: fingerprint, box: mine });
      }
      signerCheck = 'box-key';
    }

    if (header.schemaVersion > SCHEMA_VERSION) throw new VeilportError('BAD_INPUT', `backup has schema version ${header.schemaVersion}, newer than this Veilport understands (${SCHEMA_VERSION}); install the newer version to restore it`, { found: header.schemaVersion, supported: SCHEMA_VERSION });
    const unknown = header.databases.filter((d) => !(DATABASES as readonly string[]).includes(d));
    if (unknown.length) throw new VeilportError('BAD_INPUT', `backup holds databases this Veilport does not know (${unknown.join(', ')}); restore it with the version that wrote it`, { unknown });

    // The target: nothing to lose unless forced, and nobody else using it.
    const liveDb = path.join(opts.dataDir, 'db');
    if (await exists(liveDb)) {
      let live: Store | null = null;
      try {
        live = openStore(opts.dataDir);
      } catch (e) {
        if (!opts.force) throw e;
      }
      if (live) {
        try {
          const others = otherProcessesUsing(live);
          if (others.length) throw new VeilportError('CONFLICT', `the store in ${liveDb} is open in process ${others.join(', ')}; stop the Veilport service before restoring`, { pids: others });
          const held = DATABASES.filter((d) => d !== 'meta').reduce((n, d) => n + live!.db(d).getCount(), 0);
          if (held > 0 && !opts.force) throw new VeilportError('CONFLICT', `the store in ${liveDb} holds ${held} records; restore over it only with --force (it replaces all of them)`, { records: held });
        } finally {
          await live.close();
        }
      }
    }

    // The password.
    const { N, r, p, salt } = header.kdf;
    if (!checkScrypt({ N, r, p })) throw tampered('format', `backup scrypt parameters refused (N=${N}, r=${r}, p=${p})`);
    const kek = await derivePasswordKey(opts.password, hexToBytes(salt), { N, r, p });
    let contentKey: Uint8Array;
    try {
      contentKey = xchacha20poly1305(kek, hexToBytes(header.keyWrap.nonce), WRAP_AAD).decrypt(hexToBytes(header.keyWrap.wrappedKey));
    } catch {
      throw new VeilportError('WRONG_PASSWORD', 'wrong password for this backup');
    } finally {
      kek.fill(0);
    }
    const key: StreamKey = { contentKey, noncePrefix: hexToBytes(header.payload.noncePrefix), headerHash };
    try {
      const records = await restoreInto(opts.dataDir, fh, header, key, bodyStart, bodyEnd);
      return { records, applianceId: header.applianceId, schemaVersion: header.schemaVersion, fingerprint, signerCheck };
    } finally {
      contentKey.fill(0);
    }
  } finally {
    await fh.close();
  }
}

/** Decrypted payload chunks, each checked against its tag, index and last-chunk flag. */
async function* plaintext(fh: fs.FileHandle, key: StreamKey, chunkSize: number, start: number, end: number): AsyncGenerator<Uint8Array> {
  let pos = start;
  let index = 0;
  if (pos >= end) throw tampered('aead', 'backup has no payload chunks (cut)');
  while (pos < end) {
    if (end - pos < 4 + TAG_BYTES) throw tampered('aead', `chunk ${index} is cut short`, { chunk: index });
    const len = readU32(await readExactly(fh, pos, 4, `chunk ${index} length`), 0);
    if (len < TAG_BYTES || len > chunkSize + TAG_BYTES || pos + 4 + len > end) throw tampered('aead', `chunk ${index} length ${len} does not fit`, { chunk: index });
    const ct = await readExactly(fh, pos + 4, len, `chunk ${index}`);
    pos += 4 + len;
    const final = pos === end;
    try {
      yield xchacha20poly1305(key.contentKey, chunkNonce(key.noncePrefix, index), chunkAad(key.headerHash, index, final)).decrypt(ct);
    } catch {
      throw tampered('aead', `backup chunk ${index} failed authentication (modified, moved or cut)`, { chunk: index });
    }
    index++;
  }
}

/** Writes the payload into a fresh store beside the live one, then swaps them. Returns the entry count. */
async function restoreInto(dataDir: string, fh: fs.FileHandle, header: BackupHeader, key: StreamKey, start: number, end: number): Promise<number> {
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const stamp = `${Date.now()}-${randomBytes(4).toString('hex')}`;
  const work = path.join(dataDir, `.restore-${stamp}`);
  const keysDir = path.join(dataDir, 'keys');
  const keyTmp = path.join(keysDir, `.${DATA_KEY_FILE}.restore-${stamp}`);
  let fresh: Store | null = openStore(work);
  let records = 0;
  let dataKeyText: string | null = null;
  let ended = false;
  try {
    fresh.transaction(() => {
      for (const d of DATABASES) fresh!.db(d).clearSync(); // exactly the backup's entries, nothing from the empty store's own migration
    });
    let batch: { db: DatabaseName; k: unknown; v: unknown }[] = [];
    const flush = () => {
      const b = batch;
      batch = [];
      fresh!.transaction(() => {
        for (const e of b) fresh!.db(e.db).putSync(e.k as Key, e.v);
      });
    };
    let first = true;
    const line = (text: string) => {
      let o: { t?: unknown; db?: unknown; k?: unknown; v?: unknown; text?: unknown; records?: unknown; databases?: unknown };
      try {
        o = JSON.parse(text) as typeof o;
      } catch {
        throw tampered('payload', `payload line ${records + 1} is not JSON`);
      }
      if (ended) throw tampered('payload', 'payload goes on after its end line');
      if (first !== (o.t === 'begin')) throw tampered('payload', 'payload does not begin with its begin line');
      first = false;
      if (o.t === 'begin') {
        if (JSON.stringify(o.databases) !== JSON.stringify(header.databases)) throw tampered('payload', 'payload lists other databases than its header');
      } else if (o.t === 'entry') {
        if (typeof o.db !== 'string' || !header.databases.includes(o.db)) throw tampered('payload', `payload entry for unknown database ${String(o.db)}`);
        batch.push({ db: o.db as DatabaseName, k: decodeValue(o.k), v: decodeValue(o.v) });
        records++;
        if (batch.length >= RESTORE_BATCH) flush();
      } else if (o.t === 'dataKey' && typeof o.text === 'string' && dataKeyText === null) {
        dataKeyText = o.text;
      } else if (o.t === 'end') {
        if (o.records !== records) throw tampered('payload', `payload end line counts ${String(o.records)} records, ${records} were read`);
        ended = true;
      } else {
        throw tampered('payload', `unexpected payload line (${String(o.t)})`);
      }
    };
    await pipeline(Readable.from(plaintext(fh, key, header.payload.chunkSize, start, end)), createGunzip(), async (src: AsyncIterable<Buffer>) => {
      const dec = new TextDecoder('utf-8', { fatal: true });
      let pending = '';
      for await (const piece of src) {
        pending += dec.decode(piece, { stream: true });
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          line(pending.slice(0, nl));
          pending = pending.slice(nl + 1);
        }
        if (pending.length > MAX_LINE_CHARS) throw tampered('payload', 'payload line is longer than any entry can be');
      }
      if (pending + dec.decode() !== '') throw tampered('payload', 'payload ends in the middle of a line');
    }).catch((e: unknown) => {
      if (e instanceof VeilportError) throw e;
      throw tampered('payload', `payload does not decompress or decode: ${(e as Error).message}`);
    });
    if (!ended) throw tampered('payload', 'payload has no end line');
    if (dataKeyText === null) throw tampered('payload', 'payload has no data key');
    flush();
    const meta = fresh.db<number, string>('meta').get('schemaVersion') ?? 0;
    if (meta !== header.schemaVersion) throw tampered('payload', `payload schema version ${meta} differs from its header's ${header.schemaVersion}`);
    await fresh.close();
    fresh = null;
    // Reopen: runs the migrations from the backup's schema version to this one's.
    const check = openStore(work);
    await check.close();

    // The data key, checked as the service checks it, then put beside the live one.
    const text: string = dataKeyText;
    const scratch = path.join(work, 'keycheck');
    await fs.mkdir(scratch, { mode: 0o700 });
    await createPrivateFileOnce(path.join(scratch, DATA_KEY_FILE), text);
    await loadOrCreateDataKey(scratch).catch(() => {
      throw tampered('payload', 'the data key in the backup is malformed');
    });
    await fs.mkdir(keysDir, { recursive: true, mode: 0o700 });
    await checkPrivate(keysDir, 'dir', 'key directory');
    await fs.rm(keyTmp, { force: true });
    await createPrivateFileOnce(keyTmp, text);

    // The swap: old store aside, new store in, data key replaced, old store removed.
    const live = path.join(dataDir, 'db');
    const aside = path.join(dataDir, `db.pre-restore-${stamp}`);
    const hadLive = await exists(live);
    if (hadLive) await fs.rename(live, aside);
    try {
      await fs.rename(path.join(work, 'db'), live);
    } catch (e) {
      if (hadLive) await fs.rename(aside, live);
      throw e;
    }
    await fs.rename(keyTmp, path.join(keysDir, DATA_KEY_FILE));
    await fsyncDir(dataDir);
    await fsyncDir(keysDir);
    if (hadLive) await fs.rm(aside, { recursive: true, force: true });
    return records;
  } finally {
    if (fresh) await fresh.close().catch(() => {});
    await fs.rm(work, { recursive: true, force: true });
    await fs.rm(keyTmp, { force: true });
  }
}
