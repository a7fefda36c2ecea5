/**
 * What a segment file really holds, read from the media and never from its name:
 * gst-discoverer-1.0 names the container, codec, size and frame rate; a demux-and-parse
 * pass (catalog-scan.ts) measures where the frames start and end. Both run as child
 * processes with time limits, so a hostile or broken file costs a timeout, not the daemon.
 * Every failure becomes a reason string; nothing here throws for a bad file.
 */
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import type { Codec, Container } from './profiles.js';
import { scanTimestamps } from './catalog-scan.js';

/** Facts about one readable segment. Times are stream time in the file, in ns. */
export interface SegmentMedia {
  container: Container;
  codec: Codec;
  width: number;
  height: number;
  /** Frames per second (the nominal rate; measured from the frames where none is declared). */
  framerate: number;
  /** Stream time of the first frame (0 for MP4/MKV; often ~0.1 s for TS). */
  firstNs: number;
  /** Stream time where the last frame ends. */
  endNs: number;
  /** endNs - firstNs: how long the footage in this file lasts. */
  durationNs: number;
  frames: number;
}

export type ProbeResult = { ok: true; media: SegmentMedia } | { ok: false; reason: string };

/** What gst-discoverer-1.0 -v said, before the frames are measured. */
export interface Discovered {
  container?: string;
  videoCaps?: string;
  width?: number;
  height?: number;
  framerate?: number;
  durationNs?: number;
  error?: string;
}

const DISCOVER_TIMEOUT_MS = 20_000;

