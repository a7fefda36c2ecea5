import t from 'tap';
import { Tracker, boxAt } from '../../src/masking/tracker.js';
import { applyMask, mosaicBlock } from '../../src/masking/styles.js';
import { i420Layout } from '../../src/media/frame.js';
import { RecordParser, encodeBufferHeader, encodeCapsRecord } from '../../src/media/records.js';

const face = (x: number, y: number, s = 40) => ({ x, y, w: s, h: s, score: 0.9, target: 'face' as const });
const always = () => true;

t.test('a track holds from the previous scan of its area to the last scan that missed it', async (t) => {
  const tr = new Tracker({ maxMisses: 2 });
  tr.update('face', 100, [face(10, 10)], always, () => 40);
  tr.update('face', 200, [face(20, 10)], always, () => 100);
  tr.update('face', 300, [], always, () => 200);
  tr.update('face', 400, [], always, () => 300);
  const [track] = tr.finish(1000);
  t.equal(tr.all().length, 1, 'one track');
  t.equal(track!.holdFromNs, 40, 'mask starts at the previous scan of the area');
  t.equal(track!.holdToNs, 400, 'mask holds through the scans that missed it');
  t.notOk(boxAt(track!, 39), 'nothing before');
  t.ok(boxAt(track!, 40), 'masked from the earlier scan');
  t.notOk(boxAt(track!, 401), 'nothing after');
});

t.test('between detections the box covers the path, never less than either end', async (t) => {
  const tr = new Tracker();
  tr.update('face', 0, [face(0, 0)], always, () => 0);
  tr.update('face', 100, [face(60, 0)], always, () => 0);
  const [track] = tr.finish(100);
  for (const tNs of [10, 50, 90]) {
    const b = boxAt(track!, tNs)!;
    const cx = (tNs / 100) * 60;
    t.ok(b.x <= cx && b.x + b.w >= cx + 40, `at ${tNs} the object's interpolated box is inside the mask`);
  }
});

t.test('a track not looked at in a scan is not counted as missed', async (t) => {
  const tr = new Tracker({ maxMisses: 1 });
  tr.update('face', 0, [face(0, 0)], always, () => 0);
  tr.update('face', 100, [], () => false, () => 0);
  t.ok(tr.all()[0]!.active, 'still followed');
  tr.update('face', 200, [], always, () => 0);
  t.notOk(tr.all()[0]!.active, 'ended after a real miss');
});

const person = (x: number, y: number, score = 0.8) => ({ x, y, w: 20, h: 50, score, target: 'person' as const });
const look = (v: number) => () => Float32Array.from({ length: 4 }, (_, i) => (i === v ? 1 : 0));

t.test('a weak detection continues a confirmed track but never starts one', async (t) => {
  const tr = new Tracker({ highScore: { person: 0.4 } });
  tr.update('person', 0, [person(0, 0)], always, () => 0);
  tr.update('person', 100, [person(2, 0)], always, () => 0);
  tr.update('person', 200, [person(4, 0, 0.2)], always, () => 0);
  t.equal(tr.all().length, 1, 'the weak detection continued the track');
  t.equal(tr.all()[0]!.points.length, 3);
  tr.update('person', 300, [person(4, 0, 0.5), person(300, 0, 0.2)], always, () => 0);
  tr.update('person', 400, [person(8, 0, 0.5), person(302, 0, 0.2)], always, () => 0);
  t.equal(tr.all().length, 1, 'weak detections alone start nothing, however often');
});

t.test('a second box on an object already matched is not a second object', async (t) => {
  const tr = new Tracker();
  tr.update('person', 0, [person(0, 0)], always, () => 0);
  tr.update('person', 100, [person(2, 0), { x: 4, y: 0, w: 14, h: 24, score: 0.7, target: 'person' as const }], always, () => 0);
  t.equal(tr.all().length, 1, 'the upper-body box of the same person is dropped');
  tr.update('person', 200, [person(4, 0), person(60, 0)], always, () => 0);
  t.equal(tr.all().length, 2, 'a person beside them is a new track');
});

