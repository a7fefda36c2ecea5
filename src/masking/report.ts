/**
 * The masking report: what the analysis found and how well each track was followed,
 * sealed with the package, shown in the review before confirm and kept in the ledger.
 * It lets a privacy officer (and later a court) see where the masking rests on
 * detections and where on coasting, interpolation or the motion safety net.
 */
import type { Box } from './geometry.js';
import { masksAt, type MaskPlan } from './plan.js';
import type { CameraPath } from './camera-path.js';
import { visibleIds } from './people.js';
import type { MaskTarget } from './models.js';
import type { Track } from './tracker.js';

export interface TrackReport {
  id: number;
  target: MaskTarget;
  label?: string;
  /** The person track a face belongs to. */
  ownerId?: number;
  masked: boolean;
  /** Seconds from the start of the export. */
  fromS: number;
  toS: number;
  /** Frames with a detection of this track. */
  framesDetected: number;
  /** Frames masked between or around detections (interpolated or coasted). */
  framesInferred: number;
  /** Smallest detected height in source pixels, lowest detection score. */
  minHeightPx: number;
  minScore: number;
}

export interface ReportStretch {
  fromS: number;
  toS: number;
  frames: number;
}

export interface MaskingReport {
  version: 1;
  frames: number;
  /** Longest a track may go without a detection while its mask holds (scans x interval). */
  coastLimitS: number;
  tracks: TrackReport[];
  /** Person tracks that went longer than the coast limit without a detection. */
  undetected: (ReportStretch & { trackId: number })[];
  /** Stretches where the analysis could not keep up (camera motion, cuts). */
  degraded: (ReportStretch & { reason: string })[];
  unexplainedMotion: { tracks: number; frames: number; meanShare: number; maxShare: number };
  /** Share of the picture masked per second of footage (max over the second's frames). */
  maskedSharePerSecond: number[];
  maskedShare: { mean: number; max: number };
}

export interface ReportInput {
  width: number;
  height: number;
  frameTimesNs: number[];
  tracks: Track[];
  cameraPath: CameraPath;
  coastLimitNs: number;
  degraded?: { fromNs: number; toNs: number; reason: string }[];
}

const s3 = (ns: number) => Math.round(ns / 1e6) / 1e3;
const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

export function maskingReport(a: ReportInput, plan: MaskPlan): MaskingReport {
  const times = a.frameTimesNs;
  const t0 = times[0] ?? 0;
  const rel = (ns: number) => s3(ns - t0);
  const framesIn = (from: number, to: number) => countIn(times, from, to);
  const visible = visibleIds(a.tracks, plan.unmasked);
  const tracks: TrackReport[] = a.tracks.map((t) => {
    const detected = new Set(t.points.map((p) => p.tNs)).size;
    const r: TrackReport = {
      id: t.id,
      target: t.target,
      masked: t.target !== 'vehicle' && !visible.has(t.id),
      fromS: rel(t.holdFromNs),
      toS: rel(t.holdToNs),
      framesDetected: detected,
      framesInferred: Math.max(0, framesIn(t.holdFromNs, t.holdToNs) - detected),
      minHeightPx: Math.round(Math.min(...t.points.map((p) => p.h))),
      minScore: r4(Math.min(...t.points.map((p) => p.score))),
    };
    if (t.label) r.label = t.label;
    if (t.ownerId !== undefined) r.ownerId = t.ownerId;
    return r;
  });

  const undetected: MaskingReport['undetected'] = [];
  for (const t of a.tracks.filter((x) => x.target === 'person')) {
    for (let i = 1; i < t.points.length; i++) {
      const from = t.points[i - 1]!.tNs;
      const to = t.points[i]!.tNs;
      if (to - from > a.coastLimitNs) undetected.push({ trackId: t.id, fromS: rel(from), toS: rel(to), frames: Math.max(0, framesIn(from, to) - 2) });
    }
  }

  // Shares of the picture on a coarse grid: the union of boxes, not their sum.
  const grid = new Coverage(a.width, a.height);
  const motionTracks = a.tracks.filter((t) => t.target === 'motion' && !visible.has(t.id));
  const motionPlan: MaskPlan = { ...plan, manualRegions: [], privacyZones: [], unmasked: a.tracks.filter((t) => t.target !== 'motion').map((t) => t.id) };
  const perSecond: number[] = [];
  let sum = 0;
  let max = 0;
  let motionFrames = 0;
  let motionSum = 0;
  let motionMax = 0;
  for (const tNs of times) {
    const share = grid.share(masksAt(plan, a.tracks, tNs, a.width, a.height, a.cameraPath));
    sum += share;
    max = Math.max(max, share);
    const sec = Math.floor((tNs - t0) / 1e9);
    perSecond[sec] = Math.max(perSecond[sec] ?? 0, r4(share));
    if (motionTracks.length) {
      const m = grid.share(masksAt(motionPlan, a.tracks, tNs, a.width, a.height, a.cameraPath));
      if (m > 0) motionFrames++;
      motionSum += m;
      motionMax = Math.max(motionMax, m);
    }
  }
  const n = Math.max(1, times.length);
  return {
    version: 1,
    frames: times.length,
    coastLimitS: s3(a.coastLimitNs),
    tracks,
    undetected,
    degraded: (a.degraded ?? []).map((d) => ({ fromS: rel(d.fromNs), toS: rel(d.toNs), frames: framesIn(d.fromNs, d.toNs), reason: d.reason })),
    unexplainedMotion: { tracks: motionTracks.length, frames: motionFrames, meanShare: r4(motionSum / n), maxShare: r4(motionMax) },
    maskedSharePerSecond: Array.from(perSecond, (x) => x ?? 0),
    maskedShare: { mean: r4(sum / n), max: r4(max) },
  };
}

/** Frames with from <= t <= to in a sorted list. */
function countIn(times: number[], from: number, to: number): number {
  return upper(times, to) - lower(times, from);
}
function lower(a: number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (a[m]! < x) lo = m + 1;
    else hi = m;
  }
  return lo;
}
function upper(a: number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (a[m]! <= x) lo = m + 1;
    else hi = m;
  }
  return lo;
}

/** The masked share of a picture, measured on cells of about 1/160 of its width. */
class Coverage {
  private readonly cell: number;
  private readonly gw: number;
  private readonly gh: number;
  private readonly cells: Uint8Array;

  constructor(private readonly width: number, private readonly height: number) {
    this.cell = Math.max(1, Math.floor(width / 160));
    this.gw = Math.ceil(width / this.cell);
    this.gh = Math.ceil(height / this.cell);
    this.cells = new Uint8Array(this.gw * this.gh);
  }

  share(boxes: Box[]): number {
    if (boxes.length === 0) return 0;
    this.cells.fill(0);
    const c = this.cell;
    let n = 0;
    for (const b of boxes) {
      for (let gy = Math.floor(b.y / c); gy < Math.min(this.gh, Math.ceil((b.y + b.h) / c)); gy++) {
        for (let gx = Math.floor(b.x / c); gx < Math.min(this.gw, Math.ceil((b.x + b.w) / c)); gx++) {
          if (!this.cells[gy * this.gw + gx]) {
            this.cells[gy * this.gw + gx] = 1;
            n++;
          }
        }
      }
    }
    return n / (this.gw * this.gh);
  }
}
