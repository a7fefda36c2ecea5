/**
 * Verification: one streaming pass over a package that checks, in the order the spec
 * fixes, that it is a package at all, that it is complete, that no byte changed since
 * sealing, that the appliance key signed it (and is trusted, when a trust list is
 * given), that its chunk records are well formed, and that it has not expired.
 * Needs no password: the player and `veilport verify` run it before asking for one.
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
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
import { publicKeyFingerprint } from './signing-key.js';
import { StructureParser } from './structure.js';

export interface VerifyOptions {
  /** Clock for the expiry check (default: now). */
  now?: Date;
  /** When given, the signer's public key must be one of these (PACKAGE_SIGNATURE otherwise). */
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
  /** Whether the signer was checked against `trustedPublicKeys` (false: self-consistent only). */
  signerTrusted: boolean;
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
  let fh: FileHandle;
  try {
    fh = await fs.open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new VeilportError('NOT_FOUND', `package file ${path} not found`, { path });
    throw new VeilportError('PACKAGE_FORMAT', `package file ${path} cannot be opened (${code ?? String(e)})`, { path }, { cause: e });
  }
  try {
    return await verifyOpen(fh, path, opts);
  } finally {
    await fh.close();
  }
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
  const trusted = opts.trustedPublicKeys;
  if (trusted && !trusted.some((k) => equalBytes(k, publicKey))) {
    throw new VeilportError('PACKAGE_SIGNATURE', `package is signed by appliance key ${fingerprint}, which is not trusted here`, { fingerprint });
  }

  // 6. Chunk records as the header says; 7. not expired (after the signature, so a forged date is never believed).
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
    signerTrusted: trusted !== undefined,
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
