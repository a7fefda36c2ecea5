/**
 * Shared test vectors for the CLI and the offline player: one good package holding a
 * real fragmented MP4 (GStreamer, the export's mux settings), and bad ones made from it:
 * a flipped byte in every region of the file, wrong signatures, forged re-signed files,
 * cut and padded files, an expired package, a wrong password, plus the worked example of
 * docs/package-format.md. Each names the verdict a reader must give. Not a test file.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describePackageLayout } from '../../src/seal/index.js';
import { makeSigner, redigest, resign, seal, FAST, TRAILER_BYTES, DIGEST_BYTES } from '../seal/helpers.js';
import { buildVector, VECTOR } from '../seal/vector.js';
import { forgePackage } from '../seal/forge.js';

const run = promisify(execFile);
/** The worked example's appliance secret key is 32 bytes of this value (docs/package-format.md §9). */
const VECTOR_SEED = 0x07;

export const GOOD_PASSWORD = '비밀번호 correct horse';

export interface Vector {
  name: string;
  path: string;
  /** Password to try (after verification succeeds). */
  password: string;
  /** Verdict: null = verifies and opens; else the spec's error code. */
  expect: string | null;
  /** At which stage the verdict falls: verify (no password), unlock (password), play (chunks). */
  stage: 'verify' | 'unlock' | 'play' | 'ok';
  /** Clock to read with (default: the real clock). */
  now?: Date;
  /** The payload is a playable video (the player then plays it). */
  video: boolean;
  /** The player's reason (message key) for a refusal. */
  reason?: string;
}

/** What a reader must say when one byte of a region changes (validation order, §6): code and the player's reason. */
export function flipVerdict(region: string): [string, string] {
  if (region === 'magic') return ['PACKAGE_FORMAT', 'notPackage'];
  if (region === 'version') return ['PACKAGE_FORMAT', 'version'];
  if (region === 'trailer.endMarker') return ['PACKAGE_FORMAT', 'incomplete'];
  if (region === 'trailer.signature') return ['PACKAGE_SIGNATURE', 'signature'];
  return ['PACKAGE_TAMPERED', 'digest'];
}

/** A 2 s 160x120 fragmented MP4 made the way the export makes its video (x264, no B-frames, mp4mux fragments). */
export async function makeFragmentedMp4(path: string, seconds = 2, fps = 10): Promise<Uint8Array> {
  const desc = `videotestsrc pattern=smpte num-buffers=${seconds * fps} ! video/x-raw,format=I420,width=160,height=120,framerate=${fps}/1 ! timeoverlay ! videoconvert ! x264enc speed-preset=ultrafast bitrate=300 key-int-max=${fps} bframes=0 ! video/x-h264,profile=high ! h264parse ! mp4mux fragment-duration=500 streamable=true ! filesink location=${path}`;
  await run('gst-launch-1.0', ['-q', ...desc.split(' ')], { timeout: 60_000 });
  return new Uint8Array(await readFile(path));
}

const at = (bytes: Uint8Array, offset: number, fn: (b: Uint8Array) => void) => {
  const out = Uint8Array.from(bytes);
  fn(out.subarray(offset));
  return out;
};

/** Builds every vector under `dir`. */
/**
 * Builds every vector under `dir`. `trustedKeys` are the keys every reader is told to
 * trust (the CLI with --trust-key, the player pinned): the vectors' appliance and the
 * key of the spec's worked example.
 */
