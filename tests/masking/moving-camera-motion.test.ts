/**
 * The motion model under a moving camera, on real pedestrian footage (OpenCV's
 * vtest.avi from Debian's opencv-doc: people walking across a campus crossing): a
 * virtual camera pans, zooms and shakes over the real frames. With the camera motion
 * taken out, the motion mask covers the walking people (what the same model finds on the
 * still footage, and the people annotated by hand on keyframe 40), not the picture.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CameraMotionEstimator, apply, invert, type Similarity } from '../../src/masking/camera-motion.js';
import { MotionDetector } from '../../src/masking/motion.js';
import type { Box } from '../../src/masking/geometry.js';
import { VTEST, asFrame, decodeFrames, view } from './moving-camera-footage.js';

const W = 576, H = 432, N = 130, WARMUP = 20;
const rng = (seed: number) => {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) - 0.5;
};
const sx = Array.from({ length: N }, rng(3)), sy = Array.from({ length: N }, rng(5));

/** Camera poses (output -> source pixels) over the 768x576 footage. */
const POSES: Record<string, (i: number) => Similarity> = {
  still: () => ({ a: 1, b: 0, tx: 96, ty: 72 }),
  'pan 1.45 px/frame': (i) => ({ a: 1, b: 0, tx: 2 + 1.45 * i, ty: 60 + 0.3 * i }),
  'zoom in 33 % over 13 s': (i) => {
    const a = 768 / W - ((768 / W - 1) * i) / (N - 1);
    return { a, b: 0, tx: 384 - (W / 2) * a, ty: 288 - (H / 2) * a };
  },
  'shake +-6 px': (i) => ({ a: 1, b: 0, tx: 96 + 12 * sx[i]!, ty: 72 + 12 * sy[i]! }),
};

/** Rasterised union of boxes on a 4 px grid. */
function raster(boxes: Box[]): Uint8Array {
  const gw = W / 4, gh = H / 4;
  const m = new Uint8Array(gw * gh);
  for (const b of boxes) {
    for (let y = Math.max(0, Math.floor(b.y / 4)); y < Math.min(gh, Math.ceil((b.y + b.h) / 4)); y++) {
      for (let x = Math.max(0, Math.floor(b.x / 4)); x < Math.min(gw, Math.ceil((b.x + b.w) / 4)); x++) m[y * gw + x] = 1;
    }
  }
  return m;
}
const count = (m: Uint8Array) => m.reduce((s, v) => s + v, 0);
const both = (a: Uint8Array, b: Uint8Array) => a.reduce((s, v, i) => s + (v & b[i]!), 0);

/** A source-pixel box seen through pose g (output -> source), in output pixels. */
function toOutput(b: Box, g: Similarity): Box {
  const inv = invert(g);
  const p = apply(inv, b.x, b.y), q = apply(inv, b.x + b.w, b.y + b.h);
  return { x: Math.min(p.x, q.x), y: Math.min(p.y, q.y), w: Math.abs(q.x - p.x), h: Math.abs(q.y - p.y) };
}

const root = fileURLToPath(new URL('../../', import.meta.url));
const truth = JSON.parse(readFileSync(join(root, 'tests/fixtures/vtest-persons.json'), 'utf8')) as { keyframes: { frame: number; persons: { body: [number, number, number, number] }[] }[] };

