/**
 * The recordings catalog: which cameras a recordings root holds, which segments each
 * has and the time they really span (start from the file name, length from the media),
 * and what an export of one camera over [from, to) must decode. Damaged files are
 * reported, never thrown: the export engine decides (it fails closed on any in range).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { VeilportError } from '../util/errors.js';
import { checkTimeZone, parseLayout, wallTimeToUtc, type Layout } from './layout.js';
import { probeSegment, type SegmentMedia } from './segment-probe.js';
import { planRange, type PlanEntry, type Problem, type RangePlan } from './catalog-plan.js';

export type { Problem, RangePlan, RangePiece, Gap } from './catalog-plan.js';
export { DEFAULT_LAYOUT } from './layout.js';

export interface CatalogOptions {
  /** The recordings root (local disk or NAS mount). */
  root: string;
  /** File layout under the root; default `{camera}/{YYYY}-{MM}-{DD}/{hh}-{mm}-{ss}.{ext}`. */
  layout?: string;
  /** IANA zone the names' wall-clock times are written in; default UTC. */
  timeZone?: string;
  /**
   * Longest a segment can last. resolveRange looks back this far before `from` for a file
   * that may run into the range (default 24 h); files starting earlier are not read.
   */
  maxSegmentSeconds?: number;
  /** Files probed at once (default 4): gst processes are cheap, NAS round trips are not. */
  concurrency?: number;
}

/** One readable segment file. */
export interface Segment extends SegmentMedia {
  camera: string;
  file: string;
  /** From the file name: the instant of stream time 0. */
  start: Date;
  /** start + endNs: where its last frame ends. */
  end: Date;
}

/** A file under the root that is not a segment, and why. */
export interface Ignored {
  file: string;
  reason: string;
}

export interface SegmentList {
  segments: Segment[];
  problems: Problem[];
  ignored: Ignored[];
}

export interface Catalog {
  root: string;
  layout: Layout;
  timeZone: string;
  /** Camera names, sorted. Throws NOT_FOUND if the root cannot be read. */
  cameras(): Promise<string[]>;
  /** Every segment of a camera, probed; damaged files in `problems`, others in `ignored`. */
  segments(camera: string): Promise<SegmentList>;
  /** What to decode for [from, to); see planRange for the rules. */
  resolveRange(camera: string, from: Date, to: Date): Promise<RangePlan>;
}

/** Throws BAD_INPUT unless `camera` is a single, safe path component. */
export function checkCameraName(camera: string): void {
  if (typeof camera !== 'string' || camera === '' || camera === '.' || camera === '..' || /[/\\\0]/.test(camera)) {
    throw new VeilportError('BAD_INPUT', `camera name ${JSON.stringify(camera)} is not a single folder name (no "/", "\\", NUL, "." or "..")`, { camera });
  }
}

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

interface Listing {
  entries: (PlanEntry & { camera: string })[];
  ignored: Ignored[];
  /** Folders that could not be read; they may hold footage of any time. */
  unreadable: Problem[];
}

/** Runs `fn` over `items`, at most `limit` at a time, keeping order. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Opens a catalog over a recordings root. Validates the layout and time zone now
 * (BAD_INPUT); the root itself is read on each call, so new segments show up.
 */
