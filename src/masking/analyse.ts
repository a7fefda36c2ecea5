/**
 * Pass 1: decode the footage, detect on a schedule, track, and return the tracks with
 * every analysed frame time. Scans run every `detectEvery` frames; each scan looks at
 * the tiles where something moves or a track is, plus the stalest other tiles, so every
 * tile is looked at least once per `fullScanMs`. Any failure fails the whole analysis:
 * a partial analysis must never drive a render.
 */
import type { Frame } from '../media/frame.js';
import { VeilportError, isVeilportError } from '../util/errors.js';
import type { Detection, Detector, Tile } from './detectors/detector.js';
import { type Box, intersection } from './geometry.js';
import type { MaskTarget } from './models.js';
import { MotionDetector } from './motion.js';
import { Tracker, predict, type Track } from './tracker.js';
import { Thumbnails, type Thumbnail } from './thumbnails.js';

export interface AnalyseOptions {
  detectors: Detector[];
  /** Mask whatever moves (persons too small for a face model). */
  motion: boolean;
  /** Run detectors on every n-th frame (1 = every frame). */
  detectEvery?: number;
  /** Every tile is scanned at least this often (ms of footage). */
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
  detectEvery: number;
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
  const detectEvery = Math.max(1, Math.round(opts.detectEvery ?? 3));
  const fullScanNs = (opts.fullScanMs ?? 1000) * 1e6;
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
    if (frame.index % detectEvery === 0) {
      const scanGapNs = frame.tNs - lastScanTime;
      lastScanTime = frame.tNs;
      scans++;
      try {
        const moving = motion!.update(frame);
        if (opts.motion) {
          track(tracker, 'person', frame.tNs, moving, () => true, () => frame.tNs - scanGapNs, frame, thumbs);
        }
        for (const { det, tiles } of tileSets) {
          const chosen = chooseTiles(tiles, tracker.all(), det.target, moving, frame.tNs, fullScanNs, scanGapNs);
          const found = await det.detect(frame, chosen);
          tilesRun += chosen.length;
          const before = new Map(chosen.map((t) => [t, t.lastScanNs]));
          for (const t of chosen) t.lastScanNs = frame.tNs;
          const scanned = (b: Box) => chosen.some((t) => contains(t, b));
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
  return { width, height, frameTimesNs, tracks: tracker.finish(endNs), thumbnails: thumbs.all(), detectEvery, scans, tilesRun };
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
  const before = tracker.all().length;
  tracker.update(target, tNs, found, scanned, lastScan);
  // Offer each detection's crop as its track's thumbnail; the best score wins.
  for (const t of tracker.all().slice(0)) {
    const p = t.points[t.points.length - 1]!;
    if (t.target === target && p.tNs === tNs) thumbs.offer(t.id, p, p.score, frame);
  }
  void before;
}

/** Tiles to scan now: where things move or tracks are, plus the stalest of the rest. */
function chooseTiles(
  tiles: TileState[],
  tracks: readonly Track[],
  target: MaskTarget,
  moving: Box[],
  tNs: number,
  fullScanNs: number,
  scanGapNs: number,
): TileState[] {
  const busy = [...moving, ...tracks.filter((t) => t.active && t.target === target).map((t) => predict(t, tNs))];
  const chosen = new Set<TileState>();
  for (const t of tiles) {
    if (t.level > 0 || t.lastScanNs === -Infinity || tNs - t.lastScanNs >= fullScanNs) chosen.add(t);
    else if (busy.some((b) => intersection(t, b) > 0)) chosen.add(t);
  }
  // Spread the full sweep over the scans of one period instead of a burst each period.
  const quota = Math.ceil((tiles.length * Math.max(scanGapNs, 1)) / fullScanNs);
  const rest = tiles.filter((t) => !chosen.has(t)).sort((a, b) => a.lastScanNs - b.lastScanNs);
  for (const t of rest.slice(0, quota)) chosen.add(t);
  return [...chosen];
}
