/**
 * resolveRange on real segments: ranges across segments and gaps, starting and ending
 * inside files, overlaps, all three containers in one range, damaged files reported
 * only when they meet the range, layouts in zones with DST, and the error cases. Where
 * the native runner is built, the plan is decoded and the frames' times checked against
 * the range, so in- and outpoints are proven in the decoder's own time scale.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openCatalog, type RangePlan } from '../../src/media/catalog.js';
import { decodePieces } from '../../src/media/decode.js';
import { loadProfiles } from '../../src/media/profiles.js';
import { makeRecordingsTree } from '../helpers/footage.js';

const T0 = Date.parse('2026-11-25T10:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000);
const FRAME = 1e8; // 10 fps, the helper's default

const runner = existsSync(fileURLToPath(new URL('../../build/gst-run', import.meta.url))) || !!process.env['VEILPORT_GST_RUN'];
const software = loadProfiles().find((p) => p.name === 'software');

/** Frame times (ns from plan.from) as the export engine will decode them; undefined without a runner. */
async function decodedTimes(plan: RangePlan): Promise<number[] | undefined> {
  if (!runner || !software) return undefined;
  const times: number[] = [];
  for await (const f of decodePieces(plan.pieces, { profile: software, from: plan.from, to: plan.to })) times.push(f.tNs);
  return times;
}

const near = (a: number, b: number, tol = FRAME) => Math.abs(a - b) <= tol;
const spans = (p: RangePlan) => p.pieces.map((x) => [x.file.split('/').pop(), x.inpointNs / 1e9, x.outpointNs / 1e9]);

t.test('a range across two segments and the gap between them', async (t) => {
  const root = t.testdir();
  await makeRecordingsTree(root, 'cam1', [
    { start: at(0), seconds: 4, container: 'mp4' },
    { start: at(7), seconds: 4, container: 'mkv' },
  ]);
  const plan = await openCatalog({ root }).resolveRange('cam1', at(1.5), at(9.25));
  t.same(spans(plan), [['10-00-00.mp4', 1.5, 4], ['10-00-07.mkv', 0, 2.25]]);
  t.same(plan.gaps, [{ from: at(4), to: at(7) }], 'gap reported with its exact times, not filled');
  t.same(plan.problems, []);
  t.match(plan.pieces[0], { container: 'mp4', codec: 'h264', width: 320, height: 240, framerate: 10, segmentStart: at(0), segmentEnd: at(4) });
  const times = await decodedTimes(plan);
  if (times) {
    t.ok(near(times[0]!, 0), `first frame ${times[0]! / 1e6} ms after from`);
    t.notOk(times.some((x) => x > 2.5e9 + FRAME / 2 && x < 5.5e9 - FRAME / 2), 'no frames in the gap');
    t.ok(times.some((x) => near(x, 5.5e9, FRAME / 2)), 'the second file starts right after the gap');
    t.ok(near(times.at(-1)!, 7.75e9 - FRAME), `last frame ${times.at(-1)! / 1e9} s`);
    t.ok(Math.abs(times.length - (25 + 23)) <= 2, `${times.length} frames`);
  }
});

t.test('start and end inside one segment, within one frame', async (t) => {
  const root = t.testdir();
  await makeRecordingsTree(root, 'cam1', [{ start: at(0), seconds: 6, container: 'mkv', fps: 25 }]);
  const plan = await openCatalog({ root }).resolveRange('cam1', at(1.23), at(4.56));
  t.same(spans(plan), [['10-00-00.mkv', 1.23, 4.56]]);
  t.same(plan.gaps, []);
  const times = await decodedTimes(plan);
  if (times) {
    t.ok(near(times[0]!, 0, 4e7), `first frame ${times[0]! / 1e6} ms after from`);
    t.ok(times.at(-1)! < 3.33e9 && near(times.at(-1)!, 3.33e9, 4e7), `last frame ${times.at(-1)! / 1e9} s`);
    t.ok(Math.abs(times.length - 3.33 * 25) <= 1, `${times.length} frames`);
  }
});

