/**
 * Verification: one streaming pass over a package that checks, in the order the spec
 * fixes, that it is a package at all, that it is complete, that no byte changed since
 * sealing, that the appliance key signed it (and is trusted, when a trust list is
 * given), that its chunk records are well formed, and that it has not expired.
 * Needs no password: the player and `veilport verify` run it before asking for one.
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { constants as fsc } from 'node:fs';
import * as fs from 'node:fs/promises';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes } from '@noble/hashes/utils.js';
import { VeilportError } from '../util/errors.js';
import { equalBytes } from './bytes.js';
import {
  DIGEST_BYTES,
  END_MARKER,
  MAGIC,
  MIN_PACKAGE_BYTES,
  PREFIX_BYTES,
  SIGNATURE_BYTES,
  SIGNATURE_CONTEXT,
  TRAILER_BYTES,
} from './constants.js';
import { readExactly } from './file-io.js';
import { decodePrefix, type DecodedHeader } from './header.js';
import { checkExpiry, type Manifest } from './manifest.js';
import { applianceIdFor, publicKeyFingerprint } from './signing-key.js';
import { findTrusted, trustKeys, type TrustList, type TrustSource } from './trust.js';
import { StructureParser } from './structure.js';

export interface VerifyOptions {
  /** Clock for the expiry check (default: now). */
  now?: Date;
  /**
   * The keys to trust (trust.ts: this box's, --trust-key, the fleet file). When given,
   * a package signed by any other key is refused: PACKAGE_SIGNATURE "signed by an
   * unknown appliance key <fingerprint>". Without it the result only says the file is
   * unchanged since *someone* signed it (`signerTrusted: false`).
   */
  trust?: TrustList;
  /** Bare public keys to trust (shorthand for `trust`; both may be given). */
  trustedPublicKeys?: Uint8Array[];
}

export interface VerifyResult {
  ok: true;
  manifest: Manifest;
  packageId: string;
  formatVersion: number;
  applianceId: string;
  /** Ed25519 public key that signed the package (from its header), lower-case hex. */
  publicKey: string;
  publicKeyFingerprint: string;
  /** True only when the signer is one of the trusted keys (false: no trust list was given). */
  signerTrusted: boolean;
  /** Which trusted key signed it: its source and label (null without a trust list). */
  trustedAs: { source: TrustSource; label: string } | null;
  issuedAt: string;
  expiresAt: string | null;
  allowExtract: boolean;
  /** Fingerprint of the X25519 recipient key the content key is also wrapped to, if any. */
  recipientFingerprint: string | null;
  chunks: number;
  /** File size and SHA-256 (hex) of the whole file, to compare with the export ledger. */
  bytes: number;
  sha256: string;
}

/** What open.ts needs beyond the public result; never leaves src/seal. */
export interface VerifiedPackage {
  result: VerifyResult;
  header: DecodedHeader;
  headerHash: Uint8Array;
  firstChunkOffset: number;
  dataEnd: number;
  identity: { dev: number; ino: number; size: number; mtimeMs: number };
}

const READ_BLOCK = 1024 * 1024;

function mergeTrust(opts: VerifyOptions): TrustList | undefined {
  if (!opts.trust && !opts.trustedPublicKeys) return undefined;
  const extra = opts.trustedPublicKeys ? trustKeys(opts.trustedPublicKeys) : { keys: [], notes: [] };
  return { keys: [...(opts.trust?.keys ?? []), ...extra.keys], notes: opts.trust?.notes ?? [] };
}

/**
 * Verifies a package file without decrypting it.
 * @throws VeilportError PACKAGE_FORMAT (not a package, unsupported version, truncated,
 *   malformed), PACKAGE_TAMPERED (bytes changed since sealing), PACKAGE_SIGNATURE (bad
 *   signature or untrusted signer), PACKAGE_EXPIRED ("package expired on <date>"), NOT_FOUND.
 */
export async function verifyPackage(path: string, opts: VerifyOptions = {}): Promise<VerifyResult> {
  return (await verifyPackageFile(path, opts)).result;
}

