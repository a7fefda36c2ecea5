/**
 * Real recording segments for tests, made with gst-launch-1.0: a moving ball with the
 * running time burnt in (videotestsrc + timeoverlay), H.264 (x264enc) or H.265 (x265enc),
 * in MP4, MKV or MPEG-TS, laid out like a recorder would, plus damaged files (truncated
 * copies, random bytes) for the failure paths. Small and fast by default: 320x240 at
 * 10 fps encodes a few seconds in well under a second.
 *
 * Frame-accurate by construction: a segment of `seconds` at `fps` holds exactly
 * round(seconds * fps) frames, timestamped from 0 (TS muxers add their own offset).
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { parseLayout, wallTimeAt } from '../../src/media/layout.js';
import { quoteLocation } from '../../src/media/profiles.js';

const run = promisify(execFile);

export type FootageContainer = 'mp4' | 'mkv' | 'ts';
export type FootageCodec = 'h264' | 'h265';

export interface SegmentSpec {
  /** Where to write; parent folders are created. */
  path: string;
  /** Length; the file gets round(seconds * fps) frames. */
  seconds: number;
  /** Whole frames per second (default 10). */
  fps?: number;
  width?: number;
  height?: number;
  /** Default: from the file extension, else mp4. */
  container?: FootageContainer;
  /** Default h264; h265 needs x265enc (see hasElement). */
  codec?: FootageCodec;
  /** videotestsrc pattern (default "ball": moves, so every frame differs). */
  pattern?: string;
  /** Keyframe interval in seconds (default 1), so seeks inside a segment stay cheap. */
  keyframeSeconds?: number;
  /** MP4 only: index (moov) before the data, so a truncated copy still parses. */
  faststart?: boolean;
}

export interface MadeSegment {
  path: string;
  container: FootageContainer;
  codec: FootageCodec;
  fps: number;
  frames: number;
  /** frames / fps, in ns: the duration the catalog must find. */
  durationNs: number;
}

/** Whether this machine's GStreamer has an element (e.g. "x265enc"). */
export function hasElement(name: string): boolean {
  return spawnSync('gst-inspect-1.0', ['--exists', name]).status === 0;
}

/**
 * gst-launch re-joins its argv, escaping spaces outside double quotes, so a description
 * goes in as words split the same way (a quoted location stays one word).
 */