export async function buildVectors(dir: string): Promise<{ vectors: Vector[]; signerPublicKey: Uint8Array; trustedKeys: Uint8Array[]; video: Uint8Array }> {
  const video = await makeFragmentedMp4(join(dir, 'clip.mp4'));
  const signer = makeSigner(0x21);
  const now = new Date();
  const chunkSize = 4096;
  const manifest = {
    caseId: 'VEC-2026-0007',
    requester: { reference: 'REQ-9', organisation: '마포경찰서', type: 'police' },
    purpose: 'criminal investigation',
    legalBasis: 'PIPA art. 18(2)7',
    cameras: ['cam-03'],
    range: { from: '2026-02-28T10:00:00Z', to: '2026-02-28T10:00:02Z' },
    video: { container: 'mp4-fragmented', codec: 'h264', width: 160, height: 120 },
    expiresAt: new Date(now.getTime() + 14 * 86_400_000).toISOString(),
    allowExtract: true,
  };
  const good = await seal(dir, 'good.vpkg', video, { signer, manifest, now, chunkSize, password: GOOD_PASSWORD, scrypt: FAST });
  const vectors: Vector[] = [];
  const add = async (name: string, bytes: Uint8Array, expect: string | null, stage: Vector['stage'], reason?: string, extra: Partial<Vector> = {}) => {
    const path = join(dir, `${name.replace(/[^a-z0-9.-]+/gi, '_')}.vpkg`);
    await writeFile(path, bytes);
    vectors.push({ name, path, password: GOOD_PASSWORD, expect, stage, video: true, ...(reason ? { reason } : {}), ...extra });
  };
  await add('good', good.bytes, null, 'ok');
  vectors.push({ name: 'wrong password', path: good.path, password: 'not the password', expect: 'WRONG_PASSWORD', stage: 'unlock', video: true, reason: 'wrongPassword' });

  // A flipped byte in every region (middle byte), chunk regions for the first, second and last chunk.
  const layout = describePackageLayout(good.bytes);
  const chunkCount = layout.filter((r) => r.name.endsWith('.tag')).length;
  for (const r of layout) {
    const m = /^chunk\[(\d+)\]/.exec(r.name);
    if (m && ![0, 1, chunkCount - 1].includes(Number(m[1]))) continue;
    if (r.length === 0) continue;
    const [code, reason] = flipVerdict(r.name);
    await add(`flip ${r.name}`, at(good.bytes, r.offset + (r.length >> 1), (b) => (b[0] = b[0]! ^ 0x20)), code, 'verify', reason);
  }
  const dataEnd = good.bytes.length - TRAILER_BYTES;
  const chunk = (name: string) => layout.find((r) => r.name === name)!;
  // No signature at all (zeros), and a digest recomputed over a change by someone without the key.
  await add('unsigned (signature zeroed)', at(good.bytes, dataEnd + DIGEST_BYTES, (b) => b.fill(0, 0, 64)), 'PACKAGE_SIGNATURE', 'verify', 'signature');
  await add('changed and re-digested, not re-signed', redigest(at(good.bytes, chunk('chunk[1].ciphertext').offset + 5, (b) => (b[0] = b[0]! ^ 1))), 'PACKAGE_SIGNATURE', 'verify', 'signature');
  // Forgeries by someone holding the appliance key: the structure and the AEAD still catch them.
  const c0 = chunk('chunk[0].length');
  const c1 = chunk('chunk[1].length');
  const recordSize = c1.offset - c0.offset;
  const swapped = Uint8Array.from(good.bytes);
  swapped.set(good.bytes.subarray(c1.offset, c1.offset + recordSize), c0.offset);
  swapped.set(good.bytes.subarray(c0.offset, c0.offset + recordSize), c1.offset);
  await add('chunks 0 and 1 swapped, re-signed', resign(swapped, signer.secretKey), 'PACKAGE_TAMPERED', 'verify', 'chunksMoved');
  const late = chunk(`chunk[${chunkCount - 2}].ciphertext`);
  await add('ciphertext changed in a late chunk, re-signed', resign(at(good.bytes, late.offset + 9, (b) => (b[0] = b[0]! ^ 4)), signer.secretKey), 'PACKAGE_TAMPERED', 'play', 'chunkTag');
  // Valid, but from another appliance: "signed by an unknown appliance key" for every reader that trusts only ours.
  const other = await seal(dir, 'other-signer.vpkg', video, { signer: makeSigner(0x33), manifest, now, chunkSize, password: GOOD_PASSWORD, scrypt: FAST });
  vectors.push({ name: 'signed by another appliance', path: other.path, password: GOOD_PASSWORD, expect: 'PACKAGE_SIGNATURE', stage: 'verify', video: true, reason: 'untrusted' });
  // The forgery of issue 14: the footage re-sealed under another key with our applianceId, extractable, never expiring.
  const forged = await forgePackage({ manifest: { ...manifest, applianceId: signer.applianceId, expiresAt: null, allowExtract: true }, video, password: GOOD_PASSWORD, secretKey: makeSigner(0x44).secretKey, chunkSize });
  await add('re-sealed under another key with our applianceId', forged, 'PACKAGE_SIGNATURE', 'verify', 'applianceMismatch');
  // Cut, padded, not a package, another version, empty.
  await add('truncated', good.bytes.subarray(0, Math.floor(good.bytes.length * 0.6)), 'PACKAGE_FORMAT', 'verify', 'incomplete');
  await add('bytes appended', Uint8Array.from([...good.bytes, 0]), 'PACKAGE_FORMAT', 'verify', 'incomplete');
  await add('not a package', new TextEncoder().encode('<!doctype html><title>not a package</title>'.repeat(20)), 'PACKAGE_FORMAT', 'verify', 'notPackage');
  await add('empty file', new Uint8Array(0), 'PACKAGE_FORMAT', 'verify', 'notPackage');
  await add('format version 2', at(good.bytes, 9, (b) => (b[0] = 2)), 'PACKAGE_FORMAT', 'verify', 'version');
  // Expired: sealed three weeks ago for two weeks.
  const past = new Date(now.getTime() - 21 * 86_400_000);
  const expired = await seal(dir, 'expired.vpkg', video, {
    signer, now: past, chunkSize, password: GOOD_PASSWORD, scrypt: FAST,
    manifest: { ...manifest, issuedAt: past.toISOString(), expiresAt: new Date(past.getTime() + 14 * 86_400_000).toISOString() },
  });
  vectors.push({ name: 'expired', path: expired.path, password: GOOD_PASSWORD, expect: 'PACKAGE_EXPIRED', stage: 'verify', video: true, reason: 'expired' });
  // The worked example of the spec: expired by now; opens on its sealing day (40 bytes, not a video).
  const example = await buildVector(dir);
  await add('spec worked example (today)', example, 'PACKAGE_EXPIRED', 'verify', 'expired', { password: VECTOR.password, video: false });
  await add('spec worked example (on 2026-03-01)', example, null, 'ok', undefined, { password: VECTOR.password, now: VECTOR.now, video: false });
  await add('spec worked example, wrong password', example, 'WRONG_PASSWORD', 'unlock', 'wrongPassword', { password: 'Correct horse battery', now: VECTOR.now, video: false });
  return { vectors, signerPublicKey: signer.publicKey, trustedKeys: [signer.publicKey, makeSigner(VECTOR_SEED).publicKey], video };
}