/** Parses `gst-discoverer-1.0 -v` text; tolerant of extra lines, tags and ordering. */
export function parseDiscovererOutput(text: string): Discovered {
  const d: Discovered = {};
  const lines = text.split(/\r?\n/);
  const errAt = lines.findIndex((l) => /An error was encountered while discovering/i.test(l));
  if (errAt !== -1) {
    d.error = lines.slice(errAt + 1).map((l) => l.trim()).find((l) => l.length > 0) ?? 'discovery failed';
  }
  let inVideo = false;
  for (const raw of lines) {
    const line = raw.trim();
    let m: RegExpExecArray | null;
    if (d.durationNs === undefined && (m = /^Duration:\s*(\d+):(\d{2}):(\d{2})\.(\d{1,9})/.exec(line))) {
      d.durationNs = clockToNs(m);
    } else if (d.container === undefined && (m = /^container(?: #\d+)?:\s*([\w.+-]+\/[\w.+-]+)/.exec(line))) {
      d.container = m[1];
    } else if ((m = /^(video|audio|subtitles|unknown)(?: #\d+)?:\s*(.*)$/.exec(line))) {
      // Only the first video stream counts; later streams' Width/Height lines are ignored.
      inVideo = m[1] === 'video' && d.videoCaps === undefined;
      if (inVideo) {
        d.videoCaps = m[2]!;
        const w = /\bwidth=\(int\)(\d+)/.exec(m[2]!);
        const h = /\bheight=\(int\)(\d+)/.exec(m[2]!);
        const f = /\bframerate=\(fraction\)(\d+)\/(\d+)/.exec(m[2]!);
        if (w) d.width = Number(w[1]);
        if (h) d.height = Number(h[1]);
        if (f && Number(f[2]) > 0 && Number(f[1]) > 0) d.framerate = Number(f[1]) / Number(f[2]);
      }
    } else if (inVideo) {
      if ((m = /^Width:\s*(\d+)$/.exec(line)) && d.width === undefined) d.width = Number(m[1]);
      else if ((m = /^Height:\s*(\d+)$/.exec(line)) && d.height === undefined) d.height = Number(m[1]);
      else if ((m = /^Frame rate:\s*(\d+)\/(\d+)$/.exec(line)) && d.framerate === undefined && Number(m[2]) > 0 && Number(m[1]) > 0) {
        d.framerate = Number(m[1]) / Number(m[2]);
      }
    }
  }
  return d;
}

/** h:mm:ss.fraction captured in groups 1-4 -> ns. */
function clockToNs(m: RegExpExecArray): number {
  const frac = (m[4] ?? '0').padEnd(9, '0');
  return ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1e9 + Number(frac);
}

const CONTAINERS: [RegExp, Container][] = [
  [/^(video|audio)\/quicktime$|^video\/mj2$|^audio\/x-m4a$/, 'mp4'],
  [/^(video|audio)\/x-matroska$/, 'mkv'],
  [/^video\/mpegts$/, 'ts'],
];

function containerOf(caps: string): Container | undefined {
  return CONTAINERS.find(([re]) => re.test(caps))?.[1];
}

function codecOf(caps: string): Codec | undefined {
  if (caps.startsWith('video/x-h264')) return 'h264';
  if (caps.startsWith('video/x-h265')) return 'h265';
  return undefined;
}

/** Runs gst-discoverer-1.0 on one file. */
export function discover(path: string, timeoutMs = DISCOVER_TIMEOUT_MS): Promise<Discovered> {
  // A file:// URI: a bare path with ':' or '#' would be taken for a URI or mangled.
  const uri = pathToFileURL(path).href;
  const innerTimeout = String(Math.max(1, Math.floor(timeoutMs / 1000) - 2));
  return new Promise((resolve) => {
    execFile(
      'gst-discoverer-1.0',
      ['-v', '-t', innerTimeout, uri],
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 8 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' } },
      (err, stdout, stderr) => {
        if (err) {
          const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null };
          if (e.code === 'ENOENT') return resolve({ error: 'gst-discoverer-1.0 is not installed' });
          if (e.killed || e.signal === 'SIGKILL') return resolve({ error: `gst-discoverer-1.0 did not finish within ${timeoutMs / 1000} s` });
          const parsed = parseDiscovererOutput(String(stdout));
          if (parsed.error) return resolve(parsed);
          const why = String(stderr).trim().split('\n').pop() || e.message.split('\n')[0];
          return resolve({ error: `gst-discoverer-1.0 failed: ${why}` });
        }
        resolve(parseDiscovererOutput(String(stdout)));
      },
    );
  });
}

/** Reads one segment. Never throws; a bad file yields `{ ok: false, reason }`. */
export async function probeSegmentUncached(path: string, size: number): Promise<ProbeResult> {
  if (size === 0) return { ok: false, reason: 'empty file (0 bytes)' };
  const d = await discover(path);
  if (d.error) return { ok: false, reason: d.error };
  if (!d.container) return { ok: false, reason: 'no container format recognised' };
  const container = containerOf(d.container);
  if (!container) return { ok: false, reason: `unsupported container ${d.container.split(',')[0]}` };
  if (!d.videoCaps) return { ok: false, reason: 'no video stream' };
  const codec = codecOf(d.videoCaps);
  if (!codec) return { ok: false, reason: `unsupported video codec ${d.videoCaps.split(',')[0]} (expected H.264 or H.265)` };
  if (!d.width || !d.height) return { ok: false, reason: 'video size unknown' };
  // MPEG-TS packets are 188 bytes; a recorder that died mid-write leaves a partial one.
  if (container === 'ts' && size % 188 !== 0) return { ok: false, reason: `truncated: ${size} bytes is not a whole number of 188-byte TS packets` };

  // Large files take longer to read through; allow 1 s per 20 MB on top of the base limit.
  const scan = await scanTimestamps(path, container, codec, 20_000 + Math.ceil(size / 20e6) * 1000, d.framerate);
  if (!scan.ok) return scan;
  const { firstNs, endNs, frames } = scan;
  const framerate = d.framerate ?? (frames * 1e9) / (endNs - firstNs);
  const frameNs = 1e9 / framerate;
  // MP4 and MKV headers state the duration; frames ending well short of it mean the tail
  // is missing. TS has no such header (discoverer only estimates from clock references).
  if (container !== 'ts' && d.durationNs && d.durationNs > 0 && endNs + frameNs < d.durationNs) {
    return { ok: false, reason: `truncated: frames end at ${secs(endNs)} s but the header says ${secs(d.durationNs)} s` };
  }
  return { ok: true, media: { container, codec, width: d.width, height: d.height, framerate, firstNs, endNs, durationNs: endNs - firstNs, frames } };
}

function secs(ns: number): string {
  return (ns / 1e9).toFixed(3);
}

interface CacheEntry {
  key: string;
  result: Promise<ProbeResult>;
}

const cache = new Map<string, CacheEntry>();
/** Bound on cached files: enough for months of one-minute segments on a few cameras. */
const CACHE_LIMIT = 200_000;

/**
 * Probes a segment, remembering the answer in memory for as long as the file keeps its
 * size and modification time (a recorder still writing it changes both). Concurrent
 * calls for the same file share one probe. Timeouts and missing tools are not
 * remembered, since they may pass.
 */
export async function probeSegment(path: string): Promise<ProbeResult> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    return { ok: false, reason: `cannot stat file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  if (!st.isFile()) return { ok: false, reason: 'not a regular file' };
  const key = `${st.size}:${st.mtimeMs}`;
  const hit = cache.get(path);
  if (hit && hit.key === key) return hit.result;
  const result = probeSegmentUncached(path, st.size).catch((e: unknown): ProbeResult => ({ ok: false, reason: `probe failed: ${(e as Error).message}` }));
  cache.delete(path);
  if (cache.size >= CACHE_LIMIT) {
    // Map keeps insertion order: drop the oldest entry.
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  cache.set(path, { key, result });
  void result.then((r) => {
    if (!r.ok && /did not finish|not installed|probe failed/.test(r.reason) && cache.get(path)?.result === result) cache.delete(path);
  });
  return result;
}

/** Forgets every cached probe (tests; a remounted NAS). */
export function clearProbeCache(): void {
  cache.clear();
}
