/**
 * Encoding and decoding of the package prefix and header (everything before the first
 * chunk record). Decoding only checks shape and bounds; what the manifest says is
 * checked in manifest.ts, and authenticity in verify.ts.
 */
import { concatBytes } from '@noble/hashes/utils.js';
import { VeilportError } from '../util/errors.js';
import { Cursor, equalBytes, readU16, readU32, u16be, u32be, type Region } from './bytes.js';
import {
  FORMAT_VERSION,
  KEY_BLOCK_BYTES,
  KEY_BLOCK_WITH_RECIPIENT_BYTES,
  MAGIC,
  MAX_HEADER_BYTES,
  MIN_HEADER_BYTES,
  NONCE_BYTES,
  NONCE_PREFIX_BYTES,
  PREFIX_BYTES,
  SALT_BYTES,
  WRAPPED_KEY_BYTES,
} from './constants.js';

export interface PasswordSlot {
  salt: Uint8Array;
  nonce: Uint8Array;
  wrappedKey: Uint8Array;
}

export interface RecipientSlot {
  ephemeralPublicKey: Uint8Array;
  recipientPublicKey: Uint8Array;
  nonce: Uint8Array;
  wrappedKey: Uint8Array;
}

export interface KeyBlock {
  signerPublicKey: Uint8Array;
  noncePrefix: Uint8Array;
  password: PasswordSlot;
  recipient: RecipientSlot | null;
}

export interface DecodedHeader {
  /** Prefix + header body exactly as in the file; its SHA-256 goes into every chunk's AAD. */
  bytes: Uint8Array;
  manifestBytes: Uint8Array;
  keys: KeyBlock;
  regions: Region[];
}

const format = (msg: string, details: Record<string, unknown> = {}) =>
  new VeilportError('PACKAGE_FORMAT', msg, details);

/** Encodes prefix + header body. `manifestBytes` is the UTF-8 JSON the sealer built. */
export function encodeHeader(manifestBytes: Uint8Array, keys: KeyBlock): Uint8Array {
  const slots = [keys.signerPublicKey, keys.noncePrefix, keys.password.salt, keys.password.nonce, keys.password.wrappedKey];
  if (keys.recipient) {
    const r = keys.recipient;
    slots.push(r.ephemeralPublicKey, r.recipientPublicKey, r.nonce, r.wrappedKey);
  }
  const keyBlock = concatBytes(...slots);
  const bodyLength = 4 + manifestBytes.length + 2 + keyBlock.length;
  if (bodyLength > MAX_HEADER_BYTES) {
    throw new VeilportError('BAD_INPUT', `manifest is too large (${manifestBytes.length} bytes; header limit ${MAX_HEADER_BYTES})`);
  }
  return concatBytes(
    MAGIC,
    u16be(FORMAT_VERSION),
    u32be(bodyLength),
    u32be(manifestBytes.length),
    manifestBytes,
    u16be(keyBlock.length),
    keyBlock,
  );
}

/**
 * Checks magic and version of the first PREFIX_BYTES of a file and returns the header
 * body length, bounded. Magic and version are checked before anything else so a wrong
 * file is named as such rather than as damaged.
 */
export function decodePrefix(prefix: Uint8Array): { headerLength: number } {
  if (prefix.length < PREFIX_BYTES || !equalBytes(prefix.subarray(0, MAGIC.length), MAGIC)) {
    throw format('not a Veilport package (magic bytes do not match)');
  }
  const version = readU16(prefix, 8);
  if (version !== FORMAT_VERSION) {
    throw format(`unsupported package format version ${version} (this reader supports ${FORMAT_VERSION})`, { version });
  }
  return { headerLength: readU32(prefix, 10) };
}

/** Bounds check on the header length before anything is allocated for it. */
export function checkHeaderLength(headerLength: number, available: number): void {
  if (headerLength < MIN_HEADER_BYTES || headerLength > MAX_HEADER_BYTES) {
    throw format(`header length ${headerLength} is outside ${MIN_HEADER_BYTES}..${MAX_HEADER_BYTES}`, { headerLength });
  }
  if (headerLength > available) {
    throw format(`header length ${headerLength} runs past the end of the file`, { headerLength });
  }
}

/** Decodes prefix + header body (`bytes` is exactly PREFIX_BYTES + header length long). */
export function decodeHeader(bytes: Uint8Array): DecodedHeader {
  const c = new Cursor(bytes, 0, 'PACKAGE_FORMAT');
  c.take('magic', MAGIC.length);
  c.take('version', 2);
  const headerLength = c.u32('headerLength');
  if (headerLength !== c.remaining) throw format('header length does not match the header read');

  const manifestLength = c.u32('header.manifestLength');
  // The key block length field and the smallest key block must still fit after the manifest.
  if (manifestLength < 2 || manifestLength > c.remaining - 2 - KEY_BLOCK_BYTES) {
    throw format(`manifest length ${manifestLength} does not fit in a header of ${headerLength} bytes`, { manifestLength });
  }
  const manifestBytes = c.take('header.manifest', manifestLength);
  const keyBlockLength = c.u16('header.keyBlockLength');
  if (keyBlockLength !== KEY_BLOCK_BYTES && keyBlockLength !== KEY_BLOCK_WITH_RECIPIENT_BYTES) {
    throw format(`key block length ${keyBlockLength} is not ${KEY_BLOCK_BYTES} or ${KEY_BLOCK_WITH_RECIPIENT_BYTES}`);
  }
  if (keyBlockLength !== c.remaining) throw format('key block does not end where the header ends');

  const keys: KeyBlock = {
    signerPublicKey: c.take('header.keys.signerPublicKey', 32),
    noncePrefix: c.take('header.keys.noncePrefix', NONCE_PREFIX_BYTES),
    password: {
      salt: c.take('header.keys.password.salt', SALT_BYTES),
      nonce: c.take('header.keys.password.nonce', NONCE_BYTES),
      wrappedKey: c.take('header.keys.password.wrappedKey', WRAPPED_KEY_BYTES),
    },
    recipient: null,
  };
  if (keyBlockLength === KEY_BLOCK_WITH_RECIPIENT_BYTES) {
    keys.recipient = {
      ephemeralPublicKey: c.take('header.keys.recipient.ephemeralPublicKey', 32),
      recipientPublicKey: c.take('header.keys.recipient.recipientPublicKey', 32),
      nonce: c.take('header.keys.recipient.nonce', NONCE_BYTES),
      wrappedKey: c.take('header.keys.recipient.wrappedKey', WRAPPED_KEY_BYTES),
    };
  }
  return { bytes, manifestBytes, keys, regions: c.regions };
}
