/**
 * Real footage of people for the person-masking tests: OpenCV's sample clip vtest.avi
 * (an elevated pedestrian scene, 768x576, 10 fps, 795 frames), shipped by Debian's
 * opencv-doc package, with persons annotated by hand on keyframes in
 * tests/fixtures/vtest-persons.json (the file says how).
 *
 * The clip is MS-MPEG4 v3 in AVI, which the recordings catalog does not take, so it is
 * transcoded with GStreamer into an H.264 MP4 segment laid out like a recorder writes
 * it. Frame i of the clip is frame i of the segment, at i / fps seconds: the keyframe
 * times hold in the recording as they do in the clip.
 *
 * A second maker holds one annotated keyframe still for a minute, as a camera records
 * a scene where everyone waits: the same persons, at the same boxes, in every held frame.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseLayout, wallTimeAt } from '../../src/media/layout.js';
import { quoteLocation } from '../../src/media/profiles.js';
import type { TreeOptions } from './footage.js';

const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** The hand-made ground truth. */
export const VTEST_TRUTH_PATH = join(ROOT, 'tests/fixtures/vtest-persons.json');
/** Where scripts/fetch-fixtures.mjs copies the clip (after checking its hash). */
export const VTEST_CACHED_PATH = join(ROOT, '.cache/fixtures/vtest.avi');

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface PersonAnnotation {
  /** Unique in the file: keyframe and letter, e.g. "f0040-a". */
  id: string;
  /** The same individual across keyframes, where the annotator could tell ("P07"); else null. */
  person: string | null;
  /** Every visible pixel of the person (limbs included, carried bags and papers not). */
  body: Box;
  /** Hair top to chin, ear to ear; inside the body box when visible. */
  head: Box;
  /** false when the head is hidden (behind the sign, inside a car boot): the head box is then estimated. */
  headVisible: boolean;
  /** "partial": cut by the frame edge or hidden in part behind something or someone. */
  visibility: 'full' | 'partial';
  /** body.h >= 24: the size the product promises to mask. */
  atLeast24px: boolean;
  note: string;
}

export interface Keyframe {
  /** Frame index in the clip, from 0. */
  frame: number;
  /** frame / fps in nanoseconds: where a decoder puts this frame. */
  timeNs: number;
  persons: PersonAnnotation[];
}

export interface VtestTruth {
  clip: {
    package: string;
    version: string;
    file: string;
    sha256: string;
    bytes: number;
    width: number;
    height: number;
    fps: number;
    frames: number;
    durationNs: number;
  };
  keyframes: Keyframe[];
}

export interface RealRecording {
  camera: string;
  root: string;
  /** The MP4 segment file. */
  path: string;
  /** The instant the segment starts (its name says so in the tree's zone). */
  start: Date;
  end: Date;
  fps: number;
  frames: number;
  durationNs: number;
  width: number;
  height: number;
  /** Annotated frames inside the recording: frame index and time in the segment, and the instant. */
  keyframes: (Keyframe & { at: Date })[];
}

export interface HeldRecording extends RealRecording {
  /** The clip frame that is held. */
  heldFrame: number;
  /** Segment time of the first and one past the last held frame (ns). */
  heldFromNs: number;
  heldUntilNs: number;
  /** The persons of the held keyframe: valid for every held frame. */
  persons: PersonAnnotation[];
}

function box(v: unknown, where: string): Box {
  if (!Array.isArray(v) || v.length !== 4 || !v.every((n) => Number.isInteger(n))) {
    throw new Error(`${VTEST_TRUTH_PATH}: ${where} must be [x, y, w, h] in whole pixels, got ${JSON.stringify(v)}`);
  }
  const [x, y, w, h] = v as number[];
  if (w! <= 0 || h! <= 0) throw new Error(`${VTEST_TRUTH_PATH}: ${where} has no area: ${JSON.stringify(v)}`);
  return { x: x!, y: y!, w: w!, h: h! };
}

let truthCache: VtestTruth | undefined;

/**
 * Reads the ground truth, with the shape checked (a typo in the fixture must not turn
 * into a silently smaller truth). Geometry (inside the frame, head in body) is left to
 * tests/masking/real-footage-fixture.test.ts, which reports every offender.
 */
