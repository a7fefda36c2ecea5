/**
 * The scan scheduler: which tiles of one detector to run at a scan, and which areas of
 * the frame that scan counts as looked at (for the tracker: a track not looked at is not
 * missed; a new track's mask starts at the previous scan of its area). Each scan looks
 * at a region-of-interest tile around each moving thing and each live track, the coarse
 * whole-frame levels, and a share of the grid so that every grid tile is swept at least
 * once per `fullScanNs`.
 *
 * Nothing skipped counts as scanned: a tile only counts for objects at least as large as
 * the smallest one it can find at the scale it runs at (a whole-frame tile does not see a
 * 24 px face), and a grid tile only counts as swept when it ran itself (or a tile no
 * coarser than it covered it whole).
 *
 * When the camera moves or cuts, every tile at every level runs at every scan until the
 * picture is stable again. Tile state is kept in frame coordinates, not carried through
 * the camera motion: "when was this part of the picture last looked at" means nothing
 * once the picture has moved under it, and a full scan makes every tile fresh at once,
 * so there is no stale state to transform. It costs inferences while the camera moves
 * (counted: `fullScans`, `extraTiles`), and it is what keeps a panning camera's faces
 * masked at the still camera's rate.
 */
import type { Detector, Tile } from './detectors/detector.js';
import { hull, type Box } from './geometry.js';
import { predict, type Track } from './tracker.js';
import type { CameraState } from './camera-motion.js';

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
  /** Every tile at every level, because the camera moved or cut. */
  full: boolean;
  /** Tiles run beyond what a still camera's plan would have run. */
  extraTiles: number;
  /** Share of a grid tile earned towards the sweep and not yet run (see plan). */
  sweepCredit: number;
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
  /** Smallest object (longer side, source px) a tile of the finest grid finds, and that tile's size. */
  readonly minObjectPx: number;
  private readonly fineW: number;
  private readonly fineH: number;
  /** Scans that ran everything because the camera moved, and what they cost on top. */
  fullScans = 0;
  extraTiles = 0;
  private sweepCredit = 0;
  /** ROI tiles run since the grid's oldest sweep, and when: scans of their area too. */
  private readonly recentRois: { tile: Tile; tNs: number }[] = [];

  constructor(
    readonly det: Detector,
    readonly width: number,
    readonly height: number,
    readonly fullScanNs: number,
  ) {
    this.tiles = det.tiles(width, height).map((t) => ({ ...t, lastScanNs: -Infinity }));
    const finest = Math.min(...this.tiles.map((t) => t.level));
    const fine = this.tiles.filter((t) => t.level === finest);
    this.fineW = Math.max(...fine.map((t) => t.w));
    this.fineH = Math.max(...fine.map((t) => t.h));
    const input = det.model?.entry?.input;
    // The model finds objects down to minObjectPx at its input; a finest-grid tile is
    // scaled to the input, so that is this many source pixels.
    this.minObjectPx = input ? det.model.entry.minObjectPx * Math.max(this.fineW / input.width, this.fineH / input.height) : 0;
  }

  /**
   * Smallest object a tile finds at the scale it runs at: a tile larger than the finest
   * grid tile is scaled down more (or, for models that take any input size, at most as
   * much: this errs towards "not seen", which keeps a track's mask held).
   */
  minSeenPx(t: Box): number {
    return this.minObjectPx * Math.max(1, t.w / this.fineW, t.h / this.fineH);
  }

  /**
   * What to scan at `tNs`, `scanGapNs` after the previous scan, given the camera's state
   * (moving or cut: everything). Changes nothing until `commit`.
   */
  plan(tNs: number, scanGapNs: number, tracks: readonly Track[], moving: Box[], camera: CameraState = 'stable'): ScanPlan {
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
    let rois = groups.map((b) => det.roiTile(b, width, height));
    const swept = new Set<TileState>();
    for (const t of tiles) {
      if (t.level > 0 || t.lastScanNs === -Infinity) swept.add(t);
    }
    // Where busy areas are many (a crowd, a small frame), the finest grid tiles that hold
    // them whole cost less than one ROI tile each, and count as swept.
    const cover = gridCover(tiles, busy);
    const cost = (ts: Iterable<Tile>) => {
      let c = 0;
      for (const t of ts) c += det.tileCost ? det.tileCost(t, width, height) : 1;
      return c;
    };
    if (cover && cost(cover) <= cost(rois)) {
      for (const t of cover) swept.add(t);
      rois = [];
    }
    // Spread the sweep over the scans of one period instead of a burst each period: each
    // scan earns its share of the grid, and the oldest tiles run as whole tiles are
    // earned. A share rounded up to a tile per scan would sweep a grid of few tiles (an
    // SD frame's one plate tile, its four person tiles) at every scan: the cost of a
    // period several times over, for no object found sooner than the period promises.
    const grid = tiles.filter((t) => t.level === 0).length;
    const rest = tiles.filter((t) => !swept.has(t)).sort((a, b) => a.lastScanNs - b.lastScanNs);
    const earned = Math.min(grid, this.sweepCredit + (grid * Math.max(scanGapNs, 0)) / this.fullScanNs);
    const quota = Math.min(rest.length, Math.floor(earned + 1e-9));
    for (const t of rest.slice(0, quota)) swept.add(t);
    // Nothing is owed while every tile is fresh (swept by the cover or the first scan).
    const sweepCredit = rest.length > quota ? earned - quota : 0;
    let run: Tile[] = [...swept, ...rois];
    const full = camera !== 'stable';
    let extraTiles = 0;
    if (full) {
      // The picture moved under the tile state: look at all of it, at every scale. The
      // grid's overlap holds every object whole in some tile, so ROI tiles add nothing.
      extraTiles = Math.max(0, tiles.length - run.length);
      run = [...tiles];
      for (const t of tiles) swept.add(t);
    } else {
      // A grid tile covered whole by a tile that ran at least as fine was looked at too.
      for (const t of tiles) {
        if (!swept.has(t) && rois.some((r) => covers(r, t) && r.w <= t.w && r.h <= t.h)) swept.add(t);
      }
    }
    // The times before this scan, for lastScanNs once the scan is committed.
    const before = new Map(tiles.map((t) => [t, t.lastScanNs]));
    const looked = [...this.recentRois];
    return {
      tNs,
      run,
      swept: [...swept],
      full,
      extraTiles,
      sweepCredit: full ? 0 : sweepCredit,
      scanned: (b) => run.some((t) => contains(t, b) && Math.max(b.w, b.h) >= this.minSeenPx(t)),
      lastScanNs: (b) => {
        const earliest = Math.min(...tiles.filter((t) => contains(t, b)).map((t) => before.get(t)!));
        let last = Number.isFinite(earliest) ? earliest : 0;
        // An ROI tile that held the box whole, at a scale that finds it, looked there too:
        // found by one now, an object was not there (or missed) at the ROI scan before.
        for (const r of looked) if (r.tNs > last && covers(r.tile, b) && Math.max(b.w, b.h) >= this.minSeenPx(r.tile)) last = r.tNs;
        return last;
      },
    };
  }

  /** Records that the plan's scan ran. */
  commit(plan: ScanPlan): void {
    for (const t of plan.swept) t.lastScanNs = plan.tNs;
    this.sweepCredit = plan.sweepCredit;
    const own = new Set<Tile>(this.tiles);
    for (const tile of plan.run) if (!own.has(tile)) this.recentRois.push({ tile, tNs: plan.tNs });
    // An ROI scan older than every grid tile's last scan is never the latest look.
    const oldest = Math.min(...this.tiles.map((t) => t.lastScanNs));
    while (this.recentRois.length && this.recentRois[0]!.tNs < oldest) this.recentRois.shift();
    if (plan.full) {
      this.fullScans++;
      this.extraTiles += plan.extraTiles;
    }
  }
}

