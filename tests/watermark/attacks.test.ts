/**
 * The forensic watermark end to end on a real export: 1080p footage of real faces
 * (GStreamer x264), exported through renderAndSeal (masked, watermarked, sealed), the
 * clear video taken out of the package as a leaker would, then attacked with GStreamer:
 * re-encoded at a quarter of the bitrate, scaled down to 720p, trimmed to 30 s, cropped
 * by a few percent (and cropped then scaled). `veilport trace` must name the package
 * after each, and nothing in the unwatermarked render. The watermark's distortion is
 * measured against the same render without it: PSNR >= 40 dB.
 * A small export through the command line is traced as well.
 */
import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRecords, startEncoder } from '../../src/media/gst-process.js';
import { i420Layout } from '../../src/media/frame.js';
import { quoteLocation } from '../../src/media/profiles.js';
import { composeClip, scene } from '../../src/samples/compose.js';
import { faceSprite } from '../../src/samples/faces.js';
import { analysesDirOf, analysisFor, renderAndSeal, resolveFootage } from '../../src/export/job.js';
import { renderFootage } from '../../src/export/export.js';
import type { MaskPlan } from '../../src/masking/plan.js';
import { openPackage } from '../../src/seal/index.js';
import { createEmbedder } from '../../src/watermark/embed.js';
import { makeSigner } from '../seal/helpers.js';
import { runCli } from '../player/cli.js';

const W = 1920, H = 1080, FPS = 5, SECONDS = 32;
const EXPORT_KBPS = Math.max(500, (W * H * FPS * 0.07) / 1000);
const PASSWORD = 'correct horse battery';
const dir = t.testdir();

/** Decode (optionally a time range), crop, scale, re-encode with x264: what a leaker's tools do. */
async function transcode(src: string, out: string, o: { kbps: number; startS?: number; seconds?: number; crop?: [number, number, number, number]; size?: [number, number] }): Promise<void> {
  const chain = [`filesrc location=${quoteLocation(src)}`, 'qtdemux', 'h264parse', 'avdec_h264', 'videoconvert'];
  if (o.crop) chain.push(`videocrop left=${o.crop[0]} top=${o.crop[1]} right=${o.crop[2]} bottom=${o.crop[3]}`);
  if (o.size) chain.push('videoscale', `video/x-raw,width=${o.size[0]},height=${o.size[1]}`);
  chain.push('videoconvert', 'video/x-raw,format=I420', 'appsink name=out sync=false max-buffers=4');
  const enc = startEncoder(`appsrc name=in format=time ! videoconvert ! x264enc speed-preset=veryfast bitrate=${Math.round(o.kbps)} key-int-max=${FPS * 4} ! h264parse ! mp4mux ! filesink location=${quoteLocation(out)}`, { label: `attack ${out}` });
  const drained = (async () => {
    for await (const _ of enc.output) void _;
  })();
  const startNs = (o.startS ?? 0) * 1e9;
  const range = o.startS !== undefined ? { startNs, stopNs: startNs + (o.seconds ?? SECONDS) * 1e9 } : {};
  let first: number | null = null;
  for await (const r of readRecords(chain.join(' ! '), { label: `attack decode ${src}`, ...range })) {
    if (r.kind === 'caps') {
      await enc.setCaps(r.caps);
      continue;
    }
    first ??= r.ptsNs;
    await enc.writeFrame(r.ptsNs - first, r.durationNs, r.data);
  }
  enc.end();
  await drained;
}

/** Luma frames of a video, decoded by GStreamer. */
async function* lumaFrames(file: string): AsyncGenerator<Uint8Array> {
  let w = 0;
  let h = 0;
  for await (const r of readRecords(`filesrc location=${quoteLocation(file)} ! qtdemux ! h264parse ! avdec_h264 ! videoconvert ! video/x-raw,format=I420 ! appsink name=out sync=false`, { label: 'psnr' })) {
    if (r.kind === 'caps') {
      w = Number(/width=\(int\)(\d+)/.exec(r.caps)![1]);
      h = Number(/height=\(int\)(\d+)/.exec(r.caps)![1]);
      continue;
    }
    const L = i420Layout(w, h);
    const y = new Uint8Array(w * h);
    for (let row = 0; row < h; row++) y.set(r.data.subarray(row * L.yStride, row * L.yStride + w), row * w);
    yield y;
  }
}

const psnr = (mse: number) => (mse === 0 ? 99 : 10 * Math.log10((255 * 255) / mse));

