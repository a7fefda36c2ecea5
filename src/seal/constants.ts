/**
 * Fixed numbers of the sealed package format, version 1. docs/package-format.md is the
 * normative description; every constant here appears there with the same value.
 */

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** PNG-style magic: the high byte and CR LF / SUB catch 7-bit and newline-mangling transfers. */
export const MAGIC = Uint8Array.of(0x89, 0x56, 0x50, 0x4b, 0x47, 0x0d, 0x0a, 0x1a);
export const FORMAT_VERSION = 1;
/** magic (8) + version u16 (2) + header length u32 (4). */
export const PREFIX_BYTES = 14;

/** Last 8 bytes of every complete package; lets a reader tell "cut short" from "modified". */
export const END_MARKER = ascii('VPKG-END');
export const DIGEST_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const TRAILER_BYTES = DIGEST_BYTES + SIGNATURE_BYTES + END_MARKER.length;

export const KEY_BYTES = 32;
export const NONCE_BYTES = 24;
export const NONCE_PREFIX_BYTES = 16;
export const TAG_BYTES = 16;
export const SALT_BYTES = 16;
export const WRAPPED_KEY_BYTES = KEY_BYTES + TAG_BYTES;
export const PACKAGE_ID_BYTES = 16;

/** Password slot: salt, wrap nonce, wrapped content key. */
export const PASSWORD_SLOT_BYTES = SALT_BYTES + NONCE_BYTES + WRAPPED_KEY_BYTES;
/** Recipient slot: ephemeral X25519 public key, recipient public key, wrap nonce, wrapped key. */
export const RECIPIENT_SLOT_BYTES = 32 + 32 + NONCE_BYTES + WRAPPED_KEY_BYTES;
/** Key block: signer public key, nonce prefix, password slot, optional recipient slot. */
export const KEY_BLOCK_BYTES = 32 + NONCE_PREFIX_BYTES + PASSWORD_SLOT_BYTES;
export const KEY_BLOCK_WITH_RECIPIENT_BYTES = KEY_BLOCK_BYTES + RECIPIENT_SLOT_BYTES;

/** Chunk record: length u32 + nonce + ciphertext + tag; this is the part that is not ciphertext. */
export const CHUNK_HEAD_BYTES = 4 + NONCE_BYTES;

/**
 * Header bound. Generous because `sources` lists every segment read (a day of one-minute
 * segments is ~1,440 entries), small enough that reading it whole is harmless.
 */
export const MAX_HEADER_BYTES = 4 * 1024 * 1024;
/** manifest length u32 + "{}" + key block length u16 + smallest key block. */
export const MIN_HEADER_BYTES = 4 + 2 + 2 + KEY_BLOCK_BYTES;
export const MIN_PACKAGE_BYTES = PREFIX_BYTES + MIN_HEADER_BYTES + CHUNK_HEAD_BYTES + TAG_BYTES + TRAILER_BYTES;

export const DEFAULT_CHUNK_SIZE = 1024 * 1024;
export const MIN_CHUNK_SIZE = 16;
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
/** Counter lives in 8 nonce bytes, but JS numbers are exact only to 2^53; far beyond any export. */
export const MAX_CHUNKS = 2 ** 40;

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}
export const DEFAULT_SCRYPT: Readonly<ScryptParams> = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });
/** Bounds applied when sealing and when reading: a hostile header must not buy gigabytes or hours. */
export const SCRYPT_BOUNDS = Object.freeze({
  minLogN: 14,
  maxLogN: 20,
  maxR: 32,
  maxP: 16,
  /** scrypt needs 128·N·r bytes; 256 MiB still fits a browser tab. */
  maxMemoryBytes: 256 * 1024 * 1024,
  /** N·r·p bounds the work: 2^23 is 8x the default. */
  maxWork: 2 ** 23,
});

export const ALG_AEAD = 'XChaCha20-Poly1305';
export const ALG_KDF = 'scrypt';
export const ALG_RECIPIENT = 'X25519-HKDF-SHA256';
export const ALG_SIGNATURE = 'Ed25519';
export const ALG_DIGEST = 'SHA-256';

/** Domain separation: the same key or bytes can never be valid in two roles. */
export const SIGNATURE_CONTEXT = ascii('veilport/package/v1/signature');
export const PASSWORD_WRAP_AAD = ascii('veilport/package/v1/wrap/password');
export const RECIPIENT_WRAP_INFO = ascii('veilport/package/v1/wrap/x25519');

/** Default lifetime when the issuer gives no `expiresAt` (the brief's 14 days). */
export const DEFAULT_LIFETIME_MS = 14 * 24 * 60 * 60 * 1000;
export const MIN_PASSWORD_CHARS = 8;