export function openCatalog(opts: CatalogOptions): Catalog {
  const layout = parseLayout(opts.layout);
  const timeZone = opts.timeZone ?? 'UTC';
  checkTimeZone(timeZone);
  const root = opts.root;
  const depth = layout.pattern.split('/').length;
  const lookbackMs = (opts.maxSegmentSeconds ?? 86_400) * 1000;
  const concurrency = Math.max(1, opts.concurrency ?? 4);

  async function walk(dir: string, rel: string, left: number, out: Listing): Promise<void> {
    let names;
    try {
      names = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      out.unreadable.push({ file: dir, reason: `cannot read folder (${errCode(e)})` });
      return;
    }
    for (const d of names.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, d.name);
      const r = rel ? `${rel}/${d.name}` : d.name;
      let isDir = d.isDirectory();
      let isFile = d.isFile();
      if (d.isSymbolicLink()) {
        // NAS trees often link days or cameras in; the depth limit stops link loops.
        const st = await stat(path).catch(() => undefined);
        isDir = st?.isDirectory() ?? false;
        isFile = st?.isFile() ?? false;
      }
      if (isDir && left > 1) await walk(path, r, left - 1, out);
      else if (isFile) {
        const m = layout.match(r);
        if (!m.ok) out.ignored.push({ file: path, reason: m.reason });
        else out.entries.push({ camera: m.camera, file: path, start: wallTimeToUtc(m.wall, timeZone) });
      }
    }
  }

  async function readRoot(): Promise<void> {
    const st = await stat(root).catch((e: unknown) => {
      throw new VeilportError('NOT_FOUND', `recordings root ${root} cannot be read (${errCode(e)})`, { root });
    });
    if (!st.isDirectory()) throw new VeilportError('NOT_FOUND', `recordings root ${root} is not a folder`, { root });
  }

  async function cameras(): Promise<string[]> {
    await readRoot();
    if (layout.cameraFirst) {
      const names = await readdir(root, { withFileTypes: true }).catch((e: unknown) => {
        throw new VeilportError('NOT_FOUND', `recordings root ${root} cannot be read (${errCode(e)})`, { root });
      });
      const out: string[] = [];
      for (const d of names) {
        if (d.name.startsWith('.')) continue;
        const dir = d.isDirectory() || (d.isSymbolicLink() && (await stat(join(root, d.name)).catch(() => undefined))?.isDirectory());
        if (dir) out.push(d.name);
      }
      return out.sort();
    }
    const all: Listing = { entries: [], ignored: [], unreadable: [] };
    await walk(root, '', depth, all);
    return [...new Set(all.entries.map((e) => e.camera))].sort();
  }

  async function list(camera: string): Promise<Listing> {
    checkCameraName(camera);
    const known = await cameras();
    if (!known.includes(camera)) {
      throw new VeilportError('NOT_FOUND', `no camera "${camera}" in ${root} (cameras: ${known.join(', ') || 'none'})`, { camera, known });
    }
    const out: Listing = { entries: [], ignored: [], unreadable: [] };
    if (layout.cameraFirst) await walk(join(root, camera), camera, depth - 1, out);
    else await walk(root, '', depth, out);
    // A layout where {camera} is not the first folder mixes cameras in one tree.
    out.entries = out.entries.filter((e) => e.camera === camera);
    out.entries.sort((a, b) => a.start.getTime() - b.start.getTime() || (a.file < b.file ? -1 : 1));
    return out;
  }

  async function probe(e: PlanEntry): Promise<void> {
    const r = await probeSegment(e.file);
    if (r.ok) e.media = r.media;
    else e.reason = r.reason;
  }

  async function segments(camera: string): Promise<SegmentList> {
    const l = await list(camera);
    await mapLimit(l.entries, concurrency, probe);
    const segs: Segment[] = [];
    const problems: Problem[] = [...l.unreadable];
    for (const e of l.entries) {
      if (e.media) segs.push({ camera, file: e.file, start: e.start, end: new Date(e.start.getTime() + Math.round(e.media.endNs / 1e6)), ...e.media });
      else problems.push({ file: e.file, reason: e.reason ?? 'not probed', start: e.start });
    }
    return { segments: segs, problems, ignored: l.ignored };
  }

  async function resolveRange(camera: string, from: Date, to: Date): Promise<RangePlan> {
    checkCameraName(camera);
    if (!(from instanceof Date) || !(to instanceof Date) || Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) {
      throw new VeilportError('BAD_INPUT', 'the range needs valid from and to times');
    }
    if (from.getTime() === to.getTime()) throw new VeilportError('BAD_INPUT', `the range is empty: it starts and ends at ${from.toISOString()}`);
    if (from.getTime() > to.getTime()) {
      throw new VeilportError('BAD_INPUT', `the range ends (${to.toISOString()}) before it starts (${from.toISOString()})`);
    }
    const l = await list(camera);
    const F = from.getTime();
    const T = to.getTime();
    // Files starting inside the range are read; before it, walk back only until a file
    // ends before `from` (recorders do not nest segments) or the look-back runs out.
    const inside = l.entries.filter((e) => e.start.getTime() >= F && e.start.getTime() < T);
    await mapLimit(inside, concurrency, probe);
    const before = l.entries.filter((e) => e.start.getTime() < F && e.start.getTime() >= F - lookbackMs).reverse();
    for (const e of before) {
      await probe(e);
      if (e.media && e.start.getTime() + e.media.endNs / 1e6 <= F) break;
    }
    const plan = planRange(camera, from, to, l.entries);
    plan.problems.unshift(...l.unreadable);
    if (plan.pieces.length === 0 && plan.problems.length === 0) {
      throw new VeilportError('NOT_FOUND', `camera "${camera}" has no footage between ${from.toISOString()} and ${to.toISOString()}`, { camera });
    }
    return plan;
  }

  return { root, layout, timeZone, cameras, segments, resolveRange };
}

/** SHA-256 of a file as lowercase hex, read as a stream (segments can be gigabytes). */
export function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => h.update(c))
      .on('error', (e: NodeJS.ErrnoException) => {
        const code = e.code === 'ENOENT' ? 'NOT_FOUND' : 'MEDIA_UNREADABLE';
        reject(new VeilportError(code, `cannot read ${path} to hash it (${e.code ?? e.message})`, { file: path }, { cause: e }));
      })
      .on('end', () => resolve(h.digest('hex')));
  });
}
