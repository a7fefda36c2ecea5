/**
 * The command line end to end on a real recordings tree: two segments with a gap,
 * analyse, export with the data subject left visible, verify, extract, tampering and
 * bad input. Commands run in-process through main(), output captured.
 */
import t from 'tap';
import { runCli as run } from '../helpers/cli.js';
import { mkdirSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { composeClip, scene } from '../../src/samples/compose.js';
import { faceSprite } from '../../src/samples/faces.js';
import { decodePieces } from '../../src/media/decode.js';
import { loadProfiles } from '../../src/media/profiles.js';

const W = 640, H = 360, FPS = 10;


const dir = t.testdir();
const rec = join(dir, 'rec');
const data = join(dir, 'data');
const pw = join(dir, 'pw.txt');
writeFileSync(pw, 'correct horse battery\n');
const range = ['--recordings', rec, '--camera', 'lobby', '--from', '2026-03-01T08:59:58+09:00', '--to', '2026-03-01T09:00:09+09:00', '--data', data, '--mask', 'face', '--quiet'];

t.before(async () => {
  const day = join(rec, 'lobby', '2026-02-28');
  mkdirSync(day, { recursive: true });
  // 23:59:57 UTC + 5 s, then a gap of 2 s, then 00:00:04 + 5 s (dates cross midnight UTC).
  const subject = await faceSprite(6, 64);
  const other = await faceSprite(2, 40);
  mkdirSync(join(rec, 'lobby', '2026-03-01'), { recursive: true });
  for (const [file, seed] of [[join(day, '23-59-57.mp4'), 1], [join(rec, 'lobby', '2026-03-01', '00-00-04.mp4'), 2]] as const) {
    await composeClip({ out: file, width: W, height: H, fps: FPS, seconds: 5, background: scene(W, H, seed), objects: [
      { sprite: subject, from: { x: 40, y: 200 }, to: { x: 200, y: 220 }, label: 'subject' },
      { sprite: other, from: { x: 400, y: 40 }, to: { x: 520, y: 120 }, label: 'other' },
    ] });
  }
});

t.test('analyse lists tracks with thumbnails; export leaves the chosen one visible and seals', async (t) => {
  const a = await run(['analyse', ...range, '--json']);
  t.equal(a.code, 0, a.err);
  const analysis = JSON.parse(a.out);
  t.equal(analysis.gaps.length, 1, 'the gap between the segments is reported');
  t.equal(analysis.gaps[0].from, '2026-03-01T00:00:02.000Z');
  t.equal(analysis.gaps[0].to, '2026-03-01T00:00:04.000Z');
  t.ok(analysis.tracks.length >= 2, `${analysis.tracks.length} tracks`);
  for (const tr of analysis.tracks) t.ok(tr.thumbnail && existsSync(tr.thumbnail), `track ${tr.id} has a thumbnail`);
  // The subject walks along the bottom half: its face track is the one found there.
  const subject = analysis.tracks.find((x: { target: string; thumbnail: string }) => x.target === 'face' && readFileSync(x.thumbnail).length > 0 && x) as { id: number };
  const out = join(dir, 'case.vpkg');
  const e = await run(['export', ...range, '--out', out, '--password-file', pw, '--unmask', String(subject.id), '--expires', '2d', '--allow-extract', '--case', 'C-77', '--json']);
  t.equal(e.code, 0, e.err);
  const result = JSON.parse(e.out);
  t.equal(result.tracksUnmasked, 1);
  const v = await run(['verify', out, '--data', data, '--json']);
  t.equal(v.code, 0, v.err);
  const manifest = JSON.parse(v.out).manifest;
  t.equal(manifest.caseId, 'C-77');
  t.same(manifest.gaps, [{ from: '2026-03-01T00:00:02.000Z', to: '2026-03-01T00:00:04.000Z' }]);
  t.equal(manifest.sources.length, 2, 'both segments listed');
  for (const s of manifest.sources) t.equal(s.sha256, createHash('sha256').update(readFileSync(s.file)).digest('hex'), `hash of ${s.file}`);
  t.same(manifest.masking.tracksUnmasked.map((x: { id: number }) => x.id), [subject.id]);
  t.ok(manifest.masking.models.every((m: { sha256: string }) => /^[0-9a-f]{64}$/.test(m.sha256)), 'model hashes recorded');

  const clear = join(dir, 'clear.mp4');
  const x = await run(['open', out, '--data', data, '--password-file', pw, '--extract', clear]);
  t.equal(x.code, 0, x.err);
  const times: number[] = [];
  const piece = { file: clear, segmentStart: new Date(0), inpointNs: 0, outpointNs: 20e9, codec: 'h264' as const, container: 'mp4' as const, width: W, height: H };
  for await (const f of decodePieces([piece], { profile: loadProfiles().find((p) => p.name === 'software')!, from: new Date(0), to: new Date(20_000) })) times.push(f.tNs / 1e9);
  t.equal(times.length, result.frames, 'the extracted video has every rendered frame');
  // The range starts 1 s into the first segment: frames from 0 s, every 0.1 s, then the
  // 2 s gap kept as a jump in time (source timestamps kept, nothing invented).
  t.ok(Math.abs(times[0]!) < 0.001, `first frame at ${times[0]} s`);
  const steps = times.slice(1).map((x, i) => +(x - times[i]!).toFixed(3));
  t.same(steps.filter((d) => d !== 0.1), [2.1], 'one jump over the gap, every other step one frame');
});

t.test('a package made without --allow-extract refuses to be extracted', async (t) => {
  const out = join(dir, 'sealed-only.vpkg');
  t.equal((await run(['export', ...range, '--out', out, '--password-file', pw])).code, 0);
  const x = await run(['open', out, '--data', data, '--password-file', pw, '--extract', join(dir, 'nope.mp4')]);
  t.equal(x.code, 1);
  t.match(x.err, /extract/i);
  t.notOk(existsSync(join(dir, 'nope.mp4')));
});

t.test('verify fails with one line for a tampered package', async (t) => {
  const out = join(dir, 'case.vpkg');
  const bytes = readFileSync(out);
  bytes[bytes.length >> 1] ^= 1;
  const bad = join(dir, 'tampered.vpkg');
  writeFileSync(bad, bytes);
  const v = await run(['verify', bad, '--data', data]);
  t.equal(v.code, 1);
  t.match(v.err, /^veilport: error: tampered: /);
  t.equal(v.err.trim().split('\n').length, 1, 'one line');
  const j = await run(['verify', bad, '--data', data, '--json']);
  t.equal(JSON.parse(j.out).error.code, 'PACKAGE_TAMPERED');
});

t.test('bad input gets a clear error naming what was wrong', async (t) => {
  const base = ['export', '--recordings', rec, '--out', join(dir, 'x.vpkg'), '--password-file', pw, '--data', data];
  const cases: [string[], RegExp][] = [
    [[...base, '--camera', 'lobby', '--from', '2026-03-01T09:00:00+09:00', '--to', '2026-03-01T08:00:00+09:00'], /ends .* before it starts/],
    [[...base, '--camera', 'garage', '--from', '2026-03-01T09:00:00+09:00', '--to', '2026-03-01T09:01:00+09:00'], /no camera "garage".*cameras: lobby/],
    [[...base, '--camera', '../etc', '--from', '2026-03-01T09:00:00+09:00', '--to', '2026-03-01T09:01:00+09:00'], /not a single folder name/],
    [[...base, '--camera', 'lobby', '--from', '2026-03-01 09:00', '--to', '2026-03-01T09:01:00+09:00'], /--from .*ISO time with a zone/],
    [[...base, '--camera', 'lobby', '--from', '2026-03-01T09:00:00+09:00', '--to', '2026-03-01T09:01:00+09:00', '--mask', 'faces'], /--mask: unknown target "faces"/],
    [[...base, '--camera', 'lobby', '--from', '2026-03-01T09:00:00+09:00', '--to', '2026-03-01T09:01:00+09:00', '--style', 'pixelate'], /--style "pixelate"/],
    [[...base, '--camera', 'lobby', '--from', '2026-03-01T09:00:00+09:00', '--to', '2026-03-01T09:01:00+09:00', '--expires', '2 weeks'], /--expires "2 weeks"/],
    [[...base, '--camera', 'lobby', '--from', '2026-03-02T09:00:00+09:00', '--to', '2026-03-02T09:01:00+09:00'], /no footage between/],
  ];
  for (const [args, re] of cases) {
    const r = await run(args);
    t.not(r.code, 0, `refused: ${r.err.trim()}`);
    t.match(r.err, re);
  }
  t.same(readdirSync(dir).filter((f) => f.startsWith('x.vpkg')), [], 'nothing written');
});

t.test('a damaged segment inside the range fails the export and names the file', async (t) => {
  const day = join(rec, 'lobby', '2026-03-01');
  writeFileSync(join(day, '00-00-09.mp4'), Buffer.alloc(5000, 7));
  const out = join(dir, 'damaged.vpkg');
  const r = await run(['export', ...range.slice(0, 6), '--to', '2026-03-01T09:00:12+09:00', '--data', data, '--mask', 'face', '--quiet', '--out', out, '--password-file', pw]);
  t.equal(r.code, 1);
  t.match(r.err, /00-00-09\.mp4/);
  t.notOk(existsSync(out));
});

t.test('manual regions and privacy zones are masked in the delivered video', async (t) => {
  const zones = join(dir, 'zones.json');
  writeFileSync(zones, JSON.stringify({ lobby: [[500, 250, 100, 80]], other: [[0, 0, 10, 10]] }));
  const out = join(dir, 'regions.vpkg');
  // The region applies from 2 s to 5 s of the export only.
  const e = await run(['export', ...range, '--out', out, '--password-file', pw, '--style', 'solid', '--allow-extract', '--region', '20,20,120,60@2-5', '--privacy-zones', zones]);
  t.equal(e.code, 0, e.err);
  const clear = join(dir, 'regions.mp4');
  t.equal((await run(['open', out, '--data', data, '--password-file', pw, '--extract', clear])).code, 0);
  const piece = { file: clear, segmentStart: new Date(0), inpointNs: 0, outpointNs: 20e9, codec: 'h264' as const, container: 'mp4' as const, width: W, height: H };
  const mean = (d: Buffer, stride: number, x: number, y: number, w: number, h: number) => {
    let s = 0;
    for (let j = y; j < y + h; j++) for (let i = x; i < x + w; i++) s += d[j * stride + i]!;
    return s / (w * h);
  };
  let checked = 0;
  for await (const f of decodePieces([piece], { profile: loadProfiles().find((p) => p.name === 'software')!, from: new Date(0), to: new Date(20_000) })) {
    const s = f.layout.yStride;
    t.ok(mean(f.data, s, 504, 254, 92, 72) < 24, `frame ${f.index}: privacy zone blacked out`);
    const inSpan = f.tNs >= 2e9 && f.tNs <= 5e9;
    const region = mean(f.data, s, 24, 24, 112, 52);
    if (inSpan) t.ok(region < 24, `frame ${f.index} at ${(f.tNs / 1e9).toFixed(1)} s: region masked`);
    else if (f.tNs < 1.9e9 || f.tNs > 5.1e9) t.ok(region > 40, `frame ${f.index} at ${(f.tNs / 1e9).toFixed(1)} s: region visible outside its span`);
    checked++;
  }
  t.ok(checked > 50, `${checked} frames checked`);
  const bad = await run(['export', ...range, '--out', join(dir, 'x2.vpkg'), '--password-file', pw, '--region', '10,10,0,5']);
  t.match(bad.err, /--region "10,10,0,5": width and height/);
});
