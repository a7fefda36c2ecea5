/**
 * Range planning and the probe's text parsers, without media: overlaps, sub-frame holes,
 * damaged files' assumed extents, and gst tool output as this GStreamer version prints it.
 */
import t from 'tap';
import { planRange, type PlanEntry } from '../../src/media/catalog-plan.js';
import { parseDiscovererOutput } from '../../src/media/segment-probe.js';
import { ScanParser } from '../../src/media/catalog-scan.js';

const BASE = Date.parse('2026-11-25T10:00:00Z');
const at = (s: number) => new Date(BASE + s * 1000);

function seg(file: string, startS: number, seconds: number, o: { firstNs?: number; fps?: number } = {}): PlanEntry {
  const firstNs = o.firstNs ?? 0;
  return {
    file,
    start: at(startS),
    media: { container: 'mp4', codec: 'h264', width: 320, height: 240, framerate: o.fps ?? 10, firstNs, endNs: firstNs + seconds * 1e9, durationNs: seconds * 1e9, frames: seconds * (o.fps ?? 10) },
  };
}
const bad = (file: string, startS: number): PlanEntry => ({ file, start: at(startS), reason: 'garbage' });
const spans = (p: ReturnType<typeof planRange>) => p.pieces.map((x) => [x.file, x.inpointNs / 1e9, x.outpointNs / 1e9]);
const gaps = (p: ReturnType<typeof planRange>) => p.gaps.map((g) => [(g.from.getTime() - BASE) / 1000, (g.to.getTime() - BASE) / 1000]);

t.test('pieces, in- and outpoints, leading, inner and trailing gaps', async (t) => {
  const p = planRange('c', at(-2), at(20), [seg('b', 10, 5), seg('a', 0, 5)]);
  t.same(spans(p), [['a', 0, 5], ['b', 0, 5]]);
  t.same(gaps(p), [[-2, 0], [5, 10], [15, 20]]);
  const q = planRange('c', at(2.5), at(11.25), [seg('a', 0, 5), seg('b', 10, 5)]);
  t.same(spans(q), [['a', 2.5, 5], ['b', 0, 1.25]]);
  t.same(gaps(q), [[5, 10]]);
  t.equal(q.pieces[0]!.segmentEnd.toISOString(), at(5).toISOString());
});

t.test('overlaps: the later segment starts where the earlier ends; contained ones drop out', async (t) => {
  const p = planRange('c', at(0), at(20), [seg('a', 0, 10), seg('b', 8, 5), seg('inner', 2, 3), seg('c', 12, 8)]);
  t.same(spans(p), [['a', 0, 10], ['b', 2, 5], ['c', 1, 8]]);
  t.same(p.gaps, []);
  // Instants covered exactly once: the pieces' wall-clock spans tile the range.
  const tiles = p.pieces.map((x) => [x.segmentStart.getTime() + x.inpointNs / 1e6, x.segmentStart.getTime() + x.outpointNs / 1e6]);
  for (let i = 1; i < tiles.length; i++) t.equal(tiles[i]![0], tiles[i - 1]![1]);
});

t.test('a hole shorter than one frame is no gap; a frame-long hole is', async (t) => {
  const p = planRange('c', at(0), at(10), [seg('a', 0, 4.95), seg('b', 5, 5)]);
  t.same(p.gaps, [], '50 ms at 10 fps');
  const q = planRange('c', at(0), at(10), [seg('a', 0, 4.9), seg('b', 5, 5)]);
  t.same(gaps(q), [[4.9, 5]], '100 ms at 10 fps');
});

t.test('stream time that does not start at 0 (TS) is honoured exactly', async (t) => {
  const p = planRange('c', at(0), at(10), [seg('ts1', 0, 5, { firstNs: 125e6 }), seg('ts2', 5, 5, { firstNs: 125e6 })]);
  t.same(spans(p), [['ts1', 0.125, 5.125], ['ts2', 0.125, 5]], 'the next TS file picks up where the last ended');
  t.same(gaps(p), [[0, 0.125]], 'only the lead-in before the first frame');
  const odd = planRange('c', at(0), at(1), [seg('x', 0, 3, { firstNs: 33_366_667, fps: 30 })]);
  t.equal(odd.pieces[0]!.inpointNs, 33_366_667, 'ns offsets survive epoch-sized arithmetic');
});