t.test('overlapping segments: no instant emitted twice', async (t) => {
  const root = t.testdir();
  await makeRecordingsTree(root, 'cam1', [
    { start: at(0), seconds: 5 },
    { start: at(3), seconds: 5 },
  ]);
  const plan = await openCatalog({ root }).resolveRange('cam1', at(0), at(8));
  t.same(spans(plan), [['10-00-00.mp4', 0, 5], ['10-00-03.mp4', 2, 5]], "the later one's inpoint is trimmed");
  t.same(plan.gaps, []);
  const times = await decodedTimes(plan);
  if (times) {
    t.ok(times.every((x, i) => i === 0 || x > times[i - 1]!), 'frame times strictly increase');
    t.ok(Math.abs(times.length - 80) <= 1, `${times.length} frames for 8 s`);
  }
});

t.test('MP4, TS and MKV in one range; TS stream time starts after 0', async (t) => {
  const root = t.testdir();
  await makeRecordingsTree(root, 'cam1', [
    { start: at(0), seconds: 3, container: 'mp4' },
    { start: at(3), seconds: 3, container: 'ts' },
    { start: at(6), seconds: 3, container: 'mkv' },
  ]);
  const plan = await openCatalog({ root }).resolveRange('cam1', at(1), at(8));
  t.same(plan.pieces.map((p) => p.container), ['mp4', 'ts', 'mkv']);
  const [, ts, mkv] = plan.pieces;
  t.ok(near(ts!.inpointNs, 0.125e9, 1e6), `TS from its first frame (${ts!.inpointNs / 1e9} s)`);
  t.ok(near(mkv!.inpointNs, (ts!.segmentEnd.getTime() - at(6).getTime()) * 1e6, 1e6), 'MKV trimmed to start where the TS ended');
  t.ok(near(mkv!.inpointNs, 0.125e9, 1e6), `by the TS offset (${mkv!.inpointNs / 1e9} s)`);
  t.same(plan.gaps.map((g) => [g.from.getTime() - T0, g.to.getTime() - T0]), [[3000, 3125]], 'the TS lead-in is a gap of more than a frame');
  const times = await decodedTimes(plan);
  if (times) {
    t.ok(times.every((x, i) => i === 0 || x > times[i - 1]!), 'frame times strictly increase');
    t.ok(times.some((x) => near(x, 2.125e9, 1e6)), 'the first TS frame lands 125 ms after the file start');
    t.ok(Math.abs(times.length - (7 - 0.125) * 10) <= 2, `${times.length} frames`);
  }
});

t.test('damaged segments are problems only when they meet the range', async (t) => {
  const root = t.testdir();
  const made = await makeRecordingsTree(root, 'cam1', [
    { start: at(0), seconds: 3 },
    { start: at(5), seconds: 5, container: 'mkv', kind: 'truncated' },
    { start: at(10), kind: 'garbage' },
    { start: at(15), seconds: 3 },
    { start: at(20), seconds: 3 },
  ]);
  const cat = openCatalog({ root });
  const names = async (a: number, b: number) => (await cat.resolveRange('cam1', at(a), at(b))).problems.map((p) => p.file);
  t.same(await names(0, 2), []);
  t.same(await names(20, 22), []);
  t.same(await names(16, 21), []);
  t.same(await names(1, 6), [made[1]!.path]);
  t.same(await names(11, 16), [made[2]!.path]);
  t.same(await names(1, 16), [made[1]!.path, made[2]!.path]);
  const only = await cat.resolveRange('cam1', at(6), at(8));
  t.same(only.pieces, [], 'footage that exists but cannot be read is a plan the engine refuses, not "no footage"');
  t.match(only.problems, [{ file: made[1]!.path, reason: /truncated/ }]);
  await t.rejects(cat.resolveRange('cam1', at(3.5), at(4.5)), { code: 'NOT_FOUND', message: /no footage between/ });
});

