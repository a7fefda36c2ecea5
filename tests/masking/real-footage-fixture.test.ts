/**
 * Checks the real-footage fixture itself, not masking: the clip is the one the persons
 * were annotated on (hash), it decodes to the frames and times the annotations name,
 * every box lies inside the frame with its head inside its body and on something that
 * differs from the empty scene, and the recordings made from it (the clip as an H.264
 * segment, and a keyframe held for 60 s) carry those frames at those times.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRecords } from '../../src/media/gst-process.js';
import { decodePieces } from '../../src/media/decode.js';
import { loadProfiles, quoteLocation } from '../../src/media/profiles.js';
import { i420Layout } from '../../src/media/frame.js';
import { loadVtestTruth, makeHeldRecording, makeVtestRecording, vtestClipPath, type Box, type RealRecording } from '../helpers/real-footage.js';

const truth = loadVtestTruth();
const { clip } = truth;
const software = loadProfiles().find((p) => p.name === 'software')!;
const layout = i420Layout(clip.width, clip.height);

/** The luma plane without row padding. */
function luma(data: Buffer): Uint8Array {
  const out = new Uint8Array(clip.width * clip.height);
  for (let y = 0; y < clip.height; y++) out.set(data.subarray(y * layout.yStride, y * layout.yStride + clip.width), y * clip.width);
  return out;
}

/** Mean absolute luma difference of two frames. */
function mad(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}

const fmt = (b: Box) => `[${b.x},${b.y},${b.w},${b.h}]`;

// Frames of the clip decoded straight from the AVI: the keyframes and two either side,
// and every 10th frame for an estimate of the empty scene.
const wanted = new Set<number>();
for (const k of truth.keyframes) for (let d = -2; d <= 2; d++) wanted.add(k.frame + d);
const clipFrames = new Map<number, Uint8Array>();
const clipPts: number[] = [];
const sampled: Uint8Array[] = [];

t.before(async () => {
  const desc = `filesrc location=${quoteLocation(vtestClipPath())} ! avidemux ! avdec_msmpeg4 ! videoconvert ! video/x-raw,format=I420 ! appsink name=out sync=false max-buffers=2`;
  for await (const rec of readRecords(desc, { label: 'decode vtest.avi' })) {
    if (rec.kind !== 'buffer') continue;
    const i = clipPts.length;
    clipPts.push(rec.ptsNs);
    if (wanted.has(i) || i % 10 === 0) {
      const y = luma(rec.data);
      if (wanted.has(i)) clipFrames.set(i, y);
      if (i % 10 === 0) sampled.push(y);
    }
  }
});

t.test('the clip is the one the annotations were made on', async (t) => {
  const path = vtestClipPath();
  const sha = createHash('sha256').update(readFileSync(path)).digest('hex');
  t.equal(sha, clip.sha256, `${path}: sha256`);
  t.equal(readFileSync(path).length, clip.bytes, 'size');
  t.comment(`clip ${clip.package} ${clip.version} ${clip.file} sha256 ${sha}`);
  t.equal(clipPts.length, clip.frames, `decodes to ${clip.frames} frames`);
  const off = clipPts.filter((p, i) => p !== Math.round((i * 1e9) / clip.fps));
  t.equal(off.length, 0, `every frame i at i / ${clip.fps} s`);
  t.equal(clip.durationNs, (clip.frames * 1e9) / clip.fps, 'durationNs = frames / fps');
});

