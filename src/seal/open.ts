/**
 * Opening: verify the whole file first (signature, expiry), then unwrap the content key
 * and decrypt chunk by chunk. Clear bytes are only yielded to the caller, never written
 * anywhere; whether the caller may write them out is assertExtractAllowed's question.
 */
import { VeilportError } from '../util/errors.js';
import { readU32 } from './bytes.js';
import { CHUNK_HEAD_BYTES, TAG_BYTES } from './constants.js';
import { readExactly } from './file-io.js';
import { unwrapWithPassword, unwrapWithRecipient } from './keywrap.js';
import type { Manifest } from './manifest.js';
import { decryptChunk, type StreamKey } from './stream.js';
import type { TrustList } from './trust.js';
import { openRegularFile, verifyPackageFile, type VerifiedPackage, type VerifyResult } from './verify.js';

export interface OpenOptions {
  password?: string;
  /** X25519 secret key of the recipient the package was sealed to. Tried before the password. */
  recipientSecretKey?: Uint8Array;
  now?: Date;
  /** As for verifyPackage: a package not signed by one of these keys is refused before anything is decrypted. */
  trust?: TrustList;
  trustedPublicKeys?: Uint8Array[];
}

export interface OpenedPackage {
  /** The verification result (the package is authentic and unexpired). */
  info: VerifyResult;
  manifest: Manifest;
  /**
   * Clear video, one chunk per item. Iterate once. Throws PACKAGE_TAMPERED at the first
   * chunk that fails authentication, so a consumer must treat what it already received as
   * unusable when iteration throws.
   */
  video: AsyncIterable<Uint8Array>;
}

async function unwrap(v: VerifiedPackage, opts: OpenOptions): Promise<Uint8Array> {
  const { keys } = v.header;
  const kdf = v.result.manifest.crypto.kdf;
  if (opts.recipientSecretKey) {
    if (keys.recipient) {
      try {
        return unwrapWithRecipient(keys.recipient, opts.recipientSecretKey);
      } catch (e) {
        if (opts.password === undefined) throw e;
      }
    } else if (opts.password === undefined) {
      throw new VeilportError('KEY_ERROR', 'this package is not sealed to a recipient key; open it with the password');
    }
  }
  if (typeof opts.password !== 'string') throw new VeilportError('BAD_INPUT', 'a password or a recipient secret key is needed');
  return unwrapWithPassword(keys.password, opts.password, { N: kdf.N, r: kdf.r, p: kdf.p });
}

/**
 * Verifies a package, unwraps its content key and returns the manifest with the clear
 * video stream, so a caller (player, UI) learns about a wrong password or an expired
 * package before it starts consuming video.
 * @returns the verification result, the manifest and an async iterable of clear bytes.
 * @throws VeilportError (before anything is decrypted) everything verifyPackage throws,
 *   WRONG_PASSWORD, KEY_ERROR (recipient key does not fit), BAD_INPUT (no credential);
 *   the iterable throws PACKAGE_TAMPERED for a chunk that fails authentication.
 */
export async function openPackageWithInfo(path: string, opts: OpenOptions): Promise<OpenedPackage> {
  if (opts.password === undefined && opts.recipientSecretKey === undefined) {
    throw new VeilportError('BAD_INPUT', 'a password or a recipient secret key is needed');
  }
  const verifyOpts = { now: opts.now, ...(opts.trust ? { trust: opts.trust } : {}), ...(opts.trustedPublicKeys ? { trustedPublicKeys: opts.trustedPublicKeys } : {}) };
  const v = await verifyPackageFile(path, verifyOpts);
  const contentKey = await unwrap(v, opts);
  const key: StreamKey = { contentKey, noncePrefix: v.header.keys.noncePrefix, headerHash: v.headerHash };
  return { info: v.result, manifest: v.result.manifest, video: decryptChunks(path, v, key) };
}

/**
 * Opens a package as a stream of clear video bytes. Nothing is yielded before the whole
 * file has been verified (signature, integrity, expiry) and the key unwrapped; errors
 * surface from the first `next()`.
 * @throws VeilportError as openPackageWithInfo, then PACKAGE_TAMPERED for a chunk that
 *   fails authentication (what was already yielded must then be discarded).
 */
export async function* openPackage(path: string, opts: OpenOptions): AsyncGenerator<Uint8Array, void, undefined> {
  const { video } = await openPackageWithInfo(path, opts);
  yield* video;
}

async function* decryptChunks(path: string, v: VerifiedPackage, key: StreamKey): AsyncGenerator<Uint8Array> {
  const changed = () => new VeilportError('PACKAGE_TAMPERED', 'package file changed after it was verified');
  const fh = await openRegularFile(path);
  try {
    const st = await fh.stat();
    const id = v.identity;
    if (st.dev !== id.dev || st.ino !== id.ino || st.size !== id.size || st.mtimeMs !== id.mtimeMs) throw changed();
    const maxLength = v.result.manifest.crypto.chunkSize + TAG_BYTES;
    let pos = v.firstChunkOffset;
    let index = 0;
    while (pos < v.dataEnd) {
      const head = await readExactly(fh, pos, CHUNK_HEAD_BYTES, `chunk ${index}`);
      const length = readU32(head, 0);
      const end = pos + CHUNK_HEAD_BYTES + length;
      // Verified moments ago; a different answer now means the file is being changed under us.
      if (length < TAG_BYTES || length > maxLength || end > v.dataEnd) throw changed();
      const sealed = await readExactly(fh, pos + CHUNK_HEAD_BYTES, length, `chunk ${index}`);
      yield decryptChunk(key, index, end === v.dataEnd, sealed);
      pos = end;
      index++;
    }
    if (index !== v.result.chunks) throw changed();
  } finally {
    key.contentKey.fill(0);
    await fh.close();
  }
}