t.test('one box around two people walking side by side is those two, not a third person', async (t) => {
  const tr = new Tracker();
  // Two walkers 22 px apart, as on real elevated footage (vtest.avi at 11.8 s: a 42x65
  // box around two 27 px wide walkers started a track whose head band covered both heads).
  tr.update('person', 0, [person(0, 0), person(22, 0)], always, () => 0);
  tr.update('person', 100, [person(2, 0), person(24, 0), { x: 1, y: 2, w: 44, h: 50, score: 0.45, target: 'person' as const }], always, () => 0);
  t.equal(tr.all().length, 2, 'the box around both is dropped');
  tr.update('person', 200, [person(4, 0), person(26, 0), { x: 30, y: 0, w: 40, h: 50, score: 0.6, target: 'person' as const }], always, () => 0);
  t.equal(tr.all().length, 3, 'a box that reaches well beyond them is someone else');
});

t.test('a person lost behind something is re-activated, not a new track', async (t) => {
  const tr = new Tracker({ maxMisses: 2, reactivateNs: 3e9 });
  tr.update('person', 0, [person(0, 0)], always, () => 0, look(0));
  tr.update('person', 2e8, [person(5, 0)], always, () => 0, look(0));
  tr.update('person', 4e8, [], always, () => 0);
  tr.update('person', 6e8, [], always, () => 0);
  t.notOk(tr.all()[0]!.active, 'lost after two misses');
  tr.update('person', 1.4e9, [person(40, 0)], always, () => 0, look(0));
  t.equal(tr.all().length, 1, 'found again as the same track');
  const only = tr.all()[0]!;
  t.ok(only.active);
  t.ok(only.points[2]!.reacquired, 'the first point after the gap says so');
  t.ok(boxAt(only, 1e9), 'the path through the gap is masked');
});

t.test('someone else in the same place is a new track (appearance differs)', async (t) => {
  const tr = new Tracker({ maxMisses: 1 });
  tr.update('person', 0, [person(0, 0)], always, () => 0, look(0));
  tr.update('person', 2e8, [], always, () => 0);
  tr.update('person', 8e8, [person(10, 0)], always, () => 0, look(3));
  t.equal(tr.all().length, 2, 'two people, two tracks');
});

t.test('a lost track is not re-activated after the window or far away', async (t) => {
  const tr = new Tracker({ maxMisses: 1, reactivateNs: 1e9 });
  tr.update('person', 0, [person(0, 0)], always, () => 0, look(0));
  tr.update('person', 1e8, [], always, () => 0);
  tr.update('person', 3e9, [person(2, 0)], always, () => 0, look(0));
  t.equal(tr.all().length, 2, 'too late: a new track');
  tr.update('person', 3.1e9, [], always, () => 0);
  tr.update('person', 3.2e9, [person(600, 0)], always, () => 0, look(0));
  t.equal(tr.all().length, 3, 'too far to have walked there: a new track');
});

t.test('a cut to another view ends every track just before it; none comes back in the new view', async (t) => {
  const tr = new Tracker({ maxMisses: 1 });
  tr.update('person', 0, [person(0, 0)], always, () => 0, look(0));
  tr.update('person', 100, [], always, () => 0);
  tr.update('person', 200, [person(300, 0)], always, () => 0, look(1));
  tr.cut(300);
  t.notOk(tr.all().some((x) => x.active), 'nothing followed across the cut');
  t.equal(tr.all()[1]!.holdToNs, 299, 'masked up to the cut');
  tr.update('person', 300, [person(2, 0)], always, () => 300, look(0));
  t.equal(tr.all().length, 3, 'the same place in the new view is a new track');
});

t.test('mosaic blocks leave at most about six blocks across, 8 px or more, never over half the box', async (t) => {
  t.equal(mosaicBlock({ x: 0, y: 0, w: 24, h: 24 }), 8);
  t.equal(mosaicBlock({ x: 0, y: 0, w: 300, h: 200 }), 50);
  t.equal(mosaicBlock({ x: 0, y: 0, w: 10, h: 12 }), 6, 'a 12 px head: two blocks, not one bigger than the head');
});

