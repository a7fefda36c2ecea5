/**
 * Multi-object tracker for masking. Detections arrive only on scanned frames (and only
 * for the tiles scanned then), so a track is a list of detections plus the times
 * between which the mask must hold: from the last scan of that area before it was first
 * seen (it may have been there, unseen) to the last scan that missed it after it was
 * last seen. Between those, boxes are interpolated, so a frame between detections never
 * has less masking than its neighbours.
 */
import { type Box, iou, lerpBox, hull, pad } from './geometry.js';
import type { Detection } from './detectors/detector.js';
import type { MaskTarget } from './models.js';

export interface TrackPoint extends Box {
  tNs: number;
  score: number;
}

export interface Track {
  id: number;
  target: MaskTarget;
  points: TrackPoint[];
  /** Mask from here (ns), before the first detection. */
  holdFromNs: number;
  /** Mask until here (ns), after the last detection. */
  holdToNs: number;
  /** Still being followed (analysis in progress). */
  active: boolean;
  misses: number;
}

export interface TrackerOptions {
  /** Minimum IoU between a prediction and a detection to continue a track. */
  matchIou?: number;
  /** Scans in a row that must miss a track before it ends. */
  maxMisses?: number;
}

export class Tracker {
  private readonly tracks: Track[] = [];
  private nextId = 1;
  private readonly matchIou: number;
  private readonly maxMisses: number;

  constructor(opts: TrackerOptions = {}) {
    this.matchIou = opts.matchIou ?? 0.1;
    this.maxMisses = opts.maxMisses ?? 3;
  }

  /**
   * Takes the detections of one target from one scan at time `tNs`. `scanned(box)`
   * says whether the area of a box was looked at in this scan; `lastScanNs(box)` gives
   * the time of the previous scan of that area (where a new track's mask starts).
   */
  update(
    target: MaskTarget,
    tNs: number,
    detections: Detection[],
    scanned: (b: Box) => boolean,
    lastScanNs: (b: Box) => number,
  ): void {
    const live = this.tracks.filter((t) => t.active && t.target === target);
    const predictions = live.map((t) => predict(t, tNs));
    const pairs: { t: number; d: number; score: number }[] = [];
    detections.forEach((d, di) => {
      predictions.forEach((p, ti) => {
        const s = Math.max(iou(p, d), centreAffinity(p, d));
        if (s >= this.matchIou) pairs.push({ t: ti, d: di, score: s });
      });
    });
    pairs.sort((a, b) => b.score - a.score);
    const usedT = new Set<number>();
    const usedD = new Set<number>();
    for (const p of pairs) {
      if (usedT.has(p.t) || usedD.has(p.d)) continue;
      usedT.add(p.t);
      usedD.add(p.d);
      const t = live[p.t]!;
      const d = detections[p.d]!;
      t.points.push({ x: d.x, y: d.y, w: d.w, h: d.h, tNs, score: d.score });
      t.holdToNs = tNs;
      t.misses = 0;
    }
    live.forEach((t, i) => {
      if (usedT.has(i) || !scanned(predictions[i]!)) return;
      // Looked and not found: the mask holds through this scan (it may be a miss).
      t.misses++;
      t.holdToNs = tNs;
      if (t.misses >= this.maxMisses) t.active = false;
    });
    detections.forEach((d, i) => {
      if (usedD.has(i)) return;
      this.tracks.push({
        id: this.nextId++,
        target,
        points: [{ x: d.x, y: d.y, w: d.w, h: d.h, tNs, score: d.score }],
        holdFromNs: Math.min(tNs, lastScanNs(d)),
        holdToNs: tNs,
        active: true,
        misses: 0,
      });
    });
  }

  /** Ends every track at the end of the footage. */
  finish(endNs: number): Track[] {
    for (const t of this.tracks) {
      if (t.active) t.holdToNs = Math.max(t.holdToNs, endNs);
      t.active = false;
    }
    return this.tracks;
  }

  all(): readonly Track[] {
    return this.tracks;
  }
}

/** Constant-velocity prediction from the last two detections. */
export function predict(t: Track, tNs: number): Box {
  const last = t.points[t.points.length - 1]!;
  const prev = t.points[t.points.length - 2];
  if (!prev || last.tNs === prev.tNs) return last;
  const k = (tNs - last.tNs) / (last.tNs - prev.tNs);
  // Predictions far ahead are guesses: cap the extrapolation at two intervals.
  return lerpBox(last, { x: 2 * last.x - prev.x, y: 2 * last.y - prev.y, w: last.w, h: last.h }, Math.min(k, 2));
}

/** Match score for small fast objects whose boxes no longer overlap between scans. */
function centreAffinity(a: Box, b: Box): number {
  const dx = a.x + a.w / 2 - (b.x + b.w / 2);
  const dy = a.y + a.h / 2 - (b.y + b.h / 2);
  const size = Math.max(a.w, a.h, b.w, b.h);
  const dist = Math.hypot(dx, dy) / size;
  const ratio = Math.min(a.w * a.h, b.w * b.h) / Math.max(a.w * a.h, b.w * b.h);
  // Up to 2.5 object sizes between scans (a running person at 10 scans a second).
  return dist < 2.5 && ratio > 0.25 ? 0.4 * (1 - dist / 2.5) : 0;
}

/** Padding around each kind of object: faces get hair and ears, plates their frame. */
export const PADDING: Record<MaskTarget, number> = { face: 0.3, plate: 0.15, person: 0.1 };

/**
 * The mask box of a track at time tNs, or undefined when the track does not cover it.
 * Between two detections the box is interpolated and widened by the hull of both, so
 * an object that moved between scans stays covered along its path.
 */
export function boxAt(t: Track, tNs: number): Box | undefined {
  if (tNs < t.holdFromNs || tNs > t.holdToNs) return undefined;
  const pts = t.points;
  const p = PADDING[t.target];
  const first = pts[0]!;
  const last = pts[pts.length - 1]!;
  if (tNs <= first.tNs) return pad(first, p, 2);
  if (tNs >= last.tNs) {
    const ahead = predict(t, tNs);
    return pad(hull(last, ahead), p, 2);
  }
  let lo = 0;
  let hi = pts.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (pts[mid]!.tNs <= tNs) lo = mid;
    else hi = mid;
  }
  const a = pts[lo]!;
  const b = pts[hi]!;
  const k = (tNs - a.tNs) / (b.tNs - a.tNs);
  const mid = lerpBox(a, b, k);
  // Within 30 % of a detection the interpolated box is trusted; further away the path
  // between the two detections is covered whole.
  const box = k < 0.3 || k > 0.7 ? hull(mid, k < 0.5 ? a : b) : hull(a, b);
  return pad(box, p, 2);
}
