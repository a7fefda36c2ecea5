/**
 * Fail closed: every way an export can break leaves no package and no partial file,
 * and says what broke. Real GStreamer pipelines, real models, real sealing.
 */
import t, { type Test } from 'tap';
import { existsSync, readdirSync, readFileSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { composeClip, scene } from '../../src/samples/compose.js';
import { faceSprite } from '../../src/samples/faces.js';
import { loadProfiles, type Profile } from '../../src/media/profiles.js';
import { readManifest, loadModel } from '../../src/masking/models.js';
import { BlazeFaceDetector } from '../../src/masking/detectors/blazeface.js';
import { analyseFootage, renderFootage, type RangeFootage } from '../../src/export/export.js';
import { loadOrCreateSigningKey, sealPackage } from '../../src/seal/index.js';
import type { MaskPlan } from '../../src/masking/plan.js';

const W = 640, H = 360, FPS = 10, SECONDS = 4;
const software = loadProfiles().find((p) => p.name === 'software')!;
const plan: MaskPlan = { style: 'mosaic', unmasked: [], manualRegions: [], privacyZones: [] };

async function clip(dir: string): Promise<string> {
  const file = join(dir, 'clip.mp4');
  await composeClip({ out: file, width: W, height: H, fps: FPS, seconds: SECONDS, background: scene(W, H), objects: [{ sprite: await faceSprite(0, 48), from: { x: 40, y: 40 }, to: { x: 400, y: 200 }, label: 'face' }] });
  return file;
}

const footageOf = (file: string): RangeFootage => ({
  camera: 'cam', from: new Date(0), to: new Date(SECONDS * 1000), gaps: [],
  pieces: [{ file, segmentStart: new Date(0), inpointNs: 0, outpointNs: SECONDS * 1e9, codec: 'h264', container: 'mp4', width: W, height: H, framerate: FPS }],
});

async function detectors() {
  return [new BlazeFaceDetector(await loadModel(readManifest().find((m) => m.family === 'blazeface')!), 24)];
}

/** Runs render + seal and returns the error; asserts nothing was left behind. */
async function exportFails(t: Test, dir: string, footage: RangeFootage, profile: Profile, analysisFootage = footage, stallMs?: number) {
  const analysis = await analyseFootage(analysisFootage, { profile: software, detectors: await detectors(), motion: false });
  const signer = await loadOrCreateSigningKey(join(dir, 'keys'));
  const out = join(dir, 'out', 'package.vpkg');
  mkdirSync(join(dir, 'out'), { recursive: true });
  const err = await renderFootage(footage, {
    profile,
    analysis,
    plan,
    sink: (video) => sealPackage({ out, manifest: { test: true, expiresAt: null }, video, password: 'correct horse battery', signer, scrypt: { N: 2 ** 14, r: 8, p: 1 } }),
    ...(stallMs ? { stallMs } : {}),
  }).then(() => undefined, (e: unknown) => e as Error & { code?: string });
  t.ok(err, 'the export failed');
  t.same(readdirSync(join(dir, 'out')), [], 'no package and no partial file left');
  return err!;
}

t.test('a missing model refuses to load and says how to fix it', async (t) => {
  const entry = readManifest()[0]!;
  await t.rejects(loadModel(entry, t.testdir()), { code: 'MODEL_MISSING', message: /npm run setup:models/ });
});

t.test('a model whose bytes differ from the manifest refuses to load', async (t) => {
  const entry = readManifest()[0]!;
  const dir = t.testdir();
  copyFileSync(join('models/files', entry.file), join(dir, entry.file));
  const bytes = readFileSync(join(dir, entry.file));
  bytes[bytes.length >> 1] ^= 0xff;
  writeFileSync(join(dir, entry.file), bytes);
  await t.rejects(loadModel(entry, dir), { code: 'MODEL_MISMATCH', message: new RegExp(entry.sha256) });
});

t.test('a segment corrupted in the middle of the range fails the export', async (t) => {
  const dir = t.testdir();
  const file = await clip(dir);
  const analysed = footageOf(file);
  const broken = join(dir, 'broken.mp4');
  const bytes = readFileSync(file);
  // Garbage over the middle of the media data, as a failing disk would leave it.
  bytes.fill(0x5a, bytes.length >> 1, (bytes.length >> 1) + 20000);
  writeFileSync(broken, bytes);
  const err = await exportFails(t, dir, { ...analysed, pieces: [{ ...analysed.pieces[0]!, file: broken }] }, software, analysed);
  t.match(err.code, /PIPELINE_FAILED|RENDER_FAILED/, `failed with ${err.code}: ${err.message}`);
});

t.test('an encoder that errors mid-stream fails the export with the GStreamer message', async (t) => {
  const dir = t.testdir();
  const footage = footageOf(await clip(dir));
  const failing: Profile = { ...software, encode: `identity error-after=15 ! ${software.encode}` };
  const err = await exportFails(t, dir, footage, failing);
  t.equal(err.code, 'PIPELINE_FAILED');
  t.match(err.message, /encode.*(error|Failed)/i, `message names the failure: ${err.message}`);
});

t.test('a pipeline that stops producing is stopped and fails the export', async (t) => {
  const dir = t.testdir();
  const footage = footageOf(await clip(dir));
  // identity sleeps 20 s per buffer: a hung hardware element.
  const hung: Profile = { ...software, encode: `identity sleep-time=20000000 ! ${software.encode}` };
  const err = await exportFails(t, dir, footage, hung, footage, 1500);
  t.equal(err.code, 'PIPELINE_STALLED', err.message);
});

t.test('footage that changed since analysis is refused', async (t) => {
  const dir = t.testdir();
  const file = await clip(dir);
  const full = footageOf(file);
  // Analysed over the first 2 s only, rendered over 4 s: frames nobody analysed.
  const short: RangeFootage = { ...full, to: new Date(2000), pieces: [{ ...full.pieces[0]!, outpointNs: 2e9 }] };
  const err = await exportFails(t, dir, full, software, short);
  t.equal(err.code, 'RENDER_FAILED');
  t.match(err.message, /not analysed/);
  t.notOk(existsSync(join(dir, 'out', 'package.vpkg')));
});
