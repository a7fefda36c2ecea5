/**
 * Pass 1: decode the footage, detect on a schedule, track, and return the tracks with
 * every analysed frame time. Scans run `scanHz` times a second of footage; each looks at
 * the tiles where something moves or a track is, plus the stalest other tiles, so every
 * tile is looked at least once per `fullScanMs`. Any failure fails the whole analysis:
 * a partial analysis must never drive a render.
 */
import type { Frame } from '../media/frame.js';
import { VeilportError, isVeilportError } from '../util/errors.js';
import type { Detection, Detector, Tile } from './detectors/detector.js';
import { hull, type Box } from './geometry.js';
import type { MaskTarget } from './models.js';
import { MotionDetector } from './motion.js';
import { Tracker, predict, type Track } from './tracker.js';
import { Thumbnails, type Thumbnail } from './thumbnails.js';

export interface AnalyseOptions {
  detectors: Detector[];
  /** Mask whatever moves (persons too small for a face model). */
  motion: boolean;
  /**
   * Scans per second of footage (default 6): at walking speed a person moves about a
   * head width between scans, a path the tracker's interpolated masks cover. Time-based,
   * so 10, 15 and 30 fps cameras get the same protection for the same cost per second.
   */
  scanHz?: number;
  /**
   * Every grid tile is swept at least this often (ms of footage). Moving things are
   * scanned at every scan through ROI tiles; the sweep finds the still ones, and a
   * track found late is masked back to the previous sweep of its area.
   */
  fullScanMs?: number;
  /** Called after each frame, for progress. */
  onFrame?: (frame: Frame) => void;
}

export interface AnalysisResult {
  width: number;
  height: number;
  /** Time of every frame analysed, in order; the render must see exactly these. */
  frameTimesNs: number[];
  tracks: Track[];
  thumbnails: Map<number, Thumbnail>;
  scanHz: number;
  scans: number;
  tilesRun: number;
}

interface TileState extends Tile {
  lastScanNs: number;
}

const contains = (t: Box, b: Box) => {
  const cx = b.x + b.w / 2;
  const cy = b.y + b.h / 2;
  return cx >= t.x && cx < t.x + t.w && cy >= t.y && cy < t.y + t.h;
};

export async function analyse(frames: AsyncIterable<Frame>, opts: AnalyseOptions): Promise<AnalysisResult> {
  const scanHz = opts.scanHz ?? 6;
  // Half a millisecond of slack so 30 fps timestamps rounded to ns still land on scans.
  const scanIntervalNs = 1e9 / scanHz - 5e5;
  const fullScanNs = (opts.fullScanMs ?? 2000) * 1e6;
  const tracker = new Tracker();
  const thumbs = new Thumbnails();
  const frameTimesNs: number[] = [];
  let motion: MotionDetector | undefined;
  let tileSets: { det: Detector; tiles: TileState[] }[] | undefined;
  let width = 0;
  let height = 0;
  let scans = 0;
  let tilesRun = 0;
  let lastScanTime = 0;

  for await (const frame of frames) {
    if (!tileSets) {
      width = frame.layout.width;
      height = frame.layout.height;
      motion = new MotionDetector(width, height);
      tileSets = opts.detectors.map((det) => ({ det, tiles: det.tiles(width, height).map((t) => ({ ...t, lastScanNs: -Infinity })) }));
    }
    frameTimesNs.push(frame.tNs);
    if (frame.index === 0 || frame.tNs - lastScanTime >= scanIntervalNs) {
      const scanGapNs = frame.tNs - lastScanTime;
      lastScanTime = frame.tNs;
      scans++;
      try {
        const moving = motion!.update(frame);
        if (opts.motion) {
          track(tracker, 'person', frame.tNs, moving, () => true, () => frame.tNs - scanGapNs, frame, thumbs);
        }
        for (const { det, tiles } of tileSets) {
          if ((scans - 1) % det.scanEvery !== 0) continue;
          const { run, swept } = chooseTiles(det, tiles, tracker.all(), moving, frame.tNs, fullScanNs, scanGapNs, width, height);
          const found = await det.detect(frame, run);
          tilesRun += run.length;
          const before = new Map(swept.map((t) => [t, t.lastScanNs]));
          for (const t of swept) t.lastScanNs = frame.tNs;
          const scanned = (b: Box) => run.some((t) => contains(t, b));
          const lastScan = (b: Box) => {
            const prior = tiles.filter((t) => contains(t, b)).map((t) => (before.has(t) ? before.get(t)! : t.lastScanNs));
            const earliest = Math.min(...prior);
            return Number.isFinite(earliest) ? earliest : 0;
          };
          track(tracker, det.target, frame.tNs, found, scanned, lastScan, frame, thumbs);
        }
      } catch (e) {
        if (isVeilportError(e)) throw e;
        throw new VeilportError('ANALYSIS_FAILED', `frame at ${(frame.tNs / 1e9).toFixed(3)} s could not be analysed: ${(e as Error).message}`, {}, { cause: e });
      }
    }
    opts.onFrame?.(frame);
  }
  if (!tileSets) throw new VeilportError('ANALYSIS_FAILED', 'the footage produced no frames');
  const endNs = frameTimesNs[frameTimesNs.length - 1]!;
  return { width, height, frameTimesNs, tracks: tracker.finish(endNs), thumbnails: thumbs.all(), scanHz, scans, tilesRun };
}

function track(
  tracker: Tracker,
  target: MaskTarget,
  tNs: number,
  found: Detection[],
  scanned: (b: Box) => boolean,
  lastScan: (b: Box) => number,
  frame: Frame,
  thumbs: Thumbnails,
): void {
  tracker.update(target, tNs, found, scanned, lastScan);
  // Offer each detection's crop as its track's thumbnail; the best score wins.
  for (const t of tracker.all()) {
    const p = t.points[t.points.length - 1]!;
    if (t.target === target && p.tNs === tNs) thumbs.offer(t.id, p, p.score, frame);
  }
}

/**
 * What to scan now: a region-of-interest tile around each moving thing and each live
 * track (where new objects appear and known ones must be confirmed), the coarse
 * whole-frame levels, and a share of the grid so that every grid tile is swept once per
 * period. A grid tile that an ROI tile covers counts as scanned.
 */
function chooseTiles(
  det: Detector,
  tiles: TileState[],
  tracks: readonly Track[],
  moving: Box[],
  tNs: number,
  fullScanNs: number,
  scanGapNs: number,
  width: number,
  height: number,
): { run: Tile[]; swept: TileState[] } {
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
  const quota = Math.ceil((tiles.filter((t) => t.level === 0).length * Math.max(scanGapNs, 1)) / fullScanNs);
  const rest = tiles.filter((t) => !swept.has(t)).sort((a, b) => a.lastScanNs - b.lastScanNs);
  for (const t of rest.slice(0, quota)) swept.add(t);
  const run: Tile[] = [...swept, ...rois];
  // Grid tiles wholly inside an ROI tile were looked at too.
  for (const t of tiles) if (!swept.has(t) && t.level === 0 && rois.some((r) => covers(r, t))) swept.add(t);
  return { run, swept: [...swept] };
}

const covers = (outer: Box, inner: Box) =>
  inner.x >= outer.x && inner.y >= outer.y && inner.x + inner.w <= outer.x + outer.w && inner.y + inner.h <= outer.y + outer.h;
