/**
 * The scan scheduler on its own, with a detector stand-in that only describes its tiles
 * (the schedule does not depend on what a model finds), driven by synthetic camera
 * states: the grid is swept within its period on a still camera; nothing skipped counts
 * as scanned; under a pan, a zoom and a shake every tile at every level is looked at
 * within its period (and at every scan while the picture moves); degraded stretches.
 */
import t from 'tap';
import { CoverageLog, TileScheduler } from '../../src/masking/scheduler.js';
import type { CameraState } from '../../src/masking/camera-motion.js';
import { tileGrid, tileAround, type Detector, type Tile } from '../../src/masking/detectors/detector.js';
import type { Box } from '../../src/masking/geometry.js';

const W = 1280, H = 720;

/** Tiles like BlazeFace's at 1280x720: a fine grid (level 0) and the whole frame (level 1). */
function gridDetector(): Detector {
  return {
    target: 'face',
    // BlazeFace-like: 128x128 input, finds faces down to 16 px at its input.
    model: { entry: { input: { width: 128, height: 128 }, minObjectPx: 16 } } as never,
    scanEvery: 1,
    tiles: (w, h): Tile[] => [...tileGrid(w, h, 160, 160, 40, 0), ...tileGrid(w, h, 640, 640, 160, 1), { x: 0, y: 0, w, h, level: 2 }],
    roiTile: (b: Box, w, h) => tileAround(b, 160, 160, w, h),
    detect: async () => [],
  };
}

t.test('still camera: every grid tile is swept within its period, the whole frame at every scan', async (t) => {
  const s = new TileScheduler(gridDetector(), W, H, 2e9);
  const gap = 2e8; // 5 scans per second
  const seen = new Map(s.tiles.map((x) => [x, [] as number[]]));
  for (let i = 0; i < 50; i++) {
    const tNs = i * gap;
    const plan = s.plan(tNs, i === 0 ? 0 : gap, [], []);
    s.commit(plan);
    for (const x of plan.swept) seen.get(x)!.push(tNs);
    if (!plan.run.some((r) => r.level === 2)) t.fail(`scan ${i} does not run the whole-frame level`);
  }
  let worst = 0;
  for (const [, times] of seen) for (let k = 1; k < times.length; k++) worst = Math.max(worst, times[k]! - times[k - 1]!);
  t.comment(`grid tiles: ${s.tiles.filter((x) => x.level === 0).length}, worst gap between sweeps ${(worst / 1e6).toFixed(0)} ms (period 2000 ms)`);
  t.ok(worst <= 2e9, 'no tile waits longer than the period');
});

t.test('a grid of few tiles is swept once per period, not at every scan', async (t) => {
  // A plate detector's grid on an SD frame: one 768x576 tile (PP-OCR det takes any size).
  const one: Detector = { ...gridDetector(), target: 'plate', tiles: (w, h): Tile[] => [{ x: 0, y: 0, w, h, level: 0 }] };
  const s = new TileScheduler(one, 768, 576, 2e9);
  const gap = 2e8;
  const runs: number[] = [];
  for (let i = 0; i < 50; i++) {
    const plan = s.plan(i * gap, i === 0 ? 0 : gap, [], []);
    s.commit(plan);
    if (plan.run.length) runs.push(i * gap);
  }
  const gaps = runs.slice(1).map((x, k) => x - runs[k]!);
  t.comment(`the one tile ran at ${runs.map((x) => x / 1e9).join(', ')} s`);
  t.equal(runs.length, 5, 'once at the start and once per 2 s period after it, in 10 s');
  t.ok(gaps.every((g) => g === 2e9), 'never later than the period');
});

t.test('busy areas are looked at by whichever tiles cost less: ROI tiles or the grid tiles holding them', async (t) => {
  // One grid tile over the SD frame and small ROI tiles around two moving things.
  const roi = (b: Box, w: number, h: number) => tileAround(b, 256, 128, w, h);
  const any: Detector = { ...gridDetector(), target: 'plate', tiles: (w, h): Tile[] => [{ x: 0, y: 0, w, h, level: 0 }], roiTile: roi };
  const moving = [{ x: 100, y: 100, w: 60, h: 30 }, { x: 500, y: 400, w: 60, h: 30 }];
  const fixed = new TileScheduler(any, 768, 576, 2e9);
  fixed.commit(fixed.plan(0, 0, [], []));
  t.same(fixed.plan(2e8, 2e8, [], moving).run.map((r) => r.w), [768], 'same cost per tile: one grid tile instead of two ROI tiles');
  const pixels = new TileScheduler({ ...any, tileCost: (r) => r.w * r.h }, 768, 576, 2e9);
  pixels.commit(pixels.plan(0, 0, [], []));
  t.same(pixels.plan(2e8, 2e8, [], moving).run.map((r) => r.w), [256, 256], 'cost by pixels (a model that takes any size): the two small tiles');
});