/**
 * Finest-grid tiles that together hold every busy box whole (greedy: each box goes to a
 * tile already chosen when one holds it, else to the holding tile nearest its centre),
 * or undefined when some box fits no grid tile.
 */
function gridCover(tiles: TileState[], busy: Box[]): Set<TileState> | undefined {
  const finest = Math.min(...tiles.map((t) => t.level));
  const grid = tiles.filter((t) => t.level === finest);
  const chosen = new Set<TileState>();
  for (const b of busy) {
    const holders = grid.filter((t) => covers(t, b));
    if (holders.length === 0) return undefined;
    if (holders.some((t) => chosen.has(t))) continue;
    const cx = b.x + b.w / 2;
    const cy = b.y + b.h / 2;
    holders.sort((a, c) => Math.hypot(a.x + a.w / 2 - cx, a.y + a.h / 2 - cy) - Math.hypot(c.x + c.w / 2 - cx, c.y + c.h / 2 - cy));
    chosen.add(holders[0]!);
  }
  return chosen;
}

/** A stretch of footage the analysis could not cover as promised. */
export interface DegradedStretch {
  fromNs: number;
  toNs: number;
  reason: string;
}

/**
 * Where coverage was degraded because the camera moved faster than the analysis can
 * follow: a shift larger than `maxShiftPx` at two scans in a row (the picture slews
 * further than a tracked mask can be carried between scans), or the picture changing beyond
 * registration at two scans in a row (a whip pan or a blurred slew; one clean cut to a
 * preset is not degraded: it is scanned whole at once). Each stretch runs from the scan
 * before its first degraded scan to its last one.
 */
