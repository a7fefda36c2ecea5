/**
 * Segments probed from real media made by GStreamer: every container and codec, the
 * durations that were generated (within a frame), damaged files reported by name and
 * reason, files outside the layout, the probe cache, and file hashes.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openCatalog, hashFile } from '../../src/media/catalog.js';
import { probeSegment } from '../../src/media/segment-probe.js';
import { hasElement, makeRecordingsTree, makeSegment, makeTruncatedCopy, type TreeSegmentSpec } from '../helpers/footage.js';

const H265 = hasElement('x265enc') && hasElement('h265parse');

t.test('MP4, MKV and TS, H.264 and H.265: format, size, rate and duration from the media', async (t) => {
  const root = t.testdir();
  const specs: TreeSegmentSpec[] = [
    { start: '2026-11-25T10:00:00Z', container: 'mp4', seconds: 3, fps: 10 },
    { start: '2026-11-25T10:01:00Z', container: 'mkv', seconds: 2.4, fps: 25, width: 352, height: 288 },
    // Short TS: gst-discoverer-1.0 reports its duration as 0; the frames tell the truth.
    { start: '2026-11-25T10:02:00Z', container: 'ts', seconds: 3, fps: 15, width: 160, height: 120 },
    { start: '2026-11-25T10:03:00Z', container: 'ts', seconds: 12, fps: 30 },
    { start: '2026-11-25T10:04:00Z', container: 'mp4', seconds: 2, fps: 10, ext: 'MP4' },
  ];
  if (H265) {
    specs.push({ start: '2026-11-25T10:05:00Z', container: 'mp4', codec: 'h265', seconds: 2, fps: 10 });
    specs.push({ start: '2026-11-25T10:06:00Z', container: 'mkv', codec: 'h265', seconds: 2, fps: 10 });
    specs.push({ start: '2026-11-25T10:07:00Z', container: 'ts', codec: 'h265', seconds: 2, fps: 10 });
  } else {
    t.comment('x265enc missing: H.265 cases skipped');
  }
  const made = await makeRecordingsTree(root, 'cam1', specs);
  const cat = openCatalog({ root });
  t.same(await cat.cameras(), ['cam1']);
  const { segments, problems, ignored } = await cat.segments('cam1');
  t.same(problems, []);
  t.same(ignored, []);
  t.equal(segments.length, made.length);
  for (const [i, m] of made.entries()) {
    const s = segments[i]!;
    const name = m.path.slice(root.length + 1);
    const frameNs = 1e9 / m.fps;
    t.equal(s.file, m.path);
    t.equal(s.start.toISOString(), m.start.toISOString());
    t.match(s, { camera: 'cam1', container: m.container, codec: m.codec, width: specs[i]!.width ?? 320, height: specs[i]!.height ?? 240 }, name);
    t.ok(Math.abs(s.framerate - m.fps) < 1e-9, `${name}: ${s.framerate} fps`);
    t.equal(s.frames, m.frames, `${name}: every frame counted`);
    t.ok(Math.abs(s.durationNs - m.durationNs) <= frameNs, `${name}: duration ${s.durationNs / 1e9} s, made ${m.durationNs / 1e9} s`);
    t.ok(s.firstNs >= 0 && s.firstNs < 1e9, `${name}: first frame at ${s.firstNs / 1e9} s`);
    t.equal(s.end.getTime(), s.start.getTime() + Math.round(s.endNs / 1e6));
  }
});

t.test('truncated, garbage and empty files are reported by name with a reason', async (t) => {
  const root = t.testdir();
  const made = await makeRecordingsTree(root, 'cam1', [
    { start: '2026-11-25T10:00:00Z', kind: 'ok' },
    { start: '2026-11-25T10:00:10Z', kind: 'truncated', container: 'mp4' },
    { start: '2026-11-25T10:00:20Z', kind: 'truncated', container: 'mp4', faststart: true, seconds: 5 },
    { start: '2026-11-25T10:00:30Z', kind: 'truncated', container: 'mkv', seconds: 5 },
    { start: '2026-11-25T10:00:40Z', kind: 'truncated', container: 'ts', seconds: 5 },
    { start: '2026-11-25T10:00:50Z', kind: 'garbage', container: 'mp4' },
    { start: '2026-11-25T10:01:00Z', kind: 'garbage', container: 'ts' },
    { start: '2026-11-25T10:01:10Z', kind: 'empty', container: 'mkv' },
  ]);
  const { segments, problems } = await openCatalog({ root }).segments('cam1');
  t.same(segments.map((s) => s.file), [made[0]!.path]);
  const why = Object.fromEntries(problems.map((p) => [p.file, p.reason]));
  t.same(Object.keys(why).sort(), made.slice(1).map((m) => m.path).sort(), 'every damaged file named');
  t.match(why[made[1]!.path], /no playable streams/, 'MP4 without its index');
  t.match(why[made[2]!.path], /truncated: frames end at 2\.\d+ s but the header says 5\.000 s/, 'MP4 with its index first');
  t.match(why[made[3]!.path], /truncated: frames end at .* header says 5\.000 s/, 'MKV keeps its full duration in the header');
  t.match(why[made[4]!.path], /truncated: \d+ bytes is not a whole number of 188-byte TS packets/);
  t.match(why[made[5]!.path], /type of stream|invalid/i);
  t.ok(why[made[6]!.path], `garbage TS: ${why[made[6]!.path]}`);
  t.match(why[made[7]!.path], /empty file/);
  for (const p of problems) t.ok(p.start instanceof Date, 'problems keep the time from their name');
});

t.test('files outside the layout are ignored and listed with a reason', async (t) => {
  const root = t.testdir({
    cam1: {
      'notes.txt': 'hello',
      '2026-11-25': { 'clip.mp4': '', '10-00-00.avi': '', '25-00-00.mp4': '', deeper: { '10-00-00.mp4': '' } },
      '2026-02-30': { '10-00-00.mp4': '' },
    },
    '.trash': {},
  });
  await makeRecordingsTree(root, 'cam1', [{ start: '2026-11-25T10:00:05Z' }]);
  const cat = openCatalog({ root });
  t.same(await cat.cameras(), ['cam1'], 'hidden folders are not cameras');
  const { segments, problems, ignored } = await cat.segments('cam1');
  t.equal(segments.length, 1);
  t.same(problems, []);
  const reasons = Object.fromEntries(ignored.map((i) => [i.file.slice(root.length + 1), i.reason]));
  t.match(reasons, {
    'cam1/notes.txt': /does not match layout/,
    'cam1/2026-11-25/clip.mp4': /does not match layout/,
    'cam1/2026-11-25/10-00-00.avi': /extension "avi"/,
    'cam1/2026-11-25/25-00-00.mp4': /not a valid time/,
    'cam1/2026-02-30/10-00-00.mp4': /day 30 does not exist/,
  });
  t.notOk('cam1/2026-11-25/deeper/10-00-00.mp4' in reasons, 'folders deeper than the layout are not walked');
});

t.test('odd file names reach GStreamer intact', async (t) => {
  const root = t.testdir();
  const made = await makeRecordingsTree(root, 'Gate "B" #2: south', [{ start: '2026-11-25T10:00:00Z', container: 'mkv' }]);
  const { segments, problems } = await openCatalog({ root }).segments('Gate "B" #2: south');
  t.same(problems, []);
  t.equal(segments[0]?.file, made[0]!.path);
});

t.test('the probe cache follows size and modification time', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'seg.mp4');
  await makeSegment({ path: file, seconds: 2 });
  const first = await probeSegment(file);
  t.ok(first.ok);
  const t0 = performance.now();
  const again = await probeSegment(file);
  t.ok(performance.now() - t0 < 50, 'a second probe of an unchanged file is answered from memory');
  t.same(again, first);
  // Replace it with a longer recording at the same path: the cache must not answer.
  const other = join(dir, 'other.mp4');
  await makeSegment({ path: other, seconds: 4 });
  await rename(other, file);
  const changed = await probeSegment(file);
  t.ok(changed.ok && Math.abs(changed.media.durationNs - 4e9) < 1e8, 'new contents probed');
  await writeFile(file, 'not video any more');
  t.match(await probeSegment(file), { ok: false });
  t.match(await probeSegment(join(dir, 'missing.mp4')), { ok: false, reason: /ENOENT/ });
  await mkdir(join(dir, 'folder.mp4'));
  t.match(await probeSegment(join(dir, 'folder.mp4')), { ok: false, reason: /not a regular file/ });
});

t.test('hashFile: SHA-256 hex of the whole file, streamed', async (t) => {
  const dir = t.testdir();
  const m = await makeSegment({ path: join(dir, 'a.ts'), seconds: 2 });
  const cut = await makeTruncatedCopy(m.path, join(dir, 'b.ts'));
  for (const f of [m.path, cut]) {
    t.equal(await hashFile(f), createHash('sha256').update(await readFile(f)).digest('hex'));
  }
  const big = join(dir, 'big.bin');
  await writeFile(big, Buffer.alloc(5 * 1024 * 1024 + 7, 0xab));
  t.equal(await hashFile(big), createHash('sha256').update(await readFile(big)).digest('hex'), 'many chunks');
  await t.rejects(hashFile(join(dir, 'nope.mp4')), { code: 'NOT_FOUND', message: /nope\.mp4/ });
  await t.rejects(hashFile(dir), { code: 'MEDIA_UNREADABLE' });
});