t.test('each style changes only the box, on every plane', async (t) => {
  const L = i420Layout(64, 48);
  for (const style of ['mosaic', 'blur', 'solid'] as const) {
    const d = new Uint8Array(L.size);
    for (let i = 0; i < d.length; i++) d[i] = (i * 37) & 0xff;
    const before = Uint8Array.from(d);
    applyMask(d, L, { x: 16, y: 8, w: 20, h: 20 }, style);
    t.equal(d[0], before[0], `${style}: outside unchanged`);
    let changedY = 0;
    for (let y = 8; y < 28; y++) for (let x = 16; x < 36; x++) if (d[y * L.yStride + x] !== before[y * L.yStride + x]) changedY++;
    t.ok(changedY > 300, `${style}: most luma in the box changed (${changedY}/400)`);
    t.not(d[L.uOffset + 10 * L.uvStride + 12], before[L.uOffset + 10 * L.uvStride + 12], `${style}: chroma changed`);
  }
});

t.test('the record parser reassembles frames split across chunks and rejects garbage', async (t) => {
  const p = new RecordParser();
  const payload = Buffer.alloc(1000, 7);
  const stream = Buffer.concat([encodeCapsRecord('video/x-raw'), encodeBufferHeader(5, 2, payload.length), payload]);
  for (let i = 0; i < stream.length; i += 13) p.push(stream.subarray(i, i + 13));
  t.same(p.next(), { kind: 'caps', caps: 'video/x-raw' });
  const b = p.next();
  t.equal(b?.kind, 'buffer');
  t.equal(b?.kind === 'buffer' && b.ptsNs, 5);
  t.equal(b?.kind === 'buffer' && b.data.length, 1000);
  t.equal(p.pendingBytes(), 0);
  const bad = new RecordParser();
  bad.push(Buffer.from('Xjunk'));
  t.throws(() => bad.next(), { code: 'PIPELINE_FAILED' });
});

t.test('a chain of weak boxes, each near the last, does not walk a track across the picture', async (t) => {
  const tr = new Tracker({ highScore: { person: 0.4 } });
  const s = 1e9 / 6;
  tr.update('person', 0, [person(0, 0)], always, () => 0);
  tr.update('person', s, [person(4, 0)], always, () => 0);
  // Weak boxes 40 px apart (two body widths) a scan: a cone, a post, a bag, a shadow.
  for (let i = 2; i < 8; i++) tr.update('person', i * s, [person(4 + (i - 1) * 40, 0, 0.2)], always, () => 0);
  const [track] = tr.finish(8 * s);
  t.equal(track!.points.length, 2, 'none of the weak boxes continued the track');
  t.ok(Math.max(...track!.points.map((p) => p.x)) <= 4, 'the track stayed where the person was');
});

t.test('weak boxes do not continue a track found confidently only once', async (t) => {
  const tr = new Tracker({ highScore: { person: 0.4 } });
  const s = 1e9 / 5;
  const box = (x: number, y: number, w: number, h: number, score: number) => ({ x, y, w, h, score, target: 'person' as const });
  tr.update('person', 0, [box(600, 370, 190, 264, 0.44)], always, () => 0);
  // The preset jump of tests/masking/moving-camera.test.ts: weak boxes taking in more
  // and more of the surroundings, each overlapping the last.
  tr.update('person', s, [box(608, 358, 269, 296, 0.23)], always, () => 0);
  tr.update('person', 2 * s, [box(605, 338, 423, 313, 0.17)], always, () => 0);
  const [track] = tr.finish(3 * s);
  t.equal(track!.points.length, 1, 'the tentative track only coasted');
  t.ok(track!.holdToNs >= 2 * s, 'its mask held through the scans that missed it');
});

t.test('a confident person detection further than a person can run is another person', async (t) => {
  const tr = new Tracker();
  const s = 1e9 / 6;
  tr.update('person', 0, [person(0, 0)], always, () => 0);
  // 70 px in a sixth of a second is 1.4 body heights: over 8 heights a second.
  tr.update('person', s, [person(0, 70)], always, () => 0);
  t.equal(tr.all().length, 2, 'a new track');
  const tf = new Tracker();
  tf.update('face', 0, [face(0, 0, 20)], always, () => 0);
  tf.update('face', s, [face(30, 0, 20)], always, () => 0);
  t.equal(tf.all().length, 1, 'a face one and a half of its sizes on, a scan later, is the same face');
});