t.test('keyframes and boxes are consistent', async (t) => {
  const frames = truth.keyframes.map((k) => k.frame);
  t.same(frames, [...frames].sort((a, b) => a - b), 'keyframes in order');
  t.equal(new Set(frames).size, frames.length, 'no keyframe twice');
  const bad: string[] = [];
  const inside = (b: Box, o: { x: number; y: number; w: number; h: number }) => b.x >= o.x && b.y >= o.y && b.x + b.w <= o.x + o.w && b.y + b.h <= o.y + o.h;
  const frameBox = { x: 0, y: 0, w: clip.width, h: clip.height };
  for (const k of truth.keyframes) {
    if (k.frame < 0 || k.frame >= clip.frames) bad.push(`keyframe ${k.frame} outside the clip`);
    if (k.timeNs !== Math.round((k.frame * 1e9) / clip.fps)) bad.push(`keyframe ${k.frame}: timeNs ${k.timeNs} is not frame / fps`);
    if (k.persons.length === 0) bad.push(`keyframe ${k.frame}: nobody annotated`);
    const pids = k.persons.map((p) => p.person).filter((x) => x !== null);
    if (new Set(pids).size !== pids.length) bad.push(`keyframe ${k.frame}: one person id given to two people`);
    for (const p of k.persons) {
      if (!inside(p.body, frameBox)) bad.push(`${p.id}: body ${fmt(p.body)} leaves the frame`);
      if (!inside(p.head, frameBox)) bad.push(`${p.id}: head ${fmt(p.head)} leaves the frame`);
      if (p.headVisible && !inside(p.head, p.body)) bad.push(`${p.id}: visible head ${fmt(p.head)} not inside body ${fmt(p.body)}`);
      if (p.atLeast24px !== p.body.h >= 24) bad.push(`${p.id}: atLeast24px ${p.atLeast24px} but body is ${p.body.h} px tall`);
      // A head is a small part of a whole person: a swapped or mistyped box shows here.
      if (p.visibility === 'full' && (p.head.h * 3 > p.body.h || p.head.w > p.body.w)) bad.push(`${p.id}: head ${fmt(p.head)} too large for body ${fmt(p.body)}`);
    }
  }
  t.same(bad, [], 'every box well-formed');
  const all = truth.keyframes.flatMap((k) => k.persons);
  const hs = all.map((p) => p.body.h);
  const ws = all.map((p) => p.body.w);
  const heads = all.filter((p) => p.headVisible).map((p) => p.head.h);
  t.comment(
    `keyframes ${truth.keyframes.length} (${frames.join(', ')}), persons ${all.length}, >= 24 px tall ${all.filter((p) => p.atLeast24px).length}, ` +
      `partial ${all.filter((p) => p.visibility === 'partial').length}, body ${Math.min(...ws)}-${Math.max(...ws)} x ${Math.min(...hs)}-${Math.max(...hs)} px, ` +
      `head height ${Math.min(...heads)}-${Math.max(...heads)} px, heads hidden ${all.filter((p) => !p.headVisible).length}, ` +
      `followed between keyframes ${all.filter((p) => p.person).length} instances of ${new Set(all.map((p) => p.person).filter(Boolean)).size} persons`,
  );
});

t.test('every annotated person stands out from the empty scene', async (t) => {
  // The empty scene: the per-pixel median of every 10th frame (people keep moving, so
  // the median is road and lawn). A box on empty ground differs from it almost nowhere.
  const n = sampled.length;
  const median = new Uint8Array(clip.width * clip.height);
  const col = new Uint8Array(n);
  for (let i = 0; i < median.length; i++) {
    for (let j = 0; j < n; j++) col[j] = sampled[j]![i]!;
    col.sort();
    median[i] = col[n >> 1]!;
  }
  const changed = (y: Uint8Array, b: Box) => {
    let c = 0;
    for (let r = b.y; r < b.y + b.h; r++) for (let x = b.x; x < b.x + b.w; x++) if (Math.abs(y[r * clip.width + x]! - median[r * clip.width + x]!) > 25) c++;
    return c / (b.w * b.h);
  };
  const low: string[] = [];
  let minBody = 1;
  let minHead = 1;
  for (const k of truth.keyframes) {
    const y = clipFrames.get(k.frame)!;
    for (const p of k.persons) {
      const fb = changed(y, p.body);
      // A hidden head's box lies on whatever hides it.
      const fh = p.headVisible ? changed(y, p.head) : 1;
      minBody = Math.min(minBody, fb);
      minHead = Math.min(minHead, fh);
      if (fb < 0.2 || fh < 0.2) low.push(`${p.id} body ${(fb * 100).toFixed(0)} % head ${(fh * 100).toFixed(0)} %`);
    }
  }
  t.comment(`pixels differing from the empty scene by > 25: at least ${(minBody * 100).toFixed(0)} % of every body box, ${(minHead * 100).toFixed(0)} % of every head box`);
  t.same(low, [], 'every body and visible head box at least 20 % on something that is not the empty scene');
});

/** Decodes a made recording with the project's decoder; luma of the frames at `times`. */
async function decodeRecording(rec: RealRecording, times: Set<number>) {
  const pieces = [{ file: rec.path, segmentStart: rec.start, inpointNs: 0, outpointNs: rec.durationNs, codec: 'h264' as const, container: 'mp4' as const, width: rec.width, height: rec.height }];
  const got = new Map<number, Uint8Array>();
  const ts: number[] = [];
  for await (const f of decodePieces(pieces, { profile: software, from: rec.start, to: rec.end })) {
    ts.push(f.tNs);
    if (times.has(f.tNs)) got.set(f.tNs, luma(f.data));
  }
  return { got, ts };
}

