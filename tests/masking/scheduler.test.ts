/**
 * The scan scheduler on its own, with a detector stand-in that only describes its tiles
 * (the schedule does not depend on what a model finds): the grid is swept within its
 * period on a still camera, and the scan's areas are reported to the tracker correctly.
 */
import t from 'tap';
import { TileScheduler } from '../../src/masking/scheduler.js';
import { tileGrid, tileAround, type Detector, type Tile } from '../../src/masking/detectors/detector.js';
import type { Box } from '../../src/masking/geometry.js';

const W = 1280, H = 720;

/** Tiles like BlazeFace's at 1280x720: a fine grid (level 0) and the whole frame (level 1). */
function gridDetector(): Detector {
  return {
    target: 'face',
    model: undefined as never,
    scanEvery: 1,
    tiles: (w, h): Tile[] => [...tileGrid(w, h, 256, 256, 40, 0), { x: 0, y: 0, w, h, level: 1 }],
    roiTile: (b: Box, w, h) => tileAround(b, 256, 256, w, h),
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
    t.ok(plan.run.some((r) => r.level === 1), `scan ${i} runs the whole-frame level`);
  }
  let worst = 0;
  for (const [, times] of seen) for (let k = 1; k < times.length; k++) worst = Math.max(worst, times[k]! - times[k - 1]!);
  t.comment(`grid tiles: ${s.tiles.filter((x) => x.level === 0).length}, worst gap between sweeps ${(worst / 1e6).toFixed(0)} ms (period 2000 ms)`);
  t.ok(worst <= 2e9, 'no tile waits longer than the period');
});