let packageId = '';
let wm = '';
let plain = '';
const timing: Record<string, number> = {};

t.before(async () => {
  const day = join(dir, 'rec', 'cam9', '2026-03-01');
  mkdirSync(day, { recursive: true });
  const objects = [];
  for (const [i, s] of [72, 110, 150, 220].entries()) {
    objects.push({ sprite: await faceSprite(i * 4 + 1, s), from: { x: 150 + i * 420, y: 200 + (i % 2) * 420 }, to: { x: 320 + i * 380, y: 320 + ((i + 1) % 2) * 300 }, label: `face${i}` });
  }
  let t0 = performance.now();
  await composeClip({ out: join(day, '00-00-00.mp4'), width: W, height: H, fps: FPS, seconds: SECONDS, background: scene(W, H, 11), objects, preset: 'veryfast' });
  timing.composeS = (performance.now() - t0) / 1000;
  const r = await resolveFootage({
    recordings: join(dir, 'rec'), camera: 'cam9', from: new Date('2026-03-01T00:00:00Z'), to: new Date(`2026-03-01T00:00:${SECONDS}Z`),
    targets: ['motion'], scanHz: 2, profile: 'software',
  });
  t0 = performance.now();
  const analysis = await analysisFor(r, analysesDirOf(join(dir, 'data')));
  timing.analyseS = (performance.now() - t0) / 1000;
  const plan: MaskPlan = { style: 'mosaic', unmasked: [], manualRegions: [{ x: 800, y: 400, w: 320, h: 240, fromNs: 0, toNs: Number.MAX_SAFE_INTEGER }], privacyZones: [] };
  // The export as the appliance makes it.
  const pkg = join(dir, 'case.vpkg');
  t0 = performance.now();
  const out = await renderAndSeal(r, analysis, {
    out: pkg, password: PASSWORD, signer: makeSigner(9), caseId: 'WM-1', requester: { reference: null, organisation: 'Mapo Police Station', type: 'police' },
    purpose: null, legalBasis: null, expiresMs: 86_400_000, allowExtract: true, plan,
  });
  timing.exportS = (performance.now() - t0) / 1000;
  packageId = out.packageId;
  // The leaked clear copy.
  wm = join(dir, 'leaked.mp4');
  const parts: Uint8Array[] = [];
  for await (const p of openPackage(pkg, { password: PASSWORD })) parts.push(p);
  writeFileSync(wm, Buffer.concat(parts));
  // The same render without the watermark; the watermark's own distortion measured on copies of its frames.
  plain = join(dir, 'plain.mp4');
  const probe = createEmbedder(packageId);
  const chunks: Uint8Array[] = [];
  t0 = performance.now();
  await renderFootage(r.footage, {
    profile: r.profile, analysis: { ...analysis.stored, thumbnails: new Map(), scans: 0, tilesRun: 0 }, plan,
    postProcess: (f) => probe.apply({ ...f, data: Buffer.from(f.data) }),
    sink: async (v) => {
      for await (const c of v) chunks.push(c);
    },
  });
  timing.plainRenderS = (performance.now() - t0) / 1000;
  writeFileSync(plain, Buffer.concat(chunks));
  timing.embedPsnr = psnr(probe.stats().mse);
});

t.test('the watermark is invisible: PSNR against the same render without it', async (t) => {
  t.comment(`timings: ${JSON.stringify(Object.fromEntries(Object.entries(timing).map(([k, v]) => [k, Number(v.toFixed(2))])))}`);
  t.ok(timing.embedPsnr! >= 42, `frames before the encoder: PSNR ${timing.embedPsnr!.toFixed(2)} dB`);
  const a = lumaFrames(plain);
  const b = lumaFrames(wm);
  let se = 0;
  let n = 0;
  let worst = 99;
  let frames = 0;
  for (;;) {
    const [x, y] = await Promise.all([a.next(), b.next()]);
    if (x.done || y.done) {
      t.ok(x.done && y.done, 'same number of frames');
      break;
    }
    let s = 0;
    for (let i = 0; i < x.value.length; i++) s += (x.value[i]! - y.value[i]!) ** 2;
    se += s;
    n += x.value.length;
    worst = Math.min(worst, psnr(s / x.value.length));
    frames++;
  }
  t.equal(frames, FPS * SECONDS);
  const mean = psnr(se / n);
  t.ok(mean >= 40, `decoded render with vs without the watermark: PSNR ${mean.toFixed(2)} dB over ${frames} frames (worst frame ${worst.toFixed(2)} dB)`);
  t.ok(worst >= 39, `no frame much worse (${worst.toFixed(2)} dB)`);
});

