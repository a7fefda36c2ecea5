/**
 * Pass 1: decode the footage, detect on a schedule, track, and return the tracks with
 * every analysed frame time. Scans run `scanHz` times a second of footage; each looks at
 * the tiles where something moves or a track is, plus the stalest other tiles, so every
 * tile is looked at least once per `fullScanMs`. Any failure fails the whole analysis:
 * a partial analysis must never drive a render.
 */
import type { Frame } from '../media/frame.js';
import { VeilportError, isVeilportError } from '../util/errors.js';
import type { Detection, Detector } from './detectors/detector.js';
import type { Box } from './geometry.js';
import type { MaskTarget } from './models.js';
import { MotionDetector } from './motion.js';
import { TileScheduler } from './scheduler.js';
import { Tracker, type Track } from './tracker.js';
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

export async function analyse(frames: AsyncIterable<Frame>, opts: AnalyseOptions): Promise<AnalysisResult> {
  const scanHz = opts.scanHz ?? 6;
  // Half a millisecond of slack so 30 fps timestamps rounded to ns still land on scans.
  const scanIntervalNs = 1e9 / scanHz - 5e5;
  const fullScanNs = (opts.fullScanMs ?? 2000) * 1e6;
  const tracker = new Tracker();
  const thumbs = new Thumbnails();
  const frameTimesNs: number[] = [];
  let motion: MotionDetector | undefined;
  let tileSets: TileScheduler[] | undefined;
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
      tileSets = opts.detectors.map((det) => new TileScheduler(det, width, height, fullScanNs));
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
        for (const scheduler of tileSets) {
          const det = scheduler.det;
          if ((scans - 1) % det.scanEvery !== 0) continue;
          const plan = scheduler.plan(frame.tNs, scanGapNs, tracker.all(), moving);
          const found = await det.detect(frame, plan.run);
          tilesRun += plan.run.length;
          scheduler.commit(plan);
          track(tracker, det.target, frame.tNs, found, plan.scanned, plan.lastScanNs, frame, thumbs);
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