t.test('damaged files: assumed to last until the next file starts, reported only when that meets the range', async (t) => {
  const entries = [seg('a', 0, 5), bad('broken', 10), seg('b', 20, 5), bad('last', 30)];
  const probs = (from: number, to: number) => planRange('c', at(from), at(to), entries).problems.map((p) => p.file);
  t.same(probs(0, 4), []);
  t.same(probs(0, 10), [], 'range ends where the damaged file starts');
  t.same(probs(0, 10.001), ['broken']);
  t.same(probs(15, 18), ['broken'], 'inside its assumed extent');
  t.same(probs(20, 24), [], 'after the next file starts');
  t.same(probs(100, 200), ['last'], 'the last file has no known end');
  t.match(planRange('c', at(12), at(14), entries), { pieces: [], gaps: [], problems: [{ file: 'broken', reason: 'garbage' }] });
});

t.test('gst-discoverer-1.0 -v output is parsed robustly', async (t) => {
  const ok = `Analyzing file:///r/cam1/a.mp4
Done discovering file:///r/cam1/a.mp4

Properties:
  Duration: 0:00:03.000000000
  Seekable: yes
  Tags:
      video codec: H.264 / AVC
      container format: ISO MP4/M4A
  container #0: video/quicktime, variant=(string)iso
    Tags:
      container format: ISO MP4/M4A
    audio #1: audio/mpeg, mpegversion=(int)4, rate=(int)48000
      Sample rate: 48000
    video #2: video/x-h264, stream-format=(string)avc, alignment=(string)au, width=(int)1920, height=(int)1080, framerate=(fraction)30000/1001, parsed=(boolean)true
      Width: 1920
      Height: 1080
      Frame rate: 30000/1001
    video #3: video/x-h265, width=(int)640, height=(int)360, framerate=(fraction)5/1
      Width: 640
`;
  const d = parseDiscovererOutput(ok);
  t.equal(d.container, 'video/quicktime');
  t.match(d.videoCaps, /^video\/x-h264/);
  t.equal(d.width, 1920, 'first video stream only');
  t.equal(d.height, 1080);
  t.ok(Math.abs(d.framerate! - 29.97) < 0.001);
  t.equal(d.durationNs, 3e9);
  t.notOk(d.error);

  const noCaps = parseDiscovererOutput('  Duration: 0:01:00.5\n  container: MPEG-2 Transport Stream\n    video: H.264 (Main)\n      Width: 704\n      Height: 576\n      Frame rate: 0/1\n');
  t.equal(noCaps.durationNs, 60.5e9);
  t.same([noCaps.width, noCaps.height, noCaps.framerate], [704, 576, undefined], 'plain output and a variable frame rate');

  const err = parseDiscovererOutput('Analyzing file:///x\nDone discovering file:///x\nAn error was encountered while discovering the file\n Could not determine type of stream.\n\n');
  t.equal(err.error, 'Could not determine type of stream.');
  t.same(parseDiscovererOutput(''), {});
});

t.test('frame timestamps are read as stream time', async (t) => {
  const p = new ScanParser(1e8);
  const chain = (pts: string, dur = '0:00:00.100000000') =>
    `/GstPipeline:pipeline0/GstFakeSink:fakesink0: last-message = chain   ******* (fakesink0:sink) (781 bytes, dts: none, pts: ${pts}, duration: ${dur}, offset: 1, offset_end: -1, flags: 00002200 marker delta-unit , meta: none) 0x55`;
  p.line('/GstPipeline:pipeline0/GstFakeSink:fakesink0: last-message = event   ******* (fakesink0:sink) E (type: segment (17934), GstEventSegment, segment=(GstSegment)"segment, flags=(GstSegmentFlags)GST_SEGMENT_FLAG_NONE, rate=(double)1, applied-rate=(double)1, format=(GstFormat)time, base=(guint64)0, offset=(guint64)0, start=(guint64)1000000000, stop=(guint64)18446744073709551615, time=(guint64)0, position=(guint64)1000000000, duration=(guint64)18446744073709551615;";) 0x7f');
  p.line(chain('0:00:00.900000000'));
  p.line(chain('0:00:01.000000000'));
  p.line(chain('0:00:01.200000000', 'none'));
  p.line(chain('0:00:01.100000000'));
  p.line(chain('none'));
  p.line('/GstPipeline:pipeline0/GstH264Parse:h264parse0.GstPad:src: caps = video/x-h264, width=(int)320');
  t.same([p.frames, p.firstNs, p.endNs], [3, 0, 0.3e9], 'clipped and untimed frames skipped; reordered frames handled');
});
