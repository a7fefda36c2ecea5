/**
 * Camera motion on real pictures moved by known pans, zooms, rolls and shakes: a real
 * photo of people at 1080p and real pedestrian footage (OpenCV's vtest.avi, 768x576,
 * people walking through the view) seen through a virtual camera. The recovered motion
 * is compared with the true one at the frame corners (the worst place), printed and
 * asserted; cuts to another picture are reported as cuts; the cost per frame is printed.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CameraMotionEstimator, IDENTITY, zoomOf, type CameraEstimate, type Similarity } from '../../src/masking/camera-motion.js';
import { loadPicture, type Picture } from '../../src/samples/compose.js';
import { FIXTURES_DIR } from '../../src/samples/faces.js';
import { VTEST, asFrame, cornerError, decodeFrames, pose, trueMotion, view } from './moving-camera-footage.js';

type Motion = (i: number) => { px: number; py: number; z: number; roll?: number };

const rng = (seed: number) => {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) - 0.5;
};
const shakeX = Array.from({ length: 64 }, rng(7));
const shakeY = Array.from({ length: 64 }, rng(11));

const MOTIONS: Record<string, Motion> = {
  still: () => ({ px: 0, py: 0, z: 1 }),
  // A slow pan sampled at the analysis rate: 1.5 px per frame, 3 frames per scan.
  'pan 4.5 px/step': (i) => ({ px: 4.5 * i, py: 0.8 * i, z: 1 }),
  'fast pan 14 px/step': (i) => ({ px: 14 * i, py: -3 * i, z: 1 }),
  'zoom 1.5 %/step': (i) => ({ px: 0, py: 0, z: 1.015 ** i }),
  'shake +-7 px': (i) => ({ px: 14 * shakeX[i]!, py: 14 * shakeY[i]!, z: 1 }),
  'pan + zoom + roll': (i) => ({ px: 3 * i, py: 1.5 * i, z: 1.01 ** i, roll: 0.002 * i }),
};

function withRoll(g: Similarity, roll: number, W: number, H: number): Similarity {
  if (!roll) return g;
  // Roll about the output centre, applied before the camera pose.
  const c = Math.cos(roll), s = Math.sin(roll);
  const cx = W / 2, cy = H / 2;
  const r: Similarity = { a: c, b: s, tx: cx - (c * cx - s * cy), ty: cy - (s * cx + c * cy) };
  return { a: g.a * r.a - g.b * r.b, b: g.b * r.a + g.a * r.b, tx: g.a * r.tx - g.b * r.ty + g.tx, ty: g.b * r.tx + g.a * r.ty + g.ty };
}

/**
 * Drives an estimator through `steps` frames of a motion; returns the corner errors of
 * every estimate against the truth since its key picture, and the states.
 */
function drive(sources: (i: number) => Picture, base: Similarity, W: number, H: number, motion: Motion, steps: number) {
  const est = new CameraMotionEstimator(W, H);
  const poses: Similarity[] = [];
  const errors: number[] = [];
  const stableShifts: number[] = [];
  const states: CameraEstimate['state'][] = [];
  let key = 0;
  let ms = 0;
  for (let i = 0; i < steps; i++) {
    const m = motion(i);
    const g = withRoll(pose(base, W, H, m.px, m.py, m.z), m.roll ?? 0, W, H);
    poses.push(g);
    const frame = asFrame(view(sources(i), g, W, H, 2, i + 1), i, 10);
    const t0 = performance.now();
    const e = est.estimate(frame);
    ms += performance.now() - t0;
    states.push(e.state);
    if (i === 0) continue;
    const truth = trueMotion(poses[key]!, g);
    const err = cornerError(e.state === 'moving' ? e.transform : IDENTITY, truth, W, H);
    // "stable" promises only that the picture moved less than the stable threshold.
    if (e.state === 'moving') errors.push(err);
    else stableShifts.push(err);
    if (e.state !== 'stable') key = i;
  }
  return { errors, stableShifts, states, msPerFrame: ms / steps, stablePx: 0.25 * est.cell };
}

const summary = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)] ?? 0, max: s[s.length - 1] ?? 0 };
};

t.test('1080p photo of people: pans, zooms, rolls and shakes recovered within 1.2 px at the corners', async (t) => {
  const photo = await loadPicture(join(FIXTURES_DIR, 'sample2.jpg'));
  const W = 1920, H = 1080;
  // The camera sees a 1536x864 window of the photo, scaled up to 1080p: room to pan.
  const base: Similarity = { a: 0.8, b: 0, tx: 190, ty: 200 };
  for (const [name, motion] of Object.entries(MOTIONS)) {
    const r = drive(() => photo, base, W, H, motion, 24);
    const s = summary(r.errors);
    const st = summary(r.stableShifts);
    t.comment(`1080p ${name}: moving ${r.errors.length}, corner error median ${s.median.toFixed(2)} px, max ${s.max.toFixed(2)} px; stable ${r.stableShifts.length} (true shift max ${st.max.toFixed(2)} px, threshold ${r.stablePx.toFixed(2)} px); ${r.msPerFrame.toFixed(1)} ms per frame`);
    t.ok(st.max <= r.stablePx + 1.2, `${name}: what was called stable moved ${st.max.toFixed(2)} px <= threshold + 1.2 px`);
    t.ok(s.max <= 1.2, `${name}: worst corner error ${s.max.toFixed(2)} px <= 1.2 px (0.15 cell)`);
    if (name === 'still') t.equal(r.errors.length, 0, 'a still camera is never reported moving');
    else t.ok(r.errors.length >= 0.8 * (r.states.length - 1), `${name}: ${r.errors.length} of ${r.states.length - 1} estimates say moving`);
    t.notOk(r.states.slice(1).includes('cut'), `${name}: no cut`);
  }
});

