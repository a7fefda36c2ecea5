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
import { area, intersection, pad, type Box } from './geometry.js';
import { describe } from './appearance.js';
import { attachFaces, headBox } from './people.js';
import type { MaskTarget } from './models.js';
import { MotionDetector } from './motion.js';
import { CoverageLog, TileScheduler, contains, type DegradedStretch } from './scheduler.js';
import { CameraMotionEstimator, type CameraState, type Similarity } from './camera-motion.js';
import { CameraPathBuilder, type CameraPath } from './camera-path.js';
import { Tracker, predict, rawBoxAt, type Appearance, type Track } from './tracker.js';
import { Thumbnails, type Thumbnail } from './thumbnails.js';

export interface AnalyseOptions {
  detectors: Detector[];
  /**
   * The safety net: mask movement that no person or vehicle track explains (a person
   * the detector missed; also a tree in the wind, which the reviewer may dismiss).
   */
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
  /** How long a person track's mask holds without a detection (for the masking report). */
  coastLimitNs: number;
  /** Stretches the analysis could not cover as promised (the export refuses them unreviewed). */
  degraded: DegradedStretch[];
  /** Camera motion: estimates by state, and what scanning everything while it moved cost. */
  camera: CameraStats;
  /** Where the camera pointed at each frame (masks follow it between scans). */
  cameraPath: CameraPath;
}

export interface CameraStats {
  estimates: number;
  moving: number;
  cuts: number;
  /** Detector scans that ran every tile because the camera moved or cut. */
  fullScans: number;
  /** Tiles (inferences) those scans ran beyond a still camera's plan. */
  extraTiles: number;
  /** Frames between scans registered against the last scan's picture (the camera moved). */
  framesRegistered: number;
  /** Wall time of the camera-motion estimate, ms per estimate or registered frame. */
  msPerEstimate: number;
}

