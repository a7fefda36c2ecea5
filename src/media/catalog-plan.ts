/**
 * Turns probed segments into what an export of [from, to) must decode: pieces of files
 * with in- and outpoints, the gaps nobody recorded, and the damaged files that may hold
 * footage of the range. Pure (no I/O), so the awkward cases are tested without media.
 *
 * Absolute instants are BigInt nanoseconds: epoch ns do not fit a double exactly, and a
 * rounding error here would put the same frame in two pieces or drop one.
 */
import type { Codec, Container } from './profiles.js';
import type { SegmentMedia } from './segment-probe.js';

/** A file the layout placed in time, with what probing it found (if it was probed). */
export interface PlanEntry {
  file: string;
  /** Start time from the file name: the instant of stream time 0 in the file. */
  start: Date;
  media?: SegmentMedia;
  /** Why the file cannot be used; set for damaged files. */
  reason?: string;
}

export interface Problem {
  file: string;
  reason: string;
  /** Start time from the file name, where it has one. */
  start?: Date;
}

export interface RangePiece {
  file: string;
  segmentStart: Date;
  segmentEnd: Date;
  /** Stream time in the file where this piece starts (>= 0). */
  inpointNs: number;
  /** Stream time in the file where this piece ends (> inpointNs). */
  outpointNs: number;
  codec: Codec;
  container: Container;
  width: number;
  height: number;
  framerate: number;
}

export interface Gap {
  from: Date;
  to: Date;
}

export interface RangePlan {
  camera: string;
  from: Date;
  to: Date;
  pieces: RangePiece[];
  gaps: Gap[];
  problems: Problem[];
}

const NS_PER_MS = 1_000_000n;

function toNs(d: Date): bigint {
  return BigInt(d.getTime()) * NS_PER_MS;
}

/** Nearest millisecond: Date cannot hold more. */
function toDate(ns: bigint): Date {
  return new Date(Number((ns + NS_PER_MS / 2n) / NS_PER_MS));
}

function nsBig(n: number): bigint {
  return BigInt(Math.round(n));
}

/**
 * Plans [from, to) over `entries` (all of one camera's files, any order; unprobed ones
 * only bound damaged files' extents). Segments are taken in order of their first frame;
 * where one overlaps footage already planned, its inpoint moves past it, so no instant
 * is emitted twice. A hole shorter than one frame interval is not a gap: no frame is
 * missing there. A damaged file is assumed to cover from its start up to the next file's
 * start (or forever if it is the last), since its real length cannot be read.
 */
export function planRange(camera: string, from: Date, to: Date, entries: PlanEntry[]): RangePlan {
  const F = toNs(from);
  const T = toNs(to);
  const sorted = [...entries].sort((a, b) => a.start.getTime() - b.start.getTime() || (a.file < b.file ? -1 : 1));

  const usable = sorted
    .filter((e): e is PlanEntry & { media: SegmentMedia } => e.media !== undefined && e.reason === undefined)
    .map((e) => {
      const s = toNs(e.start);
      return { e, s, lo: s + nsBig(e.media.firstNs), hi: s + nsBig(e.media.endNs), frame: nsBig(1e9 / e.media.framerate) };
    })
    .filter((c) => c.hi > F && c.lo < T)
    .sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : a.s < b.s ? -1 : a.s > b.s ? 1 : 0));

  const pieces: RangePiece[] = [];
  const gaps: Gap[] = [];
  let covered = F;
  let lastFrame: bigint | undefined;
  for (const c of usable) {
    const lo = c.lo > covered ? c.lo : covered;
    const hi = c.hi < T ? c.hi : T;
    if (hi <= lo) continue;
    if (lo > covered) {
      const tolerance = lastFrame !== undefined && lastFrame > c.frame ? lastFrame : c.frame;
      if (lo - covered >= tolerance) gaps.push({ from: toDate(covered), to: toDate(lo) });
    }
    const m = c.e.media;
    pieces.push({
      file: c.e.file,
      segmentStart: c.e.start,
      segmentEnd: toDate(c.hi),
      inpointNs: Number(lo - c.s),
      outpointNs: Number(hi - c.s),
      codec: m.codec,
      container: m.container,
      width: m.width,
      height: m.height,
      framerate: m.framerate,
    });
    covered = hi;
    lastFrame = c.frame;
  }
  if (pieces.length > 0 && T > covered && T - covered >= (lastFrame ?? 0n)) gaps.push({ from: toDate(covered), to });

  const problems: Problem[] = [];
  sorted.forEach((e, i) => {
    if (e.reason === undefined) return;
    const s = toNs(e.start);
    const next = sorted.slice(i + 1).find((n) => n.start.getTime() > e.start.getTime());
    const until = next ? toNs(next.start) : undefined;
    if (s < T && (until === undefined || until > F)) problems.push({ file: e.file, reason: e.reason, start: e.start });
  });
  return { camera, from, to, pieces, gaps, problems };
}