t.test('real pedestrian footage (768x576) with people walking: camera motion recovered within 0.6 px', async (t) => {
  t.ok(existsSync(VTEST), `${VTEST} present (Debian opencv-doc)`);
  const frames = await decodeFrames(VTEST, 40);
  t.equal(frames.length, 40, '40 real frames decoded');
  const W = 768, H = 576;
  // A 668x501 window of the footage scaled to 768x576.
  const base: Similarity = { a: 0.87, b: 0, tx: 50, ty: 37 };
  for (const [name, motion] of Object.entries(MOTIONS)) {
    // Consecutive real frames: the walkers really move between them.
    const r = drive((i) => frames[i]!, base, W, H, motion, 24);
    const s = summary(r.errors);
    const st = summary(r.stableShifts);
    t.comment(`768x576 ${name}: moving ${r.errors.length}, corner error median ${s.median.toFixed(2)} px, max ${s.max.toFixed(2)} px; stable ${r.stableShifts.length} (true shift max ${st.max.toFixed(2)} px, threshold ${r.stablePx.toFixed(2)} px); ${r.msPerFrame.toFixed(1)} ms per frame`);
    t.ok(st.max <= r.stablePx + 0.6, `${name}: what was called stable moved ${st.max.toFixed(2)} px <= threshold + 0.6 px`);
    t.ok(s.max <= 0.6, `${name}: worst corner error ${s.max.toFixed(2)} px <= 0.6 px (0.2 cell)`);
    if (name === 'still') t.equal(r.errors.length, 0, 'a still camera is never reported moving');
    else t.ok(r.errors.length >= 0.8 * (r.states.length - 1), `${name}: ${r.errors.length} of ${r.states.length - 1} estimates say moving`);
    t.notOk(r.states.slice(1).includes('cut'), `${name}: no cut`);
  }
});

t.test('a jump to another preset or scene is a cut; the first frame is a cut; a shift after it is measured again', async (t) => {
  const W = 1280, H = 720;
  const a = await loadPicture(join(FIXTURES_DIR, 'sample1.jpg'));
  const b = await loadPicture(join(FIXTURES_DIR, 'sample5.jpg'));
  const frames = await decodeFrames(VTEST, 12);
  const est = new CameraMotionEstimator(W, H);
  const base: Similarity = { a: 1.2, b: 0, tx: 100, ty: 80 };
  const at = (p: Picture, px: number, i: number) => asFrame(view(p, pose(base, W, H, px, 0), W, H, 2, i), i, 10);
  const states = [a, a, b, b, a].map((p, i) => est.estimate(at(p, i === 1 ? 6 : i === 4 ? 0 : 0, i)));
  t.comment(`photo sequence a, a+6px, b, b, a: ${states.map((s) => `${s.state} (${s.inliers}/${s.blocks})`).join(', ')}`);
  t.same(states.map((s) => s.state), ['cut', 'moving', 'cut', 'stable', 'cut'], 'first frame, a pan, a jump, still, a jump back');
  // A preset jump inside one real scene: vtest seen from two far apart windows.
  const est2 = new CameraMotionEstimator(640, 360);
  const wide = (i: number, px: number) => asFrame(view(frames[i]!, { a: 0.6, b: 0, tx: px, ty: 200 }, 640, 360, 2, i), i, 10);
  const seq = [est2.estimate(wide(0, 0)), est2.estimate(wide(1, 0)), est2.estimate(wide(2, 380)), est2.estimate(wide(3, 380))];
  t.comment(`vtest preset jump (384 source px): ${seq.map((s) => `${s.state} (${s.inliers}/${s.blocks})`).join(', ')}`);
  t.same(seq.map((s) => s.state), ['cut', 'stable', 'cut', 'stable'], 'the jump is a cut, the new preset is stable');
});

t.test('cost per frame at 1080p and 768x576 (downscale + estimate)', async (t) => {
  for (const [W, H] of [[1920, 1080], [768, 576], [1280, 720]] as const) {
    const photo = await loadPicture(join(FIXTURES_DIR, 'sample3.jpg'));
    const frames = Array.from({ length: 6 }, (_, i) => asFrame(view(photo, pose({ a: 1920 / W * 0.8, b: 0, tx: 100, ty: 100 }, W, H, 3 * i, i), W, H, 2, i), i, 10));
    const est = new CameraMotionEstimator(W, H);
    est.estimate(frames[0]!);
    // CPU time, not wall time: the test machines are shared and a wall clock measures
    // the neighbours.
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const n = 30;
    for (let k = 1; k <= n; k++) est.estimate(frames[k % 6]!);
    const c = process.cpuUsage(c0);
    const ms = (c.user + c.system) / 1000 / n;
    t.comment(`${W}x${H}: ${ms.toFixed(2)} ms CPU per analysed frame (${((performance.now() - t0) / n).toFixed(1)} ms wall)`);
    // Speed is the bench's to measure (npm run bench), never a timed test's: only printed here.
  }
  t.ok(zoomOf(IDENTITY) === 1, 'identity has zoom 1');
});
