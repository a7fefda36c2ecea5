/**
 * Sealing: streams clear video into one encrypted, signed, expiring package file.
 * Clear bytes only ever exist in memory, one chunk at a time; the file on disk is
 * `<out>.partial` until everything, signature included, is written and fsynced.
 */
import { createHash } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as fs from 'node:fs/promises';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, randomBytes } from '@noble/hashes/utils.js';
import { VeilportError } from '../util/errors.js';
import { equalBytes, u32be } from './bytes.js';
import {
  ALG_AEAD,
  ALG_DIGEST,
  ALG_KDF,
  ALG_RECIPIENT,
  ALG_SIGNATURE,
  DEFAULT_CHUNK_SIZE,
  DEFAULT_SCRYPT,
  END_MARKER,
  KEY_BYTES,
  MIN_PASSWORD_CHARS,
  NONCE_PREFIX_BYTES,
  PACKAGE_ID_BYTES,
  SIGNATURE_CONTEXT,
  type ScryptParams,
} from './constants.js';
import { dirOf, fsyncDir, writeAll } from './file-io.js';
import { encodeHeader, type KeyBlock } from './header.js';
import { type RandomBytes, wrapForPassword, wrapForRecipient } from './keywrap.js';
import { buildManifest, checkChunkSize, checkScryptParams, type CryptoParams } from './manifest.js';
import { applianceIdFor, type SigningKey } from './signing-key.js';
import { chunkNonce, encryptChunk, rechunk, type StreamKey } from './stream.js';

export interface SealOptions {
  /** Final package path; must not exist yet. `<out>.partial` is used while writing. */
  out: string;
  /** Issuer fields (see docs/package-format.md); must not contain packageId, formatVersion or crypto. */
  manifest: Record<string, unknown>;
  /** Clear (already masked) video, any piece sizes, unknown total length. */
  video: AsyncIterable<Uint8Array>;
  /** At least 8 characters after NFC normalisation. */
  password: string;
  signer: SigningKey;
  /** Optional X25519 public key of a recipient who may open without the password. */
  recipientPublicKey?: Uint8Array;
  /** Plaintext bytes per chunk, default 1 MiB. */
  chunkSize?: number;
  /** scrypt cost, default N=2^17, r=8, p=1; N may go down to 2^14 (tests). */
  scrypt?: ScryptParams;
  /** Issue time (defaults to the clock); also the reference for refusing an expiry in the past. */
  now?: Date;
  /**
   * Package id chosen by the issuer before sealing (32 lower-case hex digits from a CSPRNG),
   * because the forensic watermark rendered into the video carries it. Default: drawn here.
   */
  packageId?: string;
}

export interface SealResult {
  packageId: string;
  /** Size of the finished package file. */
  bytes: number;
  /** SHA-256 (hex) of the whole finished file, for the export ledger. */
  sha256: string;
  chunks: number;
}

const bad = (msg: string) => new VeilportError('BAD_INPUT', msg);

function checkSigner(s: SigningKey): void {
  if (!s || !(s.secretKey instanceof Uint8Array) || s.secretKey.length !== 32 || !(s.publicKey instanceof Uint8Array)) {
    throw new VeilportError('KEY_ERROR', 'signer must have a 32-byte Ed25519 secret key and its public key');
  }
  if (!equalBytes(ed25519.getPublicKey(s.secretKey), s.publicKey)) {
    throw new VeilportError('KEY_ERROR', 'signer public key does not belong to its secret key');
  }
  // Readers refuse a package whose applianceId is not the one derived from its signing key
  // (docs/package-format.md §6 step 8): never write one they would refuse.
  if (s.applianceId !== applianceIdFor(s.publicKey)) {
    throw new VeilportError('KEY_ERROR', `signer applianceId ${JSON.stringify(String(s.applianceId).slice(0, 40))} is not the id of its public key (${applianceIdFor(s.publicKey)})`);
  }
}

/**
 * Seals a video stream into a package at `opts.out`.
 * @returns package id, file size, SHA-256 of the file and number of chunks.
 * @throws VeilportError BAD_INPUT (password shorter than 8 characters, bad manifest,
 *   parameters out of bounds, `out` exists), KEY_ERROR (unusable signer); any error of the
 *   video stream is rethrown as is. On any error no file is left behind.
 */
export function sealPackage(opts: SealOptions): Promise<SealResult> {
  return sealWithRandom(opts, randomBytes);
}

/** sealPackage with an injectable random source, so a known-answer vector can be rebuilt. Not for production callers. */
export async function sealWithRandom(opts: SealOptions, random: RandomBytes): Promise<SealResult> {
  try {
    return await seal(opts, random);
  } catch (e) {
    // A producer (decoder, encoder pipeline) must not be left waiting on a consumer that gave up.
    const source = opts.video as Partial<AsyncIterator<Uint8Array>>;
    if (typeof source?.return === 'function') await Promise.resolve(source.return(undefined)).catch(() => {});
    throw e;
  }
}

