/**
 * Wrapping of the random content key: to a password (scrypt → XChaCha20-Poly1305) and
 * optionally to a recipient's X25519 key (ephemeral-static ECDH → HKDF-SHA256 →
 * XChaCha20-Poly1305). The content key never depends on the password, so adding a
 * recipient or changing the KDF cost does not touch the video encryption.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { VeilportError } from '../util/errors.js';
import { equalBytes } from './bytes.js';
import {
  KEY_BYTES,
  NONCE_BYTES,
  PASSWORD_WRAP_AAD,
  RECIPIENT_WRAP_INFO,
  SALT_BYTES,
  SCRYPT_BOUNDS,
  type ScryptParams,
} from './constants.js';
import type { PasswordSlot, RecipientSlot } from './header.js';

export type RandomBytes = (n: number) => Uint8Array;

/**
 * Password bytes: Unicode NFC, then UTF-8. NFC because Hangul (and accented Latin) can
 * be typed as composed or decomposed code points, and the appliance and a browser must
 * derive the same key from what looks like the same password.
 */
export function passwordBytes(password: string): Uint8Array {
  return new TextEncoder().encode(password.normalize('NFC'));
}

/** Key-encryption key from a password: scrypt(NFC-UTF-8(password), salt, N, r, p, dkLen = 32). */
export async function derivePasswordKey(password: string, salt: Uint8Array, params: ScryptParams): Promise<Uint8Array> {
  return scryptAsync(passwordBytes(password), salt, {
    ...params,
    dkLen: KEY_BYTES,
    maxmem: SCRYPT_BOUNDS.maxMemoryBytes + 1024 * 1024,
  });
}

/** Wraps the content key under a password-derived key. */
export async function wrapForPassword(
  contentKey: Uint8Array,
  password: string,
  params: ScryptParams,
  random: RandomBytes,
): Promise<PasswordSlot> {
  const salt = random(SALT_BYTES);
  const nonce = random(NONCE_BYTES);
  const kek = await derivePasswordKey(password, salt, params);
  try {
    return { salt, nonce, wrappedKey: xchacha20poly1305(kek, nonce, PASSWORD_WRAP_AAD).encrypt(contentKey) };
  } finally {
    kek.fill(0);
  }
}

/** Unwraps the content key with a password; a failing tag can only mean a wrong password here, because the header was already authenticated. */
export async function unwrapWithPassword(slot: PasswordSlot, password: string, params: ScryptParams): Promise<Uint8Array> {
  const kek = await derivePasswordKey(password, slot.salt, params);
  try {
    return xchacha20poly1305(kek, slot.nonce, PASSWORD_WRAP_AAD).decrypt(slot.wrappedKey);
  } catch {
    throw new VeilportError('WRONG_PASSWORD', 'wrong password for this package');
  } finally {
    kek.fill(0);
  }
}

/** wrapKey = HKDF-SHA256(ikm = X25519(e, R), salt = E || R, info = RECIPIENT_WRAP_INFO, 32). */
function recipientWrapKey(shared: Uint8Array, ephemeralPublicKey: Uint8Array, recipientPublicKey: Uint8Array): Uint8Array {
  return hkdf(sha256, shared, concatBytes(ephemeralPublicKey, recipientPublicKey), RECIPIENT_WRAP_INFO, KEY_BYTES);
}

/** Wraps the content key to a recipient's X25519 public key with a fresh ephemeral key. */
export function wrapForRecipient(contentKey: Uint8Array, recipientPublicKey: Uint8Array, random: RandomBytes): RecipientSlot {
  if (!(recipientPublicKey instanceof Uint8Array) || recipientPublicKey.length !== 32) {
    throw new VeilportError('BAD_INPUT', 'recipient public key must be 32 bytes (X25519)');
  }
  const ephemeralSecret = random(32);
  const ephemeralPublicKey = x25519.getPublicKey(ephemeralSecret);
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(ephemeralSecret, recipientPublicKey);
  } catch (e) {
    // noble refuses low-order points, which would make the wrap key public.
    throw new VeilportError('BAD_INPUT', 'recipient public key is not a usable X25519 key', {}, { cause: e });
  } finally {
    ephemeralSecret.fill(0);
  }
  const wk = recipientWrapKey(shared, ephemeralPublicKey, recipientPublicKey);
  const nonce = random(NONCE_BYTES);
  try {
    const wrappedKey = xchacha20poly1305(wk, nonce, RECIPIENT_WRAP_INFO).encrypt(contentKey);
    return { ephemeralPublicKey, recipientPublicKey: Uint8Array.from(recipientPublicKey), nonce, wrappedKey };
  } finally {
    wk.fill(0);
    shared.fill(0);
  }
}

/** Unwraps the content key with the recipient's X25519 secret key, or throws KEY_ERROR. */
export function unwrapWithRecipient(slot: RecipientSlot, recipientSecretKey: Uint8Array): Uint8Array {
  if (!(recipientSecretKey instanceof Uint8Array) || recipientSecretKey.length !== 32) {
    throw new VeilportError('KEY_ERROR', 'recipient secret key must be 32 bytes (X25519)');
  }
  if (!equalBytes(x25519.getPublicKey(recipientSecretKey), slot.recipientPublicKey)) {
    throw new VeilportError('KEY_ERROR', 'this package was not sealed to the given recipient key');
  }
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(recipientSecretKey, slot.ephemeralPublicKey);
  } catch (e) {
    throw new VeilportError('KEY_ERROR', 'recipient slot holds an unusable ephemeral key', {}, { cause: e });
  }
  const wk = recipientWrapKey(shared, slot.ephemeralPublicKey, slot.recipientPublicKey);
  try {
    return xchacha20poly1305(wk, slot.nonce, RECIPIENT_WRAP_INFO).decrypt(slot.wrappedKey);
  } catch {
    throw new VeilportError('KEY_ERROR', 'recipient key did not unwrap the content key');
  } finally {
    wk.fill(0);
    shared.fill(0);
  }
}