t.test('the scan before a detection is the last tile that could have found it there, ROI tiles included', async (t) => {
  // A model that takes any size (cost by pixels): two big grid tiles, small ROI tiles.
  const det: Detector = {
    ...gridDetector(),
    target: 'plate',
    model: { entry: { input: { width: 736, height: 736 }, minObjectPx: 16 } } as never,
    tiles: (w, h): Tile[] => tileGrid(w, h, 700, h, 120, 0),
    roiTile: (b: Box, w, h) => tileAround(b, 256, 128, w, h),
    tileCost: (r) => r.w * r.h,
  };
  const s = new TileScheduler(det, W, H, 2e9);
  s.commit(s.plan(0, 0, [], [])); // everything at 0
  const car = { x: 200, y: 300, w: 60, h: 30 };
  // Something moves there from 0.2 s: its ROI tile looks at the area at every scan.
  for (let i = 1; i <= 6; i++) {
    const plan = s.plan(i * 2e8, 2e8, [], [car]);
    t.ok(plan.run.some((r) => r.w === 256), `scan ${i} runs the ROI tile`);
    s.commit(plan);
  }
  const plan = s.plan(1.4e9, 2e8, [], [car]);
  t.equal(plan.lastScanNs(car), 1.2e9, 'a box found there now was not there at the ROI scan 0.2 s ago: its mask starts then');
  const elsewhere = { x: 1000, y: 600, w: 60, h: 30 };
  t.ok(plan.lastScanNs(elsewhere) < 1.2e9, 'elsewhere, the last sweep of the grid there');
  t.ok(plan.lastScanNs({ x: 100, y: 290, w: 300, h: 60 }) < 1.2e9, 'a box the ROI tile does not hold whole: the grid times alone');
});

t.test('nothing skipped counts as scanned: coarse and large ROI tiles do not stand in for the fine grid', async (t) => {
  const s = new TileScheduler(gridDetector(), W, H, 2e9);
  s.commit(s.plan(0, 0, [], [])); // the first scan runs everything
  t.equal(s.minObjectPx, 20, 'a 160 px grid tile on a 128 px input finds 20 px objects');
  t.equal(s.minSeenPx({ x: 0, y: 0, w: W, h: H }), 160, 'the whole frame (8x coarser) finds 160 px objects only');
  // A big moving thing: its ROI tile is 450 px, scaled down 2.8x more than a grid tile.
  const plan = s.plan(2e8, 2e8, [], [{ x: 400, y: 200, w: 300, h: 300 }]);
  const roi = plan.run.find((r) => r.w === 450)!;
  t.ok(roi, 'an ROI tile of 450 px runs');
  const inside = s.tiles.filter((g) => g.level === 0 && g.x >= roi.x && g.y >= roi.y && g.x + g.w <= roi.x + roi.w && g.y + g.h <= roi.y + roi.h);
  t.ok(inside.length > 0, `${inside.length} grid tiles lie wholly inside it`);
  const sweptInside = inside.filter((g) => plan.swept.includes(g) && !plan.run.includes(g));
  t.equal(sweptInside.length, 0, 'none of them counts as swept unless it ran itself');
  const face = { x: 500, y: 300, w: 24, h: 24 };
  const ranFine = plan.run.some((r) => r.level === 0 && r.w === 160 && face.x + 12 >= r.x && face.x + 12 < r.x + r.w && face.y + 12 >= r.y && face.y + 12 < r.y + r.h);
  t.equal(plan.scanned(face), ranFine, `a 24 px face there counts as looked at only if a fine tile ran over it (${ranFine})`);
  t.ok(plan.scanned({ x: 450, y: 250, w: 200, h: 200 }), 'a 200 px object inside the ROI was looked at');
  // A small ROI (level-0 size) does stand in for the grid tile it covers exactly.
  const small = s.plan(4e8, 2e8, [], [{ x: 10, y: 10, w: 30, h: 30 }]);
  t.ok(small.scanned({ x: 10, y: 10, w: 24, h: 24 }), 'a 24 px face inside a fine ROI tile was looked at');
});