t.test('a track no scan could miss is given up after its unseen limit, its mask held until then', async (t) => {
  const tr = new Tracker({ maxUnseenNs: { face: 4e9 } });
  tr.update('face', 0, [face(0, 0, 12)], always, () => 0);
  for (let tNs = 1e9; tNs <= 3e9; tNs += 1e9) tr.update('face', tNs, [], () => false, () => 0);
  t.ok(tr.all()[0]!.active, 'still followed within the limit');
  tr.update('face', 4e9, [], () => false, () => 0);
  const [track] = tr.finish(60e9);
  t.notOk(track!.active);
  t.equal(track!.holdToNs, 4e9, 'held until given up, not to the end of the footage');
});

t.test('a motion blob is re-activated only within a second', async (t) => {
  const blob = (x: number) => ({ x, y: 0, w: 40, h: 100, score: 1, target: 'motion' as const });
  const run = (x: number, atNs: number) => {
    const tr = new Tracker({ maxMisses: 1 });
    tr.update('motion', 0, [blob(0)], always, () => 0);
    tr.update('motion', 1e8, [], always, () => 0);
    tr.update('motion', atNs, [blob(x)], always, () => 0);
    return tr.all().length;
  };
  t.equal(run(20, 5e8), 1, 'found again where it was: the same track');
  t.equal(run(20, 1.5e9), 2, 'found where it was after more than a second: another blob');
});

t.test('the mask at an outlier detection still covers where its neighbours put the object', async (t) => {
  const pt = (tNs: number, x: number, y: number, w = 20, h = 50) => ({ tNs, x, y, w, h, score: 0.8 });
  // The middle box merged with a neighbour's at an occlusion: higher, offset, shorter.
  const track = { id: 1, target: 'person' as const, points: [pt(0, 100, 100), pt(100, 118, 60, 40, 60), pt(200, 104, 100)], holdFromNs: 0, holdToNs: 200, active: false, misses: 0 };
  const b = boxAt(track, 100)!;
  const truth = { x: 102, y: 100, w: 20, h: 50 };
  t.ok(b.x <= truth.x && b.y <= truth.y && b.x + b.w >= truth.x + truth.w && b.y + b.h >= truth.y + truth.h, 'the interpolated box is inside the mask');
});

const walkOut = (tr: Tracker) => {
  // A walker leaving at the right edge of a 200 px picture.
  for (const [tNs, x] of [[0, 140], [2e8, 165], [4e8, 180]] as const) tr.update('person', tNs, [person(x, 0)], always, () => 0, look(0));
};

t.test('a track that left the picture is not continued by a box merely near it', async (t) => {
  const wide = new Tracker({ picture: { width: 2000, height: 2000 } });
  walkOut(wide);
  wide.update('person', 1.4e9, [person(170, 40)], always, () => 0, look(0));
  t.equal(wide.all().length, 1, 'in a wider picture the walker is still there: the box near the prediction continues the track');
  const tr = new Tracker({ picture: { width: 200, height: 200 } });
  walkOut(tr);
  tr.update('person', 1.4e9, [person(170, 40)], always, () => 0, look(0));
  t.equal(tr.all().length, 2, 'at the edge the walker left: the box near where they went out is someone else');
  t.equal(tr.all()[0]!.points.length, 3, 'the track that left kept only its own detections');
});

t.test('a track that left the picture is not re-activated by whoever comes in there later', async (t) => {
  const comeBack = (tr: Tracker) => {
    walkOut(tr);
    for (const tNs of [6e8, 8e8]) tr.update('person', tNs, [], always, () => 0);
    t.notOk(tr.all()[0]!.active, 'lost after the misses');
    tr.update('person', 2e9, [person(178, 0)], always, () => 0, look(0));
    return tr.all().length;
  };
  t.equal(comeBack(new Tracker({ maxMisses: 2, picture: { width: 2000, height: 2000 } })), 1, 'lost inside the picture (behind something): re-activated');
  t.equal(comeBack(new Tracker({ maxMisses: 2, picture: { width: 200, height: 200 } })), 2, 'lost outside it: a new track, however alike');
});