export async function analyse(frames: AsyncIterable<Frame>, opts: AnalyseOptions): Promise<AnalysisResult> {
  const scanHz = opts.scanHz ?? 6;
  // Half a millisecond of slack so 30 fps timestamps rounded to ns still land on scans.
  const scanIntervalNs = 1e9 / scanHz - 5e5;
  const fullScanNs = (opts.fullScanMs ?? 2000) * 1e6;
  // Persons first: their tracks tell the face and plate detectors where to look, and
  // what the motion safety net need not cover.
  const detectors = [...opts.detectors].sort((a, b) => rank(a) - rank(b));
  let tracker: Tracker | undefined;
  const thumbs = new Thumbnails();
  const frameTimesNs: number[] = [];
  let motion: MotionDetector | undefined;
  let camera: CameraMotionEstimator | undefined;
  const path = new CameraPathBuilder();
  let cameraState: CameraState = 'cut';
  let framesRegistered = 0;
  let coverage: CoverageLog | undefined;
  let cameraMs = 0;
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
      camera = new CameraMotionEstimator(width, height);
      // A shift of a sixth of the picture between scans outruns the masks carried between them.
      coverage = new CoverageLog(Math.min(width, height) / 6);
      tileSets = detectors.map((det) => new TileScheduler(det, width, height, fullScanNs));
      tracker = new Tracker({ highScore: confidentScores(detectors), maxUnseenNs: unseenLimits(detectors, fullScanNs), picture: { width, height }, camera: path.sofar });
    }
    frameTimesNs.push(frame.tNs);
    const isScan = frame.index === 0 || frame.tNs - lastScanTime >= scanIntervalNs;
    if (!isScan) {
      // While the camera moves, every frame between scans is registered against the
      // last scan's picture, so masks can follow the camera's path between scans.
      let fromKey: Similarity | null | undefined;
      if (cameraState === 'moving') {
        const c0 = performance.now();
        fromKey = camera!.registerToKey(frame);
        cameraMs += performance.now() - c0;
        framesRegistered++;
      }
      path.frame(frame.tNs, fromKey);
    } else {
      const scanGapNs = frame.tNs - lastScanTime;
      lastScanTime = frame.tNs;
      scans++;
      try {
        const c0 = performance.now();
        const cam = camera!.estimate(frame);
        cameraMs += performance.now() - c0;
        coverage!.note(frame.tNs, frame.tNs - scanGapNs, cam.state, cam.shiftPx);
        path.scan(frame.tNs, cam.state, cam.transform);
        cameraState = cam.state;
        if (cam.state === 'cut' && scans > 1) tracker!.cut(frame.tNs);
        const moving = motion!.update(frame, cam);
        const look = (b: Box) => describe(frame, b);
        for (const scheduler of tileSets) {
          const det = scheduler.det;
          // While the camera moves every detector runs at every scan (the picture moved under its tile state).
          if ((scans - 1) % det.scanEvery !== 0 && cam.state === 'stable') continue;
          const movers = det.target === 'plate' ? withoutWalkers(moving, tracker!.all(), frame.tNs, path.sofar) : moving;
          const hints = [...movers, ...lookHere(det, tracker!.all(), frame.tNs, scheduler.minObjectPx, path.sofar)];
          const plan = scheduler.plan(frame.tNs, scanGapNs, tracker!.all(), hints, cam.state);
          const found = await det.detect(frame, plan.run);
          tilesRun += plan.run.length;
          scheduler.commit(plan);
          for (const target of det.emits ?? [det.target]) {
            const mine = found.filter((d) => d.target === target);
            track(tracker!, target, frame.tNs, mine, plan.scanned, plan.lastScanNs, frame, thumbs, REIDENTIFIED.has(target) ? look : undefined);
          }
        }
        if (opts.motion) {
          const explained = tracker!.all().filter((t) => t.active && EXPLAINS_MOTION.has(t.target)).map((t) => pad(predict(t, frame.tNs, path.sofar), 0.15, 2));
          track(tracker!, 'motion', frame.tNs, motion!.unexplained(explained), () => true, () => frame.tNs - scanGapNs, frame, thumbs);
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
  const tracks = dropTextOnFaces(dropExplainedMotion(tracker!.finish(endNs)));
  attachFaces(tracks);
  const personEvery = detectors.find((d) => (d.emits ?? [d.target]).includes('person'))?.scanEvery ?? 1;
  const coastLimitNs = (TRACKER_MAX_MISSES * personEvery * 1e9) / scanHz;
  const thumbnails = thumbs.all();
  for (const id of thumbnails.keys()) if (!tracks.some((t) => t.id === id)) thumbnails.delete(id);
  const cameraStats: CameraStats = {
    estimates: coverage!.estimates,
    moving: coverage!.moving,
    cuts: coverage!.cuts,
    fullScans: tileSets.reduce((s, x) => s + x.fullScans, 0),
    extraTiles: tileSets.reduce((s, x) => s + x.extraTiles, 0),
    framesRegistered,
    msPerEstimate: cameraMs / Math.max(1, coverage!.estimates + framesRegistered),
  };
  return { width, height, frameTimesNs, tracks, thumbnails, scanHz, scans, tilesRun, coastLimitNs, degraded: coverage!.finish(), camera: cameraStats, cameraPath: path.finish() };
}

/**
 * Targets whose tracks explain movement where they are, so the motion safety net leaves
 * it to them (what moves beside a face, its body, stays the net's).
 */
const EXPLAINS_MOTION = new Set<MaskTarget>(['person', 'vehicle', 'face', 'plate']);
/** Targets re-identified by appearance when a track is lost and found again. */
const REIDENTIFIED = new Set<MaskTarget>(['person', 'vehicle']);
const TRACKER_MAX_MISSES = 3;

const rank = (d: Detector) => ((d.emits ?? [d.target]).includes('person') ? 0 : 1);

/** Per target, the score from which a model's detections are confident (two-stage models only). */
function confidentScores(detectors: Detector[]): Partial<Record<MaskTarget, number>> {
  const out: Partial<Record<MaskTarget, number>> = {};
  for (const d of detectors) {
    if (d.model.entry.lowScoreThreshold === undefined) continue;
    for (const target of d.emits ?? [d.target]) out[target] = d.model.entry.scoreThreshold;
  }
  return out;
}

/**
 * Per target, how long a track may go undetected before it is given up: two sweeps of
 * its detector's grid (a detector running every k-th scan sweeps once per k periods), so
 * a track any sweep could confirm is looked at twice first.
 */
function unseenLimits(detectors: Detector[], fullScanNs: number): Partial<Record<MaskTarget, number>> {
  const out: Partial<Record<MaskTarget, number>> = {};
  for (const d of detectors) for (const target of d.emits ?? [d.target]) out[target] = 2 * fullScanNs * d.scanEvery;
  return out;
}

/**
 * Where other tracks say this detector should look: faces in the heads of persons big
 * enough to hold one the detector finds (`minPx`, what its finest tiles see: the head
 * band masks smaller ones, and looking there costs an inference for nothing), plates on
 * vehicles that move (a parked vehicle's plate is found by the sweep and held, since a
 * scan that did not look at it does not count as missing it).
 */
function lookHere(det: Detector, tracks: readonly Track[], tNs: number, minPx: number, camera: CameraPath): Box[] {
  const out: Box[] = [];
  for (const t of tracks) {
    if (!t.active) continue;
    if (det.target === 'face' && t.target === 'person') {
      const head = headBox(predict(t, tNs, camera));
      if (head.h >= minPx) out.push(head);
    } else if (det.target === 'plate' && t.target === 'vehicle' && moves(t)) {
      out.push(predict(t, tNs, camera));
    }
  }
  return out;
}

/**
 * Moving things that are not walkers: a plate is on a vehicle, and the plate detector
 * looks at vehicles through their tracks (lookHere) and at the whole picture in its
 * sweep; a region around every walker cost it 6.5 tiles a scan on real pedestrian
 * footage (vtest) and found nothing there. A blob mostly inside a live person's predicted
 * box is that person.
 */
function withoutWalkers(moving: Box[], tracks: readonly Track[], tNs: number, camera: CameraPath): Box[] {
  const walkers = tracks.filter((t) => t.active && t.target === 'person').map((t) => pad(predict(t, tNs, camera), 0.15, 2));
  if (!walkers.length) return moving;
  return moving.filter((b) => !walkers.some((w) => intersection(w, b) >= 0.6 * area(b)));
}

/** Whether a track moved a tenth of its width a second or more between its last two detections. */
function moves(t: Track): boolean {
  const a = t.points[t.points.length - 2];
  const b = t.points[t.points.length - 1]!;
  if (!a) return true;
  const d = Math.hypot(b.x + b.w / 2 - a.x - a.w / 2, b.y + b.h / 2 - a.y - a.h / 2);
  return d / ((b.tNs - a.tNs) / 1e9) >= 0.1 * b.w;
}

/**
 * A motion track seen only where person or vehicle tracks were (a person moving before
 * the detector confirmed them: the person track's mask reaches back to the previous scan
 * of that area anyway) adds nothing but a card to review; the rest is kept, masked.
 */
function dropExplainedMotion(tracks: Track[]): Track[] {
  const movers = tracks.filter((t) => EXPLAINS_MOTION.has(t.target));
  return tracks.filter((m) => {
    if (m.target !== 'motion') return true;
    return !m.points.every((p) =>
      movers.some((t) => {
        const b = rawBoxAt(t, p.tNs);
        return b !== undefined && intersection(pad(b, 0.15, 2), p) >= 0.7 * area(p);
      }),
    );
  });
}

/**
 * A "plate" whose every detection is centred on a face track is the face's own features
 * (eyes, brows and mouth read as strokes of text by the text detector), not a plate: the
 * face's mask covers it.
 */
export function dropTextOnFaces(tracks: Track[]): Track[] {
  const faces = tracks.filter((t) => t.target === 'face');
  return tracks.filter((p) => {
    if (p.target !== 'plate') return true;
    return !p.points.every((pt) =>
      faces.some((f) => {
        const b = rawBoxAt(f, pt.tNs);
        return b !== undefined && contains(b, pt);
      }),
    );
  });
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
  look?: (b: Box) => Appearance,
): void {
  tracker.update(target, tNs, found, scanned, lastScan, look);
  // Offer each detection's crop as its track's thumbnail; the best score wins.
  for (const t of tracker.all()) {
    const p = t.points[t.points.length - 1]!;
    if (t.target === target && p.tNs === tNs) thumbs.offer(t.id, p, p.score, frame);
  }
}
