import t from 'tap';
import { CameraPathBuilder, carry, poseAt, STILL_PATH } from '../../src/masking/camera-path.js';
import { IDENTITY, type Similarity } from '../../src/masking/camera-motion.js';
import { predict, rawBoxAt, Tracker, type Track } from '../../src/masking/tracker.js';
import { area } from '../../src/masking/geometry.js';

const shift = (dx: number, dy: number): Similarity => ({ a: 1, b: 0, tx: dx, ty: dy });
const ms = (n: number) => n * 1e6;

t.test('the path carries a box the way the picture moved, and says where it does not know', async (t) => {
  const p = new CameraPathBuilder();
  p.scan(0, 'cut', IDENTITY);
  p.frame(ms(33), undefined); // still at the last scan: not registered
  p.scan(ms(66), 'moving', shift(10, 0)); // the picture moved 10 px right since the key (scan 0)
  p.frame(ms(100), shift(4, 0)); // 4 px right of scan 66's picture
  p.frame(ms(133), null); // not registered
  p.scan(ms(166), 'stable', IDENTITY);
  const path = p.finish();
  t.same(carry(path, { x: 0, y: 0, w: 10, h: 10 }, 0, ms(66)), { x: 10, y: 0, w: 10, h: 10 }, 'scan to scan');
  t.same(carry(path, { x: 10, y: 0, w: 10, h: 10 }, ms(66), ms(100)), { x: 14, y: 0, w: 10, h: 10 }, 'scan to a registered frame between scans');
  t.same(carry(path, { x: 14, y: 0, w: 10, h: 10 }, ms(100), 0), { x: 0, y: 0, w: 10, h: 10 }, 'and back');
  t.equal(carry(path, { x: 0, y: 0, w: 10, h: 10 }, 0, ms(33)), undefined, 'a frame taken as still before a scan that found the picture moved is not known');
  t.equal(carry(path, { x: 0, y: 0, w: 10, h: 10 }, 0, ms(133)), undefined, 'nor is a frame that could not be registered');
  t.same(poseAt(path, ms(166)), shift(-10, 0), 'a still scan after them knows the pose again');
  t.same(poseAt(path, ms(500)), shift(-10, 0), 'the pose holds until the next one');

  const still = new CameraPathBuilder();
  still.scan(0, 'cut', IDENTITY);
  for (let i = 1; i < 30; i++) (i % 3 ? still.frame(ms(33 * i), undefined) : still.scan(ms(33 * i), 'stable', IDENTITY));
  t.equal(still.finish().length, 1, 'a still camera is one pose');
  t.equal(new CameraPathBuilder().finish(), STILL_PATH);
});

t.test('between two scans, the mask of a thing still in the scene follows the camera, not the hull of both ends', async (t) => {
  // A shake: the picture goes 12 px right and back between two scans 200 ms apart.
  const offsets = [0, 6, 12, 6, 0];
  const p = new CameraPathBuilder();
  p.scan(0, 'cut', IDENTITY);
  p.scan(ms(1), 'moving', shift(0.5, 0));
  for (let i = 1; i < 4; i++) p.frame(ms(1 + 50 * i), shift(offsets[i]! - 0.5, 0));
  p.scan(ms(201), 'moving', shift(offsets[4]! - 0.5, 0));
  const path = p.finish();
  // Seen at x 100.5 in the first scan's picture and 100 in the last's: one place in the scene.
  const face = { x: 100.5, y: 100, w: 40, h: 40, score: 0.9 };
  const track: Track = { id: 1, target: 'face', active: false, misses: 0, holdFromNs: ms(1), holdToNs: ms(201), points: [{ ...face, tNs: ms(1) }, { ...face, x: 100, tNs: ms(201) }] };
  for (let i = 1; i < 4; i++) {
    const tNs = ms(1 + 50 * i);
    const followed = rawBoxAt(track, tNs, undefined, path)!;
    t.ok(Math.abs(followed.x - (100 + offsets[i]!)) < 1e-9 && followed.w === 40, `frame ${i}: the face's box where the camera put it (${followed.x.toFixed(1)})`);
    const unknown = rawBoxAt(track, tNs)!;
    t.ok(area(unknown) >= area(followed), 'a still camera assumed: never smaller');
  }
  // Where the frames between could not be registered, the screen path is covered as before.
  const blind = new CameraPathBuilder();
  blind.scan(0, 'cut', IDENTITY);
  blind.scan(ms(1), 'moving', shift(0.5, 0));
  for (let i = 1; i < 4; i++) blind.frame(ms(1 + 50 * i), null);
  blind.scan(ms(201), 'moving', shift(-0.5, 0));
  t.same(rawBoxAt(track, ms(101), undefined, blind.finish()), rawBoxAt(track, ms(101)), 'unknown poses: the box a still camera would give');
});

t.test('predictions and re-activation work in the scene: a shake moves nothing that stands still', async (t) => {
  // The picture shakes 10 px right and back at every scan; a face stands still in the scene.
  const p = new CameraPathBuilder();
  p.scan(0, 'cut', IDENTITY);
  const xs = [100, 110, 100, 110];
  for (let i = 1; i < 4; i++) p.scan(ms(200 * i), 'moving', shift(xs[i]! - xs[i - 1]!, 0));
  const path = p.finish();
  const face = (i: number) => ({ x: xs[i]!, y: 50, w: 40, h: 40, score: 0.9, tNs: ms(200 * i) });
  const track: Track = { id: 1, target: 'face', active: true, misses: 0, holdFromNs: 0, holdToNs: ms(400), points: [face(0), face(1), face(2)] };
  t.equal(predict(track, ms(600), path).x, 110, 'predicted where the camera put it at the next scan');
  t.not(predict(track, ms(600)).x, 110, 'a still camera assumed: the screen motion taken for the face\'s own');

  // Lost for a scan, found again where the camera moved it: the same track.
  const live = new CameraPathBuilder();
  const tr = new Tracker({ camera: live.sofar });
  const at = (i: number, x: number) => [{ x, y: 50, w: 40, h: 40, score: 0.9, target: 'face' as const }];
  live.scan(0, 'cut', IDENTITY);
  tr.update('face', 0, at(0, 100), () => true, () => 0);
  live.scan(ms(200), 'stable', IDENTITY);
  tr.update('face', ms(200), at(1, 100), () => true, () => 0);
  for (let i = 2; i < 6; i++) {
    live.scan(ms(200 * i), 'moving', shift(45, 0));
    tr.update('face', ms(200 * i), [], () => true, () => 0);
  }
  // The picture moved 4 x 45 px while the face went unseen: 280 px from where it was seen.
  live.scan(ms(1200), 'stable', IDENTITY);
  tr.update('face', ms(1200), at(6, 280), () => true, () => 0);
  const faces = tr.finish(ms(1200));
  t.equal(faces.length, 1, 'one track: re-activated where the camera put it');
});