t.test('veilport trace names the package after each attack, and nothing in an unmarked copy', async (t) => {
  const attacks: [string, Parameters<typeof transcode>[2]][] = [
    ['re-encoded at a quarter of the bitrate', { kbps: EXPORT_KBPS / 4 }],
    ['scaled down to 720p', { kbps: EXPORT_KBPS / 2, size: [1280, 720] }],
    ['trimmed to 30 s (1 s to 31 s)', { kbps: EXPORT_KBPS, startS: 1, seconds: 30 }],
    ['cropped 4 % left, 3 % top, 2 % right, 5 % bottom', { kbps: EXPORT_KBPS, crop: [76, 32, 38, 54] }],
    ['cropped 5 % all round, then scaled to 720p', { kbps: EXPORT_KBPS / 2, crop: [96, 54, 96, 54], size: [1280, 720] }],
  ];
  const files: string[] = [];
  for (const [i, [name, o]] of attacks.entries()) {
    const f = join(dir, `attack-${i}.mp4`);
    const t0 = performance.now();
    await transcode(wm, f, o);
    t.comment(`${name}: attack took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    files.push(f);
  }
  const runs = await runCli([...[wm, ...files, plain].map((f) => ['trace', f, '--json'])], dir);
  const results = runs.map((r) => ({ code: r.code, ...(JSON.parse(r.out) as { found: boolean; packageId: string | null; syncScore: number; agreement: number; frames: number; width: number; height: number; decodeS: number; detectS: number; period: { x: number; y: number } | null }) }));
  const names = ['the leaked copy itself', ...attacks.map(([n]) => n), 'the render without watermark'];
  for (const [i, r] of results.entries()) {
    const detail = `${r.width}x${r.height}, ${r.frames} frames, sync ${r.syncScore.toFixed(1)}, coded bits ${(r.agreement * 100).toFixed(1)}% clean, period ${r.period ? `${r.period.x.toFixed(1)}x${r.period.y.toFixed(1)}` : '-'}, ${(r.decodeS + r.detectS).toFixed(1)} s`;
    if (i === results.length - 1) {
      t.equal(r.found, false, `${names[i]}: nothing found (${detail})`);
      t.equal(r.code, 1, 'exit status 1');
    } else {
      t.equal(r.packageId, packageId, `${names[i]}: package ${packageId} (${detail})`);
      t.equal(r.code, 0);
    }
  }
  t.equal(results[3]!.frames, 30 * FPS, 'the trimmed copy has 30 s');
});

t.test('an export made with the command line carries its package id', async (t) => {
  const day = join(dir, 'rec2', 'hall', '2026-03-01');
  mkdirSync(day, { recursive: true });
  await composeClip({ out: join(day, '00-00-00.mp4'), width: 640, height: 360, fps: 10, seconds: 4, background: scene(640, 360, 5), objects: [{ sprite: await faceSprite(2, 80), from: { x: 100, y: 100 }, to: { x: 300, y: 160 }, label: 'a' }] });
  const pw = join(dir, 'pw.txt');
  writeFileSync(pw, PASSWORD + '\n');
  const pkg = join(dir, 'cli.vpkg');
  const [e, v] = await runCli([
    ['export', '--recordings', join(dir, 'rec2'), '--camera', 'hall', '--from', '2026-03-01T00:00:00Z', '--to', '2026-03-01T00:00:04Z', '--data', join(dir, 'data2'), '--mask', 'motion', '--out', pkg, '--password-file', pw, '--allow-extract', '--quiet', '--json'],
    ['verify', pkg, '--data', join(dir, 'data2'), '--json'],
  ], dir);
  t.equal(e!.code, 0, e!.err);
  const manifest = JSON.parse(v!.out).manifest;
  t.equal(manifest.video.watermark, 'veilport/watermark/v1', 'the manifest says the video is watermarked');
  const clear = join(dir, 'cli.mp4');
  const [x, tr] = await runCli([['open', pkg, '--data', join(dir, 'data2'), '--password-file', pw, '--extract', clear], ['trace', clear]], dir);
  t.equal(x!.code, 0, x!.err);
  t.equal(tr!.code, 0, tr!.out);
  t.match(tr!.out, new RegExp(`^watermark found: package ${manifest.packageId}\\n`), tr!.out.split('\n')[0]);
});