/** Drives a scheduler through camera states; returns, per tile, the times it was looked at. */
function drive(states: CameraState[], gap = 2e8) {
  const s = new TileScheduler(gridDetector(), W, H, 2e9);
  const seen = new Map(s.tiles.map((x) => [x, [] as number[]]));
  const fullAtMoving: boolean[] = [];
  states.forEach((state, i) => {
    const tNs = i * gap;
    const plan = s.plan(tNs, i === 0 ? 0 : gap, [], [], state);
    s.commit(plan);
    for (const x of plan.swept) if (plan.run.includes(x)) seen.get(x)!.push(tNs);
    if (state !== 'stable') fullAtMoving.push(s.tiles.every((x) => plan.run.includes(x)));
  });
  let worst = 0;
  const end = (states.length - 1) * gap;
  for (const [, times] of seen) {
    const ts = [...times, end];
    for (let k = 1; k < ts.length; k++) worst = Math.max(worst, ts[k]! - ts[k - 1]!);
  }
  return { s, worst, fullAtMoving };
}

t.test('under a pan, a zoom and a shake every tile at every level is looked at within its period', async (t) => {
  const rnd = (() => {
    let x = 9;
    return () => ((x = (x * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  })();
  const runs: Record<string, CameraState[]> = {
    // 2 s still, a 6 s pan, 4 s still again.
    pan: [...Array(10).fill('stable'), ...Array(30).fill('moving'), ...Array(20).fill('stable')],
    // a zoom that starts with a cut to a preset.
    'cut + zoom': [...Array(10).fill('stable'), 'cut', ...Array(15).fill('moving'), ...Array(30).fill('stable')],
    // a shake: the camera is moving at a third of the scans, at random.
    shake: Array.from({ length: 60 }, (_, i) => (i > 5 && rnd() < 0.33 ? 'moving' : 'stable')),
  };
  for (const [name, states] of Object.entries(runs)) {
    const r = drive(states);
    const levels = [...new Set(r.s.tiles.map((x) => x.level))];
    t.comment(`${name}: ${r.s.tiles.length} tiles on levels ${levels.join(', ')}; worst gap between looks ${(r.worst / 1e6).toFixed(0)} ms (period 2000 ms); ${r.s.fullScans} full scans, ${r.s.extraTiles} extra tiles`);
    t.ok(r.worst <= 2e9, `${name}: no tile at any level waits longer than its period`);
    t.ok(r.fullAtMoving.every(Boolean), `${name}: at each of the ${r.fullAtMoving.length} moving/cut scans every tile at every level ran`);
    t.equal(r.s.fullScans, r.fullAtMoving.length, `${name}: full scans counted`);
  }
});

t.test('coverage log: degraded stretches for fast slews and repeated cuts, not for one clean cut', async (t) => {
  const log = new CoverageLog(120);
  const seq: [CameraState, number][] = [
    ['cut', 0], ['stable', 0], ['moving', 400], ['cut', 0], ['stable', 0], // one jump of 400 px, then a clean cut
    ['moving', 20], ['moving', 200], ['moving', 300], ['moving', 30], ['stable', 0], // a fast slew
    ['cut', 0], ['cut', 0], ['cut', 0], ['stable', 0], // a whip pan: nothing registers
  ];
  seq.forEach(([state, shift], i) => log.note(i * 1e8, (i - 1) * 1e8, state, shift));
  const d = log.finish();
  t.comment(`degraded: ${JSON.stringify(d)}`);
  t.equal(d.length, 2, 'two stretches');
  t.same([d[0]!.fromNs, d[0]!.toNs], [5e8, 7e8], 'the slew: from the last good scan to the last fast one');
  t.match(d[0]!.reason, /moved up to 300 px/, 'the reason names the largest shift');
  t.same([d[1]!.fromNs, d[1]!.toNs], [10e8, 12e8], 'the whip pan: the cuts after the first');
  t.equal(log.cuts, 4, 'cuts counted (not the first frame)');
});
