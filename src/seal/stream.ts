/**
 * The chunked AEAD ("STREAM" construction) over the video: XChaCha20-Poly1305 per
 * chunk, nonce = random prefix || chunk counter, and associated data binding the header
 * hash, the chunk index and whether it is the last chunk. Reordering, duplicating or
 * dropping chunks, cutting the stream at a chunk boundary, or moving chunks under
 * another header all change a nonce or an AAD and so fail the tag.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { VeilportError } from '../util/errors.js';
import { u64be } from './bytes.js';
import { MAX_CHUNKS, NONCE_PREFIX_BYTES } from './constants.js';

/** nonce(i) = noncePrefix (16 bytes) || uint64be(i). */
export function chunkNonce(noncePrefix: Uint8Array, index: number): Uint8Array {
  if (noncePrefix.length !== NONCE_PREFIX_BYTES) throw new Error('nonce prefix must be 16 bytes');
  return concatBytes(noncePrefix, u64be(index));
}

/** aad(i) = SHA-256(prefix || header) (32) || uint64be(i) (8) || final (1 byte: 0x01 last, 0x00 otherwise). */
export function chunkAad(headerHash: Uint8Array, index: number, final: boolean): Uint8Array {
  return concatBytes(headerHash, u64be(index), Uint8Array.of(final ? 1 : 0));
}

export interface StreamKey {
  contentKey: Uint8Array;
  noncePrefix: Uint8Array;
  headerHash: Uint8Array;
}

/** Encrypts one chunk; returns ciphertext || 16-byte tag. */
export function encryptChunk(k: StreamKey, index: number, final: boolean, plain: Uint8Array): Uint8Array {
  return xchacha20poly1305(k.contentKey, chunkNonce(k.noncePrefix, index), chunkAad(k.headerHash, index, final)).encrypt(plain);
}

/** Decrypts one chunk or throws PACKAGE_TAMPERED naming the chunk. */
export function decryptChunk(k: StreamKey, index: number, final: boolean, sealed: Uint8Array): Uint8Array {
  try {
    return xchacha20poly1305(k.contentKey, chunkNonce(k.noncePrefix, index), chunkAad(k.headerHash, index, final)).decrypt(sealed);
  } catch (e) {
    throw new VeilportError('PACKAGE_TAMPERED', `chunk ${index} failed authentication (modified, moved or cut)`, { chunk: index }, { cause: e });
  }
}

/**
 * Cuts an async byte stream of unknown length into chunks of exactly `chunkSize`
 * bytes, except the last, which holds 1..chunkSize bytes (0 only when the whole stream
 * is empty). One full chunk is held back until the next byte arrives, because whether
 * it is the last one is part of its AAD.
 */
export async function* rechunk(
  source: AsyncIterable<Uint8Array>,
  chunkSize: number,
): AsyncGenerator<{ data: Uint8Array; final: boolean }> {
  let buf = new Uint8Array(chunkSize);
  let fill = 0;
  let pending: Uint8Array | null = null;
  let count = 0;
  for await (const piece of source) {
    if (!(piece instanceof Uint8Array)) {
      throw new VeilportError('BAD_INPUT', 'video stream yielded something that is not a Uint8Array');
    }
    let off = 0;
    while (off < piece.length) {
      if (pending) {
        if (++count >= MAX_CHUNKS) throw new VeilportError('BAD_INPUT', 'video has too many chunks');
        yield { data: pending, final: false };
        pending = null;
      }
      const n = Math.min(chunkSize - fill, piece.length - off);
      buf.set(piece.subarray(off, off + n), fill);
      fill += n;
      off += n;
      if (fill === chunkSize) {
        pending = buf;
        buf = new Uint8Array(chunkSize);
        fill = 0;
      }
    }
  }
  // A held-back full chunk means the stream ended exactly on a boundary: it is the last.
  yield pending ? { data: pending, final: true } : { data: buf.subarray(0, fill), final: true };
}