t.test('errors: unknown camera, bad ranges, unsafe names, no footage, missing root', async (t) => {
  const root = t.testdir();
  await makeRecordingsTree(root, 'cam1', [{ start: at(0), seconds: 2 }]);
  await makeRecordingsTree(root, 'lobby', [{ start: at(0), seconds: 2 }]);
  const cat = openCatalog({ root });
  await t.rejects(cat.resolveRange('cam9', at(0), at(1)), { code: 'NOT_FOUND', message: /no camera "cam9".*cameras: cam1, lobby/ });
  await t.rejects(cat.segments('cam9'), { code: 'NOT_FOUND' });
  await t.rejects(cat.resolveRange('cam1', at(1), at(1)), { code: 'BAD_INPUT', message: /empty/ }, 'empty range');
  await t.rejects(cat.resolveRange('cam1', at(2), at(1)), { code: 'BAD_INPUT', message: /ends .* before it starts/ }, 'reversed range');
  await t.rejects(cat.resolveRange('cam1', new Date('nonsense'), at(1)), { code: 'BAD_INPUT' });
  await t.rejects(cat.resolveRange('cam1', at(0), new Date(NaN)), { code: 'BAD_INPUT' });
  for (const bad of ['..', '.', '', 'a/b', '../cam1', 'cam1/..', 'a\\b', 'cam\0']) {
    await t.rejects(cat.resolveRange(bad, at(0), at(1)), { code: 'BAD_INPUT' }, JSON.stringify(bad));
    await t.rejects(cat.segments(bad), { code: 'BAD_INPUT' });
  }
  await t.rejects(cat.resolveRange('cam1', at(3600), at(3700)), { code: 'NOT_FOUND', message: /cam1.*no footage/ });
  await t.rejects(openCatalog({ root: `${root}/missing` }).cameras(), { code: 'NOT_FOUND', message: /missing/ });
});

t.test('a custom layout in Europe/Berlin across the spring DST change', async (t) => {
  const root = t.testdir();
  const layout = '{camera}/{YYYY}{MM}{DD}_{hh}{mm}{ss}.{ext}';
  const timeZone = 'Europe/Berlin';
  const made = await makeRecordingsTree(root, 'gate', [
    { start: '2025-03-30T00:59:57Z', seconds: 3 },
    { start: '2025-03-30T01:00:02Z', seconds: 3, container: 'ts' },
  ], { layout, timeZone });
  t.same(made.map((m) => m.path.slice(root.length + 1)), ['gate/20250330_015957.mp4', 'gate/20250330_030002.ts'], 'names in local time');
  const cat = openCatalog({ root, layout, timeZone });
  const plan = await cat.resolveRange('gate', new Date('2025-03-30T00:59:58Z'), new Date('2025-03-30T01:00:04Z'));
  t.same(spans(plan).map(([f, a]) => [f, a]), [['20250330_015957.mp4', 1], ['20250330_030002.ts', 0.125]]);
  t.same(plan.gaps, [{ from: new Date('2025-03-30T01:00:00Z'), to: new Date('2025-03-30T01:00:02.125Z') }], 'one real gap, not an hour');
  await t.rejects(openCatalog({ root, layout, timeZone: 'UTC' }).resolveRange('gate', new Date('2025-03-30T00:59:58Z'), new Date('2025-03-30T01:00:04Z')), { code: 'NOT_FOUND' }, 'read in the wrong zone the same names are hours away');
});

t.test('Asia/Seoul default layout across local midnight', async (t) => {
  const root = t.testdir();
  const made = await makeRecordingsTree(root, 'cam1', [
    { start: '2026-11-25T14:59:58Z', seconds: 4 },
    { start: '2026-11-25T15:00:02Z', seconds: 4 },
  ], { timeZone: 'Asia/Seoul' });
  t.same(made.map((m) => m.path.slice(root.length + 1)), ['cam1/2026-11-25/23-59-58.mp4', 'cam1/2026-11-26/00-00-02.mp4']);
  const plan = await openCatalog({ root, timeZone: 'Asia/Seoul' }).resolveRange('cam1', new Date('2026-11-25T14:59:59Z'), new Date('2026-11-25T15:00:05Z'));
  t.same(spans(plan), [['23-59-58.mp4', 1, 4], ['00-00-02.mp4', 0, 3]]);
  t.same(plan.gaps, []);
});

t.test('look-back bound: files starting long before the range are not read', async (t) => {
  const root = t.testdir();
  await makeRecordingsTree(root, 'cam1', [{ start: at(0), seconds: 10 }]);
  t.same(spans(await openCatalog({ root }).resolveRange('cam1', at(6), at(8))), [['10-00-00.mp4', 6, 8]]);
  await t.rejects(openCatalog({ root, maxSegmentSeconds: 5 }).resolveRange('cam1', at(6), at(8)), { code: 'NOT_FOUND' });
});
