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

t.test('mosaic blocks leave at most about six blocks across and never under 8 px', async (t) => {
  t.equal(mosaicBlock({ x: 0, y: 0, w: 24, h: 24 }), 8);
  t.equal(mosaicBlock({ x: 0, y: 0, w: 300, h: 200 }), 50);
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