/** Which clip frame among k-2..k+2 a decoded frame is closest to, and how close. */
function closest(y: Uint8Array, k: number): { frame: number; mad: number; next: number } {
  const ds = [-2, -1, 0, 1, 2].filter((d) => clipFrames.has(k + d)).map((d) => ({ frame: k + d, mad: mad(y, clipFrames.get(k + d)!) })).sort((a, b) => a.mad - b.mad);
  return { frame: ds[0]!.frame, mad: ds[0]!.mad, next: ds[1]!.mad };
}

t.test('the clip as a recording: every keyframe decodes at its stated time', async (t) => {
  const rec = await makeVtestRecording(t.testdir(), 'cam1', { start: '2026-03-04T10:00:00Z' });
  t.equal(rec.keyframes.length, truth.keyframes.length, 'all keyframes inside the recording');
  const { got, ts } = await decodeRecording(rec, new Set(rec.keyframes.map((k) => k.timeNs)));
  t.equal(ts.length, clip.frames, `${ts.length} frames decoded from ${rec.path}`);
  t.equal(ts.filter((x, i) => x !== Math.round((i * 1e9) / clip.fps)).length, 0, 'frame i at i / fps');
  const lines: string[] = [];
  for (const k of rec.keyframes) {
    const y = got.get(k.timeNs);
    if (!t.ok(y, `a frame at ${k.timeNs / 1e9} s`)) continue;
    const c = closest(y!, k.frame);
    t.equal(c.frame, k.frame, `frame at ${k.timeNs / 1e9} s is clip frame ${k.frame}`);
    t.ok(c.mad < 3, `close to the clip's frame (mean abs luma diff ${c.mad.toFixed(2)})`);
    lines.push(`${k.frame}: ${c.mad.toFixed(2)} (next best ${c.next.toFixed(2)})`);
  }
  t.comment(`recording vs clip, mean abs luma difference at each keyframe: ${lines.join('; ')}`);
});

t.test('a keyframe held for 60 s: the held frames are that keyframe', async (t) => {
  const k = truth.keyframes[0]!;
  const rec = await makeHeldRecording(t.testdir(), 'cam1', { start: '2026-03-04T11:00:00Z', keyframe: k.frame, holdSeconds: 60 });
  t.equal(rec.frames, k.frame + 60 * clip.fps, 'lead-in frames plus 60 s of held frames');
  t.equal(rec.heldFromNs, k.timeNs, 'the hold starts at the keyframe time');
  t.equal(rec.heldUntilNs - rec.heldFromNs, 60e9, 'held for 60 s');
  const held = rec.keyframes.filter((s) => s.timeNs >= rec.heldFromNs);
  t.equal(held.length, 60, 'one annotated sample per held second');
  t.ok(held.every((s) => s.persons === rec.persons && s.persons.length === k.persons.length), 'every held sample carries the keyframe persons');
  // Before the hold: the real clip; check its last played frame too.
  const times = new Set([...held.map((s) => s.timeNs), rec.heldFromNs - 1e8]);
  const { got, ts } = await decodeRecording(rec, times);
  t.equal(ts.length, rec.frames, `${ts.length} frames decoded`);
  t.equal(ts.filter((x, i) => x !== Math.round((i * 1e9) / clip.fps)).length, 0, 'frame i at i / fps');
  let worst = 0;
  let wrong = 0;
  for (const s of held) {
    const y = got.get(s.timeNs)!;
    const c = closest(y, k.frame);
    worst = Math.max(worst, c.mad);
    if (c.frame !== k.frame) wrong++;
  }
  t.equal(wrong, 0, `every held second shows clip frame ${k.frame}`);
  t.ok(worst < 3, `held frames close to the keyframe (worst mean abs luma diff ${worst.toFixed(2)})`);
  if (k.frame > 0) {
    const before = closest(got.get(rec.heldFromNs - 1e8)!, k.frame - 1);
    t.equal(before.frame, k.frame - 1, `the frame before the hold is clip frame ${k.frame - 1}`);
  }
  t.comment(`held recording: ${rec.frames} frames (${k.frame} played, ${rec.frames - k.frame} held), worst held-frame difference ${worst.toFixed(2)}, ${rec.persons.length} persons valid throughout`);
});

t.test('the makers refuse what they cannot make', async (t) => {
  const dir = t.testdir();
  await t.rejects(makeHeldRecording(join(dir, 'a'), 'cam1', { start: '2026-03-04T11:00:00Z', keyframe: truth.keyframes[0]!.frame + 1 }), /not an annotated keyframe/);
  await t.rejects(makeVtestRecording(join(dir, 'b'), 'cam1', { start: 'not a date' }), /bad start/);
  await t.rejects(makeVtestRecording(join(dir, 'c'), 'cam1', { start: '2026-03-04T11:00:00Z', seconds: 1000 }), /seconds must give/);
});
