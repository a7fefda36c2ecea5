/**
 * The scan scheduler: which tiles of one detector to run at a scan, and which areas of
 * the frame that scan counts as looked at (for the tracker: a track not looked at is not
 * missed; a new track's mask starts at the previous scan of its area). Each scan looks
 * at a region-of-interest tile around each moving thing and each live track, the coarse
 * whole-frame levels, and a share of the grid so that every grid tile is swept at least
 * once per `fullScanNs`.
 */
import type { Detector, Tile } from './detectors/detector.js';
import { hull, type Box } from './geometry.js';
import { predict, type Track } from './tracker.js';

export interface TileState extends Tile {
  /** Footage time of the last scan that looked at this tile; -Infinity: never. */
  lastScanNs: number;
}

/** One scan's choice, made by `TileScheduler.plan` and recorded by `commit`. */
export interface ScanPlan {
  tNs: number;
  /** Tiles to run the model on. */
  run: Tile[];
  /** Grid tiles this scan counts as looked at. */
  swept: TileState[];
  /** Whether the area of a box was looked at in this scan. */
  scanned(b: Box): boolean;
  /** Time of the scan of the area of a box before this one (0 if none). */
  lastScanNs(b: Box): number;
}

/** A box belongs to a tile when its centre lies inside it. */
export const contains = (t: Box, b: Box) => {
  const cx = b.x + b.w / 2;
  const cy = b.y + b.h / 2;
  return cx >= t.x && cx < t.x + t.w && cy >= t.y && cy < t.y + t.h;
};

export const covers = (outer: Box, inner: Box) =>
  inner.x >= outer.x && inner.y >= outer.y && inner.x + inner.w <= outer.x + outer.w && inner.y + inner.h <= outer.y + outer.h;

export class TileScheduler {
  readonly tiles: TileState[];

  constructor(
    readonly det: Detector,
    readonly width: number,
    readonly height: number,
    readonly fullScanNs: number,
  ) {
    this.tiles = det.tiles(width, height).map((t) => ({ ...t, lastScanNs: -Infinity }));
  }

  /** What to scan at `tNs`, `scanGapNs` after the previous scan. Changes nothing until `commit`. */
  plan(tNs: number, scanGapNs: number, tracks: readonly Track[], moving: Box[]): ScanPlan {
    const { det, width, height, tiles } = this;
    const busy = [...moving, ...tracks.filter((t) => t.active && t.target === det.target).map((t) => predict(t, tNs))];
    // Group busy boxes whose hull still fits one ROI tile: one inference for a group.
    const groups: Box[] = [];
    for (const b of busy.sort((a, c) => c.w * c.h - a.w * a.h)) {
      const g = groups.findIndex((x) => {
        const h = hull(x, b);
        const t = det.roiTile(h, width, height);
        return covers(t, h) && t.w * t.h <= det.roiTile(x, width, height).w * det.roiTile(x, width, height).h;
      });
      if (g >= 0) groups[g] = hull(groups[g]!, b);
      else groups.push(b);
    }
    const rois = groups.map((b) => det.roiTile(b, width, height));
    const swept = new Set<TileState>();
    for (const t of tiles) {
      if (t.level > 0 || t.lastScanNs === -Infinity) swept.add(t);
    }
    // Spread the sweep over the scans of one period instead of a burst each period.
    const quota = Math.ceil((tiles.filter((t) => t.level === 0).length * Math.max(scanGapNs, 1)) / this.fullScanNs);
    const rest = tiles.filter((t) => !swept.has(t)).sort((a, b) => a.lastScanNs - b.lastScanNs);
    for (const t of rest.slice(0, quota)) swept.add(t);
    const run: Tile[] = [...swept, ...rois];
    // Grid tiles wholly inside an ROI tile were looked at too.
    for (const t of tiles) if (!swept.has(t) && t.level === 0 && rois.some((r) => covers(r, t))) swept.add(t);
    // The times before this scan, for lastScanNs once the scan is committed.
    const before = new Map(tiles.map((t) => [t, t.lastScanNs]));
    return {
      tNs,
      run,
      swept: [...swept],
      scanned: (b) => run.some((t) => contains(t, b)),
      lastScanNs: (b) => {
        const earliest = Math.min(...tiles.filter((t) => contains(t, b)).map((t) => before.get(t)!));
        return Number.isFinite(earliest) ? earliest : 0;
      },
    };
  }

  /** Records that the plan's scan ran. */
  commit(plan: ScanPlan): void {
    for (const t of plan.swept) t.lastScanNs = plan.tNs;
  }
}
