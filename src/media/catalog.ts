/**
 * The recordings catalog: which cameras exist, which segments each has with their real
 * time spans (durations from the media, never guessed from names), and what an export
 * of a camera and a time range must decode: pieces of segments, the gaps between them,
 * and any damaged segment that falls in the range (the export fails closed on those).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { VeilportError } from '../util/errors.js';
import { parseLayout, type Layout } from './layout.js';
import { probeSegment } from './segment-probe.js';
import type { Codec, Container } from './profiles.js';

export interface Segment {
  file: string;
  start: Date;
  end: Date;
  container: Container;
  codec: Codec;
  width: number;
  height: number;
  framerate: number;
}

export interface Problem {
  file: string;
  /** Start time from the file name, when it has one. */
  start?: Date;
  reason: string;
}

export interface RangePiece extends Segment {
  segmentStart: Date;
  segmentEnd: Date;
  /** Offset into the file where the range starts and ends (ns of media time). */
  inpointNs: number;
  outpointNs: number;
}

export interface RangePlan {
  camera: string;
  from: Date;
  to: Date;
  pieces: RangePiece[];
  gaps: { from: Date; to: Date }[];
  problems: Problem[];
}

export interface CatalogOptions {
  root: string;
  /** Default `{camera}/{YYYY}-{MM}-{DD}/{hh}-{mm}-{ss}.{ext}`. */
  layout?: string;
  /** IANA zone the file names are written in; default UTC. */
  timeZone?: string;
}

const CONTAINER: Record<string, Container> = { mp4: 'mp4', mkv: 'mkv', ts: 'ts' };

export function checkCameraName(camera: string): void {
  if (!camera || camera === '.' || camera === '..' || /[/\\\0]/.test(camera)) {
    throw new VeilportError('BAD_INPUT', `camera name ${JSON.stringify(camera)} is not a single folder name`);
  }
}

async function walk(dir: string, depth: number, prefix: string, out: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory() && depth > 1) await walk(join(dir, e.name), depth - 1, rel, out);
    else if (e.isFile() && depth === 1) out.push(rel);
  }
}

export function openCatalog(opts: CatalogOptions) {
  const layout: Layout = parseLayout(opts.layout, opts.timeZone ?? 'UTC');
  const root = opts.root;

  async function cameras(): Promise<string[]> {
    let entries;
    try {
      entries = await readdir(root, { withFileTypes: true });
    } catch (e) {
      throw new VeilportError('NOT_FOUND', `recordings folder ${root} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  }

  async function segments(camera: string): Promise<{ segments: Segment[]; problems: Problem[]; ignored: number }> {
    checkCameraName(camera);
    const known = await cameras();
    if (!known.includes(camera)) {
      throw new VeilportError('NOT_FOUND', `no camera "${camera}" in ${root} (cameras: ${known.join(', ') || 'none'})`);
    }
    const rels: string[] = [];
    await walk(join(root, camera), layout.depth - 1, camera, rels);
    const found: Segment[] = [];
    const problems: Problem[] = [];
    let ignored = 0;
    for (const rel of rels.sort()) {
      const m = layout.match(rel);
      if (!m || m.camera !== camera) {
        ignored++;
        continue;
      }
      const file = join(root, rel);
      const p = await probeSegment(file, CONTAINER[m.ext]!);
      if (!p.ok) {
        problems.push({ file, start: m.start, reason: p.reason });
        continue;
      }
      const end = new Date(m.start.getTime() + p.info.durationNs / 1e6);
      found.push({ file, start: m.start, end, ...p.info });
    }
    found.sort((a, b) => a.start.getTime() - b.start.getTime());
    return { segments: found, problems, ignored };
  }

  async function resolveRange(camera: string, from: Date, to: Date): Promise<RangePlan> {
    if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) throw new VeilportError('BAD_INPUT', 'the range needs valid from and to times');
    if (from.getTime() >= to.getTime()) throw new VeilportError('BAD_INPUT', `the range ends (${to.toISOString()}) before it starts (${from.toISOString()})`);
    const { segments: segs, problems } = await segments(camera);
    const pieces: RangePiece[] = [];
    const gaps: { from: Date; to: Date }[] = [];
    let cursor = from.getTime();
    for (const s of segs) {
      const start = Math.max(s.start.getTime(), cursor);
      const end = Math.min(s.end.getTime(), to.getTime());
      if (end <= start) continue;
      // Two frame intervals of slack: recorders leave a frame's worth between files.
      if (start - cursor > 2000 / s.framerate) gaps.push({ from: new Date(cursor), to: new Date(start) });
      pieces.push({ ...s, segmentStart: s.start, segmentEnd: s.end, inpointNs: (start - s.start.getTime()) * 1e6, outpointNs: (end - s.start.getTime()) * 1e6 });
      cursor = end;
    }
    if (pieces.length === 0) {
      throw new VeilportError('NOT_FOUND', `camera "${camera}" has no footage between ${from.toISOString()} and ${to.toISOString()}`);
    }
    const lastRate = pieces[pieces.length - 1]!.framerate;
    if (to.getTime() - cursor > 2000 / lastRate) gaps.push({ from: new Date(cursor), to });
    // A damaged file counts when it could hold footage of the range: it starts before
    // the range ends, and no readable segment starting after it begins before the range.
    const inRange = problems.filter((p) => {
      if (!p.start) return false;
      const t0 = p.start.getTime();
      const next = segs.find((s) => s.start.getTime() > t0);
      const until = next ? next.start.getTime() : Infinity;
      return t0 < to.getTime() && until > from.getTime();
    });
    return { camera, from, to, pieces, gaps, problems: inRange };
  }

  return { root, layout, cameras, segments, resolveRange };
}

export type Catalog = ReturnType<typeof openCatalog>;

/** SHA-256 (hex) of a file, streaming. */
export function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => h.update(c))
      .on('error', (e) => reject(new VeilportError('MEDIA_UNREADABLE', `${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? e.message})`)))
      .on('end', () => resolve(h.digest('hex')));
  });
}