export function loadVtestTruth(): VtestTruth {
  if (truthCache) return truthCache;
  const raw = JSON.parse(readFileSync(VTEST_TRUTH_PATH, 'utf8')) as {
    clip: VtestTruth['clip'];
    keyframes: { frame: number; timeNs: number; persons: (Omit<PersonAnnotation, 'body' | 'head'> & { body: unknown; head: unknown })[] }[];
  };
  const c = raw.clip;
  for (const k of ['package', 'version', 'file', 'sha256'] as const) {
    if (typeof c?.[k] !== 'string' || c[k].length === 0) throw new Error(`${VTEST_TRUTH_PATH}: clip.${k} missing`);
  }
  for (const k of ['bytes', 'width', 'height', 'fps', 'frames', 'durationNs'] as const) {
    if (!Number.isInteger(c[k]) || c[k] <= 0) throw new Error(`${VTEST_TRUTH_PATH}: clip.${k} must be a positive whole number`);
  }
  if (!Array.isArray(raw.keyframes) || raw.keyframes.length === 0) throw new Error(`${VTEST_TRUTH_PATH}: no keyframes`);
  const ids = new Set<string>();
  const keyframes = raw.keyframes.map((k, i): Keyframe => {
    if (!Number.isInteger(k.frame) || !Number.isInteger(k.timeNs)) throw new Error(`${VTEST_TRUTH_PATH}: keyframes[${i}] needs whole frame and timeNs`);
    if (!Array.isArray(k.persons)) throw new Error(`${VTEST_TRUTH_PATH}: keyframe ${k.frame} has no persons list`);
    const persons = k.persons.map((p, j): PersonAnnotation => {
      const where = `keyframe ${k.frame} person ${j} (${String(p.id)})`;
      if (typeof p.id !== 'string' || ids.has(p.id)) throw new Error(`${VTEST_TRUTH_PATH}: ${where}: id missing or repeated`);
      ids.add(p.id);
      if (p.visibility !== 'full' && p.visibility !== 'partial') throw new Error(`${VTEST_TRUTH_PATH}: ${where}: visibility must be full or partial`);
      if (typeof p.headVisible !== 'boolean') throw new Error(`${VTEST_TRUTH_PATH}: ${where}: headVisible must be true or false`);
      if (typeof p.atLeast24px !== 'boolean') throw new Error(`${VTEST_TRUTH_PATH}: ${where}: atLeast24px must be true or false`);
      if (p.person !== null && typeof p.person !== 'string') throw new Error(`${VTEST_TRUTH_PATH}: ${where}: person must be a string or null`);
      return {
        id: p.id,
        person: p.person,
        body: box(p.body, `${where} body`),
        head: box(p.head, `${where} head`),
        headVisible: p.headVisible,
        visibility: p.visibility,
        atLeast24px: p.atLeast24px,
        note: typeof p.note === 'string' ? p.note : '',
      };
    });
    return { frame: k.frame, timeNs: k.timeNs, persons };
  });
  truthCache = { clip: c, keyframes };
  return truthCache;
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

let clipCache: string | undefined;

/**
 * The clip, checked against the hash the annotations were made on: the copy in
 * .cache/fixtures (scripts/fetch-fixtures.mjs), else Debian's file. Throws saying what
 * to install when neither is there or the bytes differ.
 */
export function vtestClipPath(): string {
  if (clipCache) return clipCache;
  const { clip } = loadVtestTruth();
  const candidates = [VTEST_CACHED_PATH, clip.file].filter((p) => existsSync(p));
  if (candidates.length === 0) {
    throw new Error(`vtest.avi not found at ${VTEST_CACHED_PATH} nor ${clip.file}: install Debian's ${clip.package} (sh scripts/setup.sh does) and run node scripts/fetch-fixtures.mjs`);
  }
  const wrong: string[] = [];
  for (const p of candidates) {
    const got = sha256File(p);
    if (got === clip.sha256) {
      clipCache = p;
      return p;
    }
    wrong.push(`${p} has sha256 ${got}`);
  }
  throw new Error(`${wrong.join('; ')}: not ${clip.sha256}, the clip the annotations were made on (${clip.package} ${clip.version})`);
}

/** gst-launch re-joins argv; split the description the same way footage.ts does. */
function gstArgs(desc: string): string[] {
  return desc.match(/(?:[^\s"]+|"(?:\\.|[^"\\])*")+/g) ?? [];
}

async function gst(desc: string, what: string): Promise<void> {
  try {
    await run('gst-launch-1.0', ['-q', ...gstArgs(desc)], { timeout: 300_000, killSignal: 'SIGKILL', maxBuffer: 1 << 20 });
  } catch (e) {
    throw new Error(`${what}: ${(e as { stderr?: string }).stderr || (e as Error).message}`);
  }
}

function rawCaps(c: VtestTruth['clip']): string {
  // Pinned on every branch so concat joins identical streams and x264enc gets 4:2:0 8-bit.
  return `video/x-raw,format=I420,width=${c.width},height=${c.height},framerate=${c.fps}/1,pixel-aspect-ratio=1/1`;
}

/**
 * `identity eos-after=N` lets N - 1 buffers through (GStreamer 1.22): it ends the stream
 * on the Nth. The wrapper keeps that off-by-one in one place; the count is checked where
 * it matters (extractRawFrame's file name, the fixture test's frame count).
 */
function firstFrames(n: number): string {
  return `identity eos-after=${n + 1}`;
}

function decodeClip(path: string): string {
  return `filesrc location=${quoteLocation(path)} ! avidemux ! avdec_msmpeg4 ! videoconvert`;
}

/** x264 at a constant quantizer: steady quality, and held (still) frames cost almost nothing. */
function encodeMp4(dest: string, fps: number): string {
  return `x264enc speed-preset=ultrafast bframes=0 key-int-max=${fps} pass=quant quantizer=20 ! h264parse ! mp4mux ! filesink location=${quoteLocation(dest)}`;
}

function segmentPath(root: string, camera: string, start: Date, opts: TreeOptions): string {
  const layout = parseLayout(opts.layout);
  return join(root, layout.format(camera, wallTimeAt(start.getTime(), opts.timeZone ?? 'UTC'), 'mp4'));
}

function checkStart(start: string | Date, who: string): Date {
  const d = new Date(start);
  if (Number.isNaN(d.getTime())) throw new Error(`${who}: bad start ${String(start)}`);
  return d;
}

function timed(keyframes: Keyframe[], start: Date): (Keyframe & { at: Date })[] {
  return keyframes.map((k) => ({ ...k, at: new Date(start.getTime() + k.timeNs / 1e6) }));
}

export interface VtestRecordingOptions extends TreeOptions {
  /** Start instant of the segment. */
  start: string | Date;
  /** Keep only the first `seconds` of the clip (whole frames); default the whole 79.5 s. */
  seconds?: number;
}

/**
 * The clip as one H.264 MP4 segment of `camera` under `root` (the catalog must be opened
 * with the same layout and zone), and the keyframes that fall inside it.
 */
export async function makeVtestRecording(root: string, camera: string, opts: VtestRecordingOptions): Promise<RealRecording> {
  const truth = loadVtestTruth();
  const c = truth.clip;
  const start = checkStart(opts.start, 'makeVtestRecording');
  const frames = opts.seconds === undefined ? c.frames : Math.round(opts.seconds * c.fps);
  if (!(frames >= 1 && frames <= c.frames)) throw new Error(`makeVtestRecording: seconds must give 1-${c.frames} frames, got ${opts.seconds}`);
  const path = segmentPath(root, camera, start, opts);
  await mkdir(dirname(path), { recursive: true });
  const trim = frames < c.frames ? `${firstFrames(frames)} ! ` : '';
  await gst(`${decodeClip(vtestClipPath())} ! ${trim}${rawCaps(c)} ! ${encodeMp4(path, c.fps)}`, `makeVtestRecording ${path}`);
  return recording(camera, root, path, start, frames, truth.keyframes.filter((k) => k.frame < frames));
}

/** The recording of `frames` clip-rate frames at `path`, and its keyframes' instants. */
function recording(camera: string, root: string, path: string, start: Date, frames: number, keyframes: Keyframe[]): RealRecording {
  const c = loadVtestTruth().clip;
  const durationNs = (frames * 1e9) / c.fps;
  return {
    camera,
    root,
    path,
    start,
    end: new Date(start.getTime() + durationNs / 1e6),
    fps: c.fps,
    frames,
    durationNs,
    width: c.width,
    height: c.height,
    keyframes: timed(keyframes, start),
  };
}

/**
 * Writes clip frame `frame` as raw I420 into `dir` and returns its path. multifilesink
 * numbers the frames it writes and keeps the last: the name proves which frame it is.
 */
async function extractRawFrame(dir: string, frame: number): Promise<string> {
  const c = loadVtestTruth().clip;
  await gst(
    `${decodeClip(vtestClipPath())} ! ${firstFrames(frame + 1)} ! ${rawCaps(c)} ! multifilesink location=${quoteLocation(join(dir, 'frame%05d.i420'))} max-files=1`,
    `extract frame ${frame}`,
  );
  const files = (await readdir(dir)).filter((f) => f.endsWith('.i420'));
  const want = `frame${String(frame).padStart(5, '0')}.i420`;
  if (files.length !== 1 || files[0] !== want) throw new Error(`extract frame ${frame}: expected ${want}, got ${files.join(', ') || 'nothing'}`);
  const path = join(dir, want);
  const bytes = (await readFile(path)).length;
  if (bytes !== (c.width * c.height * 3) / 2) throw new Error(`extract frame ${frame}: ${bytes} bytes, not one ${c.width}x${c.height} I420 frame`);
  return path;
}

export interface HeldRecordingOptions extends TreeOptions {
  start: string | Date;
  /** Clip frame index of an annotated keyframe to hold; default the first keyframe. */
  keyframe?: number;
  /** How long the frame is held (default 60 s). */
  holdSeconds?: number;
}

/**
 * A segment in which the clip plays up to an annotated keyframe and then that frame is
 * held for `holdSeconds` (imagefreeze), as a camera records people who stop and wait.
 * Layout: clip frames 0..k-1, then frame k repeated; H.264 at the clip's fps. The held
 * keyframe's persons are the truth for every frame from heldFromNs to heldUntilNs, and
 * the keyframes before k keep their own truth.
 */
export async function makeHeldRecording(root: string, camera: string, opts: HeldRecordingOptions): Promise<HeldRecording> {
  const truth = loadVtestTruth();
  const c = truth.clip;
  const start = checkStart(opts.start, 'makeHeldRecording');
  const k = opts.keyframe ?? truth.keyframes[0]!.frame;
  const key = truth.keyframes.find((x) => x.frame === k);
  if (!key) throw new Error(`makeHeldRecording: frame ${k} is not an annotated keyframe (${truth.keyframes.map((x) => x.frame).join(', ')})`);
  const held = Math.round((opts.holdSeconds ?? 60) * c.fps);
  if (!(held >= 1)) throw new Error(`makeHeldRecording: holdSeconds must give at least one frame, got ${opts.holdSeconds}`);
  const path = segmentPath(root, camera, start, opts);
  await mkdir(dirname(path), { recursive: true });
  const work = await mkdtemp(join(tmpdir(), 'vtest-held-'));
  try {
    const raw = await extractRawFrame(work, k);
    const caps = rawCaps(c);
    const lead = k > 0 ? `${decodeClip(vtestClipPath())} ! ${firstFrames(k)} ! ${caps} ! c. ` : '';
    await gst(
      `concat name=c ! ${encodeMp4(path, c.fps)} ` +
        lead +
        `filesrc location=${quoteLocation(raw)} blocksize=${(c.width * c.height * 3) / 2} ! rawvideoparse format=i420 width=${c.width} height=${c.height} framerate=${c.fps}/1 ! imagefreeze num-buffers=${held} ! videoconvert ! ${caps} ! c.`,
      `makeHeldRecording ${path}`,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const frames = k + held;
  // One annotated sample per held second, plus the keyframes played before the hold.
  const samples: Keyframe[] = truth.keyframes.filter((x) => x.frame < k);
  for (let f = k; f < frames; f += c.fps) samples.push({ frame: f, timeNs: (f * 1e9) / c.fps, persons: key.persons });
  const rec = recording(camera, root, path, start, frames, samples);
  return { ...rec, heldFrame: k, heldFromNs: (k * 1e9) / c.fps, heldUntilNs: rec.durationNs, persons: key.persons };
}