/** verifyPackage plus the parsed header and offsets, for openPackage. */
export async function verifyPackageFile(path: string, opts: VerifyOptions = {}): Promise<VerifiedPackage> {
  const fh = await openRegularFile(path);
  try {
    return await verifyOpen(fh, path, opts);
  } finally {
    await fh.close();
  }
}

/** What a non-regular file is, in words (for the refusal). */
function kindOf(st: { isFIFO(): boolean; isDirectory(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isDirectory()) return 'a directory';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/**
 * Opens a package for reading only if it is a regular file. Checked before opening,
 * because opening a FIFO for reading blocks until a writer appears (forever, for a
 * reader on the console); opened non-blocking and checked again on the handle, so a
 * file swapped for a FIFO in between cannot hang us either.
 * @throws VeilportError NOT_FOUND, PACKAGE_FORMAT (not a regular file, or cannot be opened).
 */
export async function openRegularFile(path: string): Promise<FileHandle> {
  const refuse = (kind: string) => new VeilportError('PACKAGE_FORMAT', `${path} is ${kind}, not a package file: only regular files are read`, { path, kind });
  let st;
  try {
    st = await fs.stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new VeilportError('NOT_FOUND', `package file ${path} not found`, { path });
    throw new VeilportError('PACKAGE_FORMAT', `package file ${path} cannot be examined (${code ?? String(e)})`, { path }, { cause: e });
  }
  if (!st.isFile()) throw refuse(kindOf(st));
  let fh: FileHandle;
  try {
    fh = await fs.open(path, fsc.O_RDONLY | fsc.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new VeilportError('NOT_FOUND', `package file ${path} not found`, { path });
    throw new VeilportError('PACKAGE_FORMAT', `package file ${path} cannot be opened (${code ?? String(e)})`, { path }, { cause: e });
  }
  const again = await fh.stat();
  if (!again.isFile() || again.ino !== st.ino || again.dev !== st.dev) {
    await fh.close();
    throw refuse(again.isFile() ? 'a file that was replaced while being opened' : kindOf(again));
  }
  return fh;
}

async function verifyOpen(fh: FileHandle, path: string, opts: VerifyOptions): Promise<VerifiedPackage> {
  const st = await fh.stat();
  if (!st.isFile()) throw new VeilportError('PACKAGE_FORMAT', `${path} is not a regular file`);
  const size = st.size;

  // 1. Is it a package at all, and one we can read?
  const head = await readExactly(fh, 0, Math.min(size, PREFIX_BYTES), 'prefix');
  const magicSeen = head.subarray(0, MAGIC.length);
  // A file that is a cut-off start of the magic is a truncated package, anything else is not a package.
  if (size === 0 || !equalBytes(magicSeen, MAGIC.subarray(0, magicSeen.length))) {
    throw new VeilportError('PACKAGE_FORMAT', 'not a Veilport package (magic bytes do not match)');
  }
  if (size < MIN_PACKAGE_BYTES) throw new VeilportError('PACKAGE_FORMAT', `package is truncated (${size} bytes)`);
  decodePrefix(head);

  // 2. Is it complete? A cut file ends in ciphertext, not in the end marker.
  const dataEnd = size - TRAILER_BYTES;
  const trailer = await readExactly(fh, dataEnd, TRAILER_BYTES, 'trailer');
  if (!equalBytes(trailer.subarray(DIGEST_BYTES + SIGNATURE_BYTES), END_MARKER)) {
    throw new VeilportError('PACKAGE_FORMAT', 'package is incomplete: end marker missing (file truncated or bytes appended)');
  }
  const storedDigest = trailer.subarray(0, DIGEST_BYTES);
  const signature = trailer.subarray(DIGEST_BYTES, DIGEST_BYTES + SIGNATURE_BYTES);

  // 3. One pass: digest of everything before the trailer, structure parsed on the way.
  const hash = createHash('sha256');
  const parser = new StructureParser(dataEnd);
  const block = new Uint8Array(Math.min(READ_BLOCK, dataEnd));
  for (let pos = 0; pos < dataEnd; ) {
    const { bytesRead } = await fh.read(block, 0, Math.min(block.length, dataEnd - pos), pos);
    if (bytesRead === 0) throw new VeilportError('PACKAGE_FORMAT', 'package file shrank while being read');
    const piece = block.subarray(0, bytesRead);
    hash.update(piece);
    parser.feed(piece);
    pos += bytesRead;
  }
  parser.finish();
  const digest = new Uint8Array(hash.copy().digest());
  const fileSha256 = hash.update(trailer).digest('hex');
  if (!equalBytes(digest, storedDigest)) {
    throw new VeilportError('PACKAGE_TAMPERED', 'package contents do not match its digest (modified after sealing)');
  }

  // 4. Header well formed (only a broken or hostile sealer gets here with a bad one).
  if (parser.headerError) throw parser.headerError;
  const header = parser.header;
  const manifest = parser.manifest;
  if (!header || !manifest) throw new VeilportError('PACKAGE_FORMAT', 'package header could not be read');

  // 5. Signed by the key in the header, and (when asked) a trusted key. RFC 8032 strict, as the spec says.
  const publicKey = header.keys.signerPublicKey;
  const fingerprint = publicKeyFingerprint(publicKey);
  let valid = false;
  try {
    valid = ed25519.verify(signature, concatBytes(SIGNATURE_CONTEXT, digest), publicKey, { zip215: false });
  } catch {
    valid = false;
  }
  if (!valid) throw new VeilportError('PACKAGE_SIGNATURE', `signature does not verify with the appliance key in the package (${fingerprint})`);

  // 6. The appliance id is bound to the key: it must be the id derived from the signing
  // key, so a package re-sealed with another key cannot carry a real box's name.
  const keyId = applianceIdFor(publicKey);
  if (manifest.applianceId !== keyId) {
    throw new VeilportError(
      'PACKAGE_SIGNATURE',
      `package names appliance ${manifest.applianceId.slice(0, 40)} but is signed by an unknown appliance key ${fingerprint} (whose id is ${keyId}): re-sealed with another key, not made by that appliance`,
      { fingerprint, applianceId: manifest.applianceId, keyApplianceId: keyId, verdict: 'forged' },
    );
  }

  // 7. Trust: the signing key must be one this reader trusts.
  const list = mergeTrust(opts);
  let trustedAs: VerifyResult['trustedAs'] = null;
  if (list) {
    const k = findTrusted(list, publicKey);
    if (!k) {
      throw new VeilportError(
        'PACKAGE_SIGNATURE',
        `signed by an unknown appliance key ${fingerprint} (${keyId}): not this box's key, not a --trust-key, not in the fleet trust file; the package is unchanged since that key signed it, but nothing says that key belongs to a Veilport appliance you trust`,
        { fingerprint, applianceId: keyId, verdict: 'untrusted' },
      );
    }
    if (k.revokedAt !== null) {
      throw new VeilportError('PACKAGE_SIGNATURE', `signed by appliance key ${fingerprint} (${keyId}), which the fleet trust file revoked on ${k.revokedAt}`, { fingerprint, applianceId: keyId, verdict: 'revoked' });
    }
    trustedAs = { source: k.source, label: k.label };
  }

  // 8. Chunk records as the header says; 9. not expired (after the signature, so a forged date is never believed).
  if (parser.chunkError) throw parser.chunkError;
  checkExpiry(manifest, opts.now ?? new Date());

  const recipient = header.keys.recipient;
  const result: VerifyResult = {
    ok: true,
    manifest,
    packageId: manifest.packageId,
    formatVersion: manifest.formatVersion,
    applianceId: manifest.applianceId,
    publicKey: bytesToHex(publicKey),
    publicKeyFingerprint: fingerprint,
    signerTrusted: trustedAs !== null,
    trustedAs,
    issuedAt: manifest.issuedAt,
    expiresAt: manifest.expiresAt,
    allowExtract: manifest.allowExtract,
    recipientFingerprint: recipient ? publicKeyFingerprint(recipient.recipientPublicKey) : null,
    chunks: parser.chunks,
    bytes: size,
    sha256: fileSha256,
  };
  return {
    result,
    header,
    headerHash: sha256(header.bytes),
    firstChunkOffset: parser.firstChunkOffset,
    dataEnd,
    identity: { dev: st.dev, ino: st.ino, size, mtimeMs: st.mtimeMs },
  };
}
