/**
 * The motion safety net on synthetic pictures where what moves is known exactly: a far
 * walker crawling a pixel per scan stays movement; the ghost of a person who was in the
 * first frame and left fades and is not reported as movement.
 */
import t from 'tap';
import { MotionDetector } from '../../src/masking/motion.js';
import { i420Layout, type Frame } from '../../src/media/frame.js';
import { intersection, type Box } from '../../src/masking/geometry.js';

const W = 480, H = 270, HZ = 6;
const layout = i420Layout(W, H);

/** A textured grey background with dark boxes painted on it. */
function frame(index: number, boxes: Box[]): Frame {
  const data = Buffer.alloc(layout.size, 128);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[y * layout.yStride + x] = 110 + ((x * 7 + y * 13) % 40);
  for (const b of boxes) for (let y = b.y; y < b.y + b.h; y++) for (let x = b.x; x < b.x + b.w; x++) data[y * layout.yStride + x] = 30;
  return { tNs: Math.round((index * 1e9) / HZ), durationNs: Math.round(1e9 / HZ), index, layout, data };
}

t.test('a walker crawling a pixel a scan stays movement for as long as they walk', async (t) => {
  const m = new MotionDetector(W, H);
  let reported = 0;
  const scans = 10 * HZ;
  for (let i = 0; i < scans; i++) {
    const walker = { x: 100 + i, y: 100, w: 12, h: 30 };
    m.update(frame(i, [walker]));
    const found = m.unexplained([]);
    if (i >= HZ && found.some((d) => intersection(d, walker) > 0)) reported++;
  }
  t.comment(`slow walker reported at ${reported} of ${scans - HZ} scans after the first second`);
  t.equal(reported, scans - HZ, 'at every scan');
});

t.test('the ghost of a person who was there at the start and left is gone within seconds', async (t) => {
  const m = new MotionDetector(W, H);
  const stood = { x: 300, y: 120, w: 14, h: 34 };
  m.update(frame(0, [stood]));
  let lastGhost = -1;
  for (let i = 1; i < 10 * HZ; i++) {
    m.update(frame(i, []));
    if (m.unexplained([]).some((d) => intersection(d, stood) > 0)) lastGhost = i;
  }
  t.comment(`ghost last reported at scan ${lastGhost} (${(lastGhost / HZ).toFixed(1)} s)`);
  t.ok(lastGhost < 2 * HZ, `not reported after 2 s (last at ${(lastGhost / HZ).toFixed(1)} s)`);
});

t.test('a walker the tracker explains (box a few px tight) leaves no leftover, one beside it is still reported', async (t) => {
  const m = new MotionDetector(W, H);
  let leftovers = 0, beside = 0;
  // A second of empty scene, then one walker, then a second walker beside the first.
  for (let i = 0; i < 5 * HZ; i++) {
    const walker = { x: 100 + 3 * i, y: 100, w: 14, h: 34 };
    const other = { x: walker.x + 40, y: 100, w: 14, h: 34 };
    m.update(frame(i, i < HZ ? [] : i < 3 * HZ ? [walker] : [walker, other]));
    if (i < 2 * HZ) continue;
    // The tracker's box is a little tight (detector boxes cut a few pixels): the walker's
    // edge cells and the foreground's one-cell dilation around it are its own.
    const found = m.unexplained([{ x: walker.x + 2, y: walker.y + 2, w: walker.w - 4, h: walker.h - 4 }]);
    if (i < 3 * HZ) leftovers += found.length;
    else if (found.some((d) => intersection(d, other) > 0)) beside++;
  }
  t.equal(leftovers, 0, 'no unexplained motion around an explained walker');
  t.equal(beside, 2 * HZ, 'a second walker 26 px beside it is unexplained motion at every scan');
});
