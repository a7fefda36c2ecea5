/**
 * End to end on real faces: clips of annotated face photos moving over a scene are
 * analysed and rendered with the real models and GStreamer; frame-level recall of the
 * masks against the exact ground truth is measured, printed and asserted, and a face
 * left visible for the data subject is checked in the decoded output.
 */
import t from 'tap';
import { join } from 'node:path';
import { composeClip, scene } from '../../src/samples/compose.js';
import { decodePieces } from '../../src/media/decode.js';
import { loadProfiles } from '../../src/media/profiles.js';
import { readManifest, loadModel } from '../../src/masking/models.js';
import { BlazeFaceDetector } from '../../src/masking/detectors/blazeface.js';
import { analyse } from '../../src/masking/analyse.js';
import { masksAt, type MaskPlan } from '../../src/masking/plan.js';
import { render, fpsFraction } from '../../src/masking/render.js';
import { startEncoder } from '../../src/media/gst-process.js';
import { intersection, area, type Box } from '../../src/masking/geometry.js';
import { faceSprite } from '../../src/samples/faces.js';
import type { Frame } from '../../src/media/frame.js';

const W = 1280, H = 720, FPS = 15, SECONDS = 6;
const software = loadProfiles().find((p) => p.name === 'software')!;

t.test('faces of 24 px and up are masked in nearly every frame; the data subject stays visible', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'clip.mp4');
  const sizes = [24, 32, 48, 72, 110, 160];
  const objects = await Promise.all(
    sizes.map(async (s, i) => ({
      sprite: await faceSprite(i * 3, s),
      from: { x: 60 + i * 190, y: 80 + (i % 3) * 180 },
      to: { x: 120 + i * 180, y: 140 + (i % 2) * 200 },
      label: `face${s}`,
    })),
  );
  // The data subject: a large face that walks across, to be left unmasked.
  objects.push({ sprite: await faceSprite(15, 96), from: { x: 100, y: 600 }, to: { x: 300, y: 600 }, label: 'subject' });
  const truth = await composeClip({ out: file, width: W, height: H, fps: FPS, seconds: SECONDS, background: scene(W, H), objects });

  const piece = { file, segmentStart: new Date(0), inpointNs: 0, outpointNs: SECONDS * 1e9, codec: 'h264' as const, container: 'mp4' as const, width: W, height: H };
  const range = { profile: software, from: new Date(0), to: new Date(SECONDS * 1000) };
  const model = await loadModel(readManifest().find((m) => m.family === 'blazeface')!);
  const result = await analyse(decodePieces([piece], range), { detectors: [new BlazeFaceDetector(model, 24)], motion: false, scanHz: 5 });
  t.equal(result.frameTimesNs.length, FPS * SECONDS, 'every frame analysed');

  // The subject's track: the one whose boxes overlap the subject's ground truth most.
  const subjectAt = (i: number) => truth[i]!.objects.find((o) => o.label === 'subject')!;
  const overlap = (id: number) => result.frameTimesNs.reduce((s, tNs, i) => {
    const tr = result.tracks.find((x) => x.id === id)!;
    const b = masksAt({ style: 'mosaic', unmasked: [], manualRegions: [], privacyZones: [] }, [tr], tNs, W, H)[0];
    return s + (b ? intersection(b, subjectAt(i)) : 0);
  }, 0);
  const subjectTrack = result.tracks.map((x) => x.id).sort((a, b) => overlap(b) - overlap(a))[0]!;
  const plan: MaskPlan = { style: 'mosaic', unmasked: [subjectTrack], manualRegions: [], privacyZones: [] };

  // Recall: a face counts as masked in a frame when >= 90 % of its box is covered.
  const covered = (gt: Box, masks: Box[]) => masks.reduce((s, m) => s + intersection(gt, m), 0) / area(gt) >= 0.9;
  const perSize = new Map<string, { hit: number; total: number }>();
  truth.forEach((f, i) => {
    const masks = masksAt(plan, result.tracks, result.frameTimesNs[i]!, W, H, result.cameraPath);
    for (const o of f.objects) {
      if (o.label === 'subject') continue;
      const s = perSize.get(o.label) ?? { hit: 0, total: 0 };
      s.total++;
      if (covered(o, masks)) s.hit++;
      perSize.set(o.label, s);
    }
  });
  let hit = 0, total = 0;
  for (const [label, s] of perSize) {
    t.comment(`recall ${label}: ${(s.hit / s.total * 100).toFixed(1)} % (${s.hit}/${s.total} frames)`);
    hit += s.hit;
    total += s.total;
  }
  t.comment(`recall all faces >= 24 px: ${(hit / total * 100).toFixed(1)} %`);
  t.ok(hit / total >= 0.95, `frame-level recall ${(hit / total).toFixed(3)} >= 0.95`);

  // Render, decode the output again, and compare the subject's face with the source.
  const out = join(dir, 'masked.mp4');
  const enc = startEncoder(`appsrc name=in format=time ! videoconvert ! x264enc speed-preset=ultrafast bitrate=4000 ! h264parse ! mp4mux ! filesink location=${out}`, { label: 'encode masked' });
  const drained = (async () => { for await (const _ of enc.output) void _; })();
  const originals: Frame[] = [];
  for await (const f of decodePieces([piece], range)) if (f.index % 15 === 7) originals.push({ ...f, data: Buffer.from(f.data) });
  const stats = await render(decodePieces([piece], range), { frameTimesNs: result.frameTimesNs, tracks: result.tracks, plan, encoder: enc, framerate: fpsFraction(FPS) });
  enc.end();
  await drained;
  t.equal(stats.frames, FPS * SECONDS, 'every frame rendered');

  const maskedPiece = { ...piece, file: out };
  const diff = (a: Frame, b: Frame, box: Box) => {
    let s = 0, n = 0;
    for (let y = box.y; y < box.y + box.h; y++) for (let x = box.x; x < box.x + box.w; x++) { s += Math.abs(a.data[y * a.layout.yStride + x]! - b.data[y * b.layout.yStride + x]!); n++; }
    return s / n;
  };
  let checked = 0;
  for await (const m of decodePieces([maskedPiece], range)) {
    const o = originals.find((x) => x.index === m.index);
    if (!o) continue;
    const subj = subjectAt(m.index);
    const big = truth[m.index]!.objects.find((x) => x.label === 'face110')!;
    const dSubject = diff(o, m, subj);
    const dMasked = diff(o, m, big);
    t.ok(dSubject < 6, `frame ${m.index}: unmasked subject unchanged (mean |diff| ${dSubject.toFixed(1)})`);
    t.ok(dMasked > 12, `frame ${m.index}: masked face changed (mean |diff| ${dMasked.toFixed(1)})`);
    checked++;
  }
  t.equal(checked, originals.length, 'compared every sampled frame');
});