t.test('under a pan, a zoom and a shake the motion mask covers the walking people, not the picture', async (t) => {
  const frames = await decodeFrames(VTEST, N);
  t.equal(frames.length, N, `${N} real frames`);
  // What the model finds on the footage as recorded (a still camera): the people who move.
  const still = new MotionDetector(768, 576);
  const reference = frames.map((f, i) => still.update(asFrame(f, i, 10)));
  const keys = truth.keyframes.filter((k) => k.frame >= WARMUP && k.frame < N);
  t.ok(keys.length >= 2, `${keys.length} hand-annotated keyframes in the stretch`);

  for (const [name, poseAt] of Object.entries(POSES)) {
    const est = new CameraMotionEstimator(W, H);
    const md = new MotionDetector(W, H);
    const naive = new MotionDetector(W, H);
    let ref = 0, got = 0, hit = 0, plain = 0, n = 0, moving = 0, cuts = 0;
    let people = 0, peopleHit = 0, maskAtKeys = 0, maskOnPeople = 0;
    for (let i = 0; i < N; i++) {
      const g = poseAt(i);
      const f = asFrame(view(frames[i]!, g, W, H), i, 10);
      const e = est.estimate(f);
      if (e.state === 'moving') moving++;
      if (e.state === 'cut' && i > 0) cuts++;
      const boxes = md.update(f, e);
      const uncompensated = naive.update(f);
      if (i < WARMUP) continue;
      const r = raster(reference[i]!.map((b) => toOutput(b, g)));
      const m = raster(boxes);
      ref += count(r);
      got += count(m);
      hit += both(r, m);
      plain += count(raster(uncompensated));
      n++;
      const key = keys.find((k) => k.frame === i);
      if (key) {
        const p = raster(key.persons.map(({ body: [x, y, w, h] }) => toOutput({ x, y, w, h }, g)));
        people += count(p);
        peopleHit += both(p, m);
        maskAtKeys += count(m);
        maskOnPeople += both(p, m);
      }
    }
    const cells = n * (W / 4) * (H / 4);
    const refShare = ref / cells, share = got / cells, naiveShare = plain / cells, recall = hit / Math.max(1, ref);
    t.comment(`${name}: masked ${(share * 100).toFixed(1)} % of the picture (moving people, still-camera reference: ${(refShare * 100).toFixed(1)} %), reference covered ${(recall * 100).toFixed(1)} %; without taking the camera out ${(naiveShare * 100).toFixed(1)} %; ${moving} moving estimates, ${cuts} cuts`);
    const peopleCovered = peopleHit / Math.max(1, people);
    t.comment(`${name}: on the hand-annotated keyframes people are ${(people / (keys.length * (W / 4) * (H / 4)) * 100).toFixed(1)} % of the picture; ${(peopleCovered * 100).toFixed(1)} % of their area is masked; ${(maskOnPeople / Math.max(1, maskAtKeys) * 100).toFixed(0)} % of the mask lies on them`);
    t.ok(share <= 2 * refShare + 0.01, `${name}: masked share ${(share * 100).toFixed(1)} % <= 2x the moving people's ${(refShare * 100).toFixed(1)} % (+1 %)`);
    t.ok(peopleCovered >= 0.9, `${name}: ${(peopleCovered * 100).toFixed(1)} % of the annotated people's area masked (>= 90 %)`);
    t.equal(cuts, 0, `${name}: no cut`);
    if (name !== 'still') t.ok(naiveShare > 2 * share, `${name}: without camera motion the mask would cover ${(naiveShare * 100).toFixed(1)} %`);
  }
});

t.test('a cut starts a new background instead of masking the whole new picture', async (t) => {
  const frames = await decodeFrames(VTEST, 40);
  const est = new CameraMotionEstimator(W, H);
  const md = new MotionDetector(W, H);
  const left: Similarity = { a: 1, b: 0, tx: 0, ty: 0 }, right: Similarity = { a: 0.55, b: 0, tx: 420, ty: 300 };
  const shares: number[] = [];
  for (let i = 0; i < 40; i++) {
    const f = asFrame(view(frames[i]!, i < 20 ? left : right, W, H), i, 10);
    const e = est.estimate(f);
    const m = raster(md.update(f, e));
    if (i >= 20) shares.push(count(m) / m.length);
    if (i === 20) t.equal(e.state, 'cut', 'the jump to another preset is a cut');
  }
  t.comment(`after the cut: masked share ${shares.slice(0, 5).map((s) => (s * 100).toFixed(1) + ' %').join(', ')} ...; max ${(Math.max(...shares) * 100).toFixed(1)} %`);
  t.ok(Math.max(...shares) < 0.2, 'no frame after the cut is mostly masked');
});