function gstArgs(desc: string): string[] {
  return desc.match(/(?:[^\s"]+|"(?:\\.|[^"\\])*")+/g) ?? [];
}

function containerOf(path: string): FootageContainer {
  const ext = /\.([^./]+)$/.exec(path)?.[1]?.toLowerCase();
  return ext === 'mkv' || ext === 'ts' ? ext : 'mp4';
}

/** Encodes one segment file. Rejects with gst-launch's stderr if it fails. */
export async function makeSegment(spec: SegmentSpec): Promise<MadeSegment> {
  const fps = spec.fps ?? 10;
  if (!Number.isInteger(fps) || fps < 1) throw new Error(`makeSegment: fps must be a whole number, got ${fps}`);
  const width = spec.width ?? 320;
  const height = spec.height ?? 240;
  const container = spec.container ?? containerOf(spec.path);
  const codec = spec.codec ?? 'h264';
  const frames = Math.round(spec.seconds * fps);
  const gop = Math.max(1, Math.round((spec.keyframeSeconds ?? 1) * fps));
  const encoder = codec === 'h264'
    ? `x264enc speed-preset=ultrafast bframes=0 key-int-max=${gop} ! h264parse`
    : `x265enc speed-preset=ultrafast key-int-max=${gop} ! h265parse`;
  const mux = { mp4: spec.faststart ? 'mp4mux faststart=true' : 'mp4mux', mkv: 'matroskamux', ts: 'mpegtsmux' }[container];
  await mkdir(dirname(spec.path), { recursive: true });
  const desc = [
    `videotestsrc pattern=${spec.pattern ?? 'ball'} num-buffers=${frames}`,
    // I420 pinned: left open, x264enc picks 4:4:4 10-bit, which hardware decoders refuse.
    `video/x-raw,format=I420,width=${width},height=${height},framerate=${fps}/1`,
    'timeoverlay',
    encoder,
    mux,
    `filesink location=${quoteLocation(spec.path)}`,
  ].join(' ! ');
  try {
    await run('gst-launch-1.0', ['-q', ...gstArgs(desc)], { timeout: 120_000, killSignal: 'SIGKILL' });
  } catch (e) {
    throw new Error(`makeSegment ${spec.path}: ${(e as { stderr?: string }).stderr || (e as Error).message}`);
  }
  return { path: spec.path, container, codec, fps, frames, durationNs: (frames * 1e9) / fps };
}

/**
 * Copies the first `fraction` of `src` to `dest`, as a recorder that lost power leaves
 * it. For TS the cut avoids a 188-byte packet boundary (a cut on one is undetectable).
 */
export async function makeTruncatedCopy(src: string, dest: string, fraction = 0.6): Promise<string> {
  const data = await readFile(src);
  let n = Math.floor(data.length * fraction);
  if (containerOf(src) === 'ts' && n % 188 === 0) n -= 1;
  await mkdir(dirname(dest), { recursive: true });
  await writeFile(dest, data.subarray(0, n));
  return dest;
}

/** Writes `bytes` of deterministic pseudo-random bytes (no container at all). */
export async function makeGarbageFile(path: string, bytes = 64 * 1024, seed = 1): Promise<string> {
  const out = Buffer.alloc(bytes);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < bytes; i++) {
    // xorshift32: reproducible across runs and machines.
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, out);
  return path;
}

export interface TreeSegmentSpec {
  /** Start instant (ISO string or Date); the file name shows it in the tree's time zone. */
  start: string | Date;
  /** Default 3. */
  seconds?: number;
  container?: FootageContainer;
  codec?: FootageCodec;
  fps?: number;
  width?: number;
  height?: number;
  faststart?: boolean;
  /** "truncated": a 60% copy; "garbage": random bytes; "empty": 0 bytes. Default "ok". */
  kind?: 'ok' | 'truncated' | 'garbage' | 'empty';
  /** Extension as written in the name (e.g. "MP4"); default the container's. */
  ext?: string;
}

export interface TreeOptions {
  /** Catalog layout pattern; default `{camera}/{YYYY}-{MM}-{DD}/{hh}-{mm}-{ss}.{ext}`. */
  layout?: string;
  /** IANA zone the names are written in (default UTC). */
  timeZone?: string;
}

export interface TreeSegment extends MadeSegment {
  start: Date;
  kind: NonNullable<TreeSegmentSpec['kind']>;
}

/**
 * Makes segments of one camera under `root`, named by `layout` in `timeZone` (the
 * catalog must be opened with the same two). Files are encoded four at a time.
 * Returns what was made, in the order of `specs`.
 */
export async function makeRecordingsTree(root: string, camera: string, specs: TreeSegmentSpec[], opts: TreeOptions = {}): Promise<TreeSegment[]> {
  const layout = parseLayout(opts.layout);
  const tz = opts.timeZone ?? 'UTC';
  const make = async (s: TreeSegmentSpec): Promise<TreeSegment> => {
    const start = new Date(s.start);
    if (Number.isNaN(start.getTime())) throw new Error(`makeRecordingsTree: bad start ${String(s.start)}`);
    const container = s.container ?? 'mp4';
    const path = join(root, layout.format(camera, wallTimeAt(start.getTime(), tz), s.ext ?? container));
    const kind = s.kind ?? 'ok';
    const spec: SegmentSpec = {
      path: kind === 'truncated' ? `${path}.full` : path,
      seconds: s.seconds ?? 3,
      container,
      ...(s.codec ? { codec: s.codec } : {}),
      ...(s.fps ? { fps: s.fps } : {}),
      ...(s.width ? { width: s.width } : {}),
      ...(s.height ? { height: s.height } : {}),
      ...(s.faststart ? { faststart: s.faststart } : {}),
    };
    if (kind === 'garbage' || kind === 'empty') {
      await makeGarbageFile(path, kind === 'empty' ? 0 : 64 * 1024, start.getTime() % 1e9);
      return { path, container, codec: s.codec ?? 'h264', fps: s.fps ?? 10, frames: 0, durationNs: 0, start, kind };
    }
    const made = await makeSegment(spec);
    if (kind === 'truncated') {
      await makeTruncatedCopy(made.path, path);
      // The full copy would itself be an (ignored) file in the camera's folder.
      await rm(made.path);
    }
    return { ...made, path, start, kind };
  };
  const out = new Array<TreeSegment>(specs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(4, specs.length) }, async () => {
      while (next < specs.length) {
        const i = next++;
        out[i] = await make(specs[i]!);
      }
    }),
  );
  return out;
}

/** Size of a file in bytes (handy for asserting a truncated copy is shorter). */
export async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}