async function seal(opts: SealOptions, random: RandomBytes): Promise<SealResult> {
  if (typeof opts.out !== 'string' || opts.out.length === 0) throw bad('out must be a file path');
  if (typeof opts.password !== 'string' || [...opts.password.normalize('NFC')].length < MIN_PASSWORD_CHARS) {
    throw bad(`password must be at least ${MIN_PASSWORD_CHARS} characters`);
  }
  checkSigner(opts.signer);
  const chunkSize = checkChunkSize(opts.chunkSize ?? DEFAULT_CHUNK_SIZE, 'BAD_INPUT');
  const scrypt = checkScryptParams(opts.scrypt ?? DEFAULT_SCRYPT, 'BAD_INPUT');
  const now = opts.now ?? new Date();
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw bad('now must be a valid Date');
  if (opts.packageId !== undefined && (typeof opts.packageId !== 'string' || !/^[0-9a-f]{32}$/.test(opts.packageId))) {
    throw bad('packageId must be 32 lower-case hex digits (128 random bits)');
  }
  if (await fs.lstat(opts.out).then(() => true, () => false)) throw bad(`${opts.out} already exists; a package is never overwritten`);

  const contentKey = random(KEY_BYTES);
  try {
    const noncePrefix = random(NONCE_PREFIX_BYTES);
    const packageId = opts.packageId ?? bytesToHex(random(PACKAGE_ID_BYTES));
    const password = await wrapForPassword(contentKey, opts.password, scrypt, random);
    const recipient = opts.recipientPublicKey ? wrapForRecipient(contentKey, opts.recipientPublicKey, random) : null;
    const crypto: CryptoParams = {
      aead: ALG_AEAD,
      chunkSize,
      kdf: { name: ALG_KDF, ...scrypt },
      recipientWrap: recipient ? ALG_RECIPIENT : null,
      signature: ALG_SIGNATURE,
      digest: ALG_DIGEST,
    };
    const { bytes: manifestBytes } = buildManifest(opts.manifest, {
      packageId,
      applianceId: opts.signer.applianceId,
      now,
      crypto,
    });
    const keys: KeyBlock = { signerPublicKey: opts.signer.publicKey, noncePrefix, password, recipient };
    const header = encodeHeader(manifestBytes, keys);
    const stream: StreamKey = { contentKey, noncePrefix, headerHash: sha256(header) };
    const written = await writePackage(opts.out, header, stream, rechunk(opts.video, chunkSize), opts.signer.secretKey);
    return { packageId, ...written };
  } finally {
    contentKey.fill(0);
  }
}

async function writePackage(
  out: string,
  header: Uint8Array,
  stream: StreamKey,
  chunks: AsyncIterable<{ data: Uint8Array; final: boolean }>,
  secretKey: Uint8Array,
): Promise<Omit<SealResult, 'packageId'>> {
  const partial = `${out}.partial`;
  let fh: FileHandle;
  try {
    // O_EXCL: two sealers on one path, or a crashed one's leftovers, must not be silently merged.
    fh = await fs.open(partial, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o644);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw bad(`${partial} exists: another seal is writing it, or an earlier one crashed (remove it)`);
    throw new VeilportError('BAD_INPUT', `cannot create ${partial} (${code ?? String(e)})`, { path: partial }, { cause: e });
  }
  let open = true;
  let renamed = false;
  try {
    const hash = createHash('sha256');
    let bytes = 0;
    const emit = async (b: Uint8Array) => {
      hash.update(b);
      bytes += b.length;
      await writeAll(fh, b);
    };
    await emit(header);
    let index = 0;
    for await (const { data, final } of chunks) {
      const sealed = encryptChunk(stream, index, final, data);
      data.fill(0);
      await emit(concatBytes(u32be(sealed.length), chunkNonce(stream.noncePrefix, index)));
      await emit(sealed);
      index++;
    }
    // Everything before the trailer is covered by the digest; the signature signs the digest.
    const digest = new Uint8Array(hash.copy().digest());
    const signature = ed25519.sign(concatBytes(SIGNATURE_CONTEXT, digest), secretKey);
    await emit(concatBytes(digest, signature, END_MARKER));
    await fh.sync();
    open = false;
    await fh.close();
    await fs.rename(partial, out);
    renamed = true;
    await fsyncDir(dirOf(out));
    return { bytes, sha256: hash.digest('hex'), chunks: index };
  } catch (e) {
    if (open) await fh.close().catch(() => {});
    // A package whose rename was not made durable is not reported, so it must not stay either.
    await fs.unlink(renamed ? out : partial).catch(() => {});
    throw e;
  }
}