export class CoverageLog {
  private readonly stretches: DegradedStretch[] = [];
  private open?: DegradedStretch;
  private openKind?: 'fast' | 'cuts';
  private openShift = 0;
  private lastState?: CameraState;
  private lastFast = false;
  private lastFastFromNs = 0;
  estimates = 0;
  moving = 0;
  cuts = 0;

  constructor(readonly maxShiftPx: number) {}

  note(tNs: number, previousScanNs: number, state: CameraState, shiftPx: number): void {
    this.estimates++;
    if (state === 'moving') this.moving++;
    const first = this.lastState === undefined;
    if (state === 'cut' && !first) this.cuts++;
    let kind: 'fast' | 'cuts' | undefined;
    // One jump (to a preset) is scanned whole at once; only a second one in a row is a
    // slew the analysis cannot follow.
    const fast = state === 'moving' && shiftPx > this.maxShiftPx;
    if (fast && (this.lastFast || this.open)) kind = 'fast';
    else if (state === 'cut' && this.lastState === 'cut') kind = 'cuts';
    this.lastState = state;
    const previousFast = this.lastFast;
    this.lastFast = fast;
    if (kind === 'fast' && !this.open && previousFast) previousScanNs = this.lastFastFromNs;
    if (fast) this.lastFastFromNs = previousScanNs;
    if (!kind) {
      this.close();
      return;
    }
    if (this.open && this.openKind === kind) this.open.toNs = tNs;
    else {
      this.close();
      this.open = { fromNs: previousScanNs, toNs: tNs, reason: '' };
      this.openKind = kind;
      this.openShift = 0;
    }
    this.openShift = Math.max(this.openShift, shiftPx);
    this.open.reason =
      kind === 'fast'
        ? `camera moved up to ${Math.round(this.openShift)} px between scans (limit ${Math.round(this.maxShiftPx)} px)`
        : 'picture changed beyond registration at consecutive scans (camera moving too fast)';
  }

  private close(): void {
    if (this.open) this.stretches.push(this.open);
    this.open = undefined;
  }

  finish(): DegradedStretch[] {
    this.close();
    return [...this.stretches].sort((a, b) => a.fromNs - b.fromNs);
  }
}
