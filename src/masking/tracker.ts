/**
 * Multi-object tracker for masking. Detections arrive only on scanned frames (and only
 * for the tiles scanned then), so a track is a list of detections plus the times
 * between which the mask must hold: from the last scan of that area before it was first
 * seen (it may have been there, unseen) to the last scan that missed it after it was
 * last seen. Between those, boxes are interpolated, so a frame between detections never
 * has less masking than its neighbours.
 *
 * One track per object, as ByteTrack does it: confident detections are matched first,
 * then the weak ones continue tracks that the confident ones left (a person half behind
 * a lamp post scores low but is the same person); a weak detection never starts a track
 * (a traffic cone scores like a far person once, not a walk of them). A track that was lost (missed `maxMisses` scans
 * in a row) is re-activated within `reactivateNs` by position, size and appearance
 * instead of starting a new one, so a person passing behind something stays one card
 * in the review.
 */
import { type Box, area, intersection, iou, lerpBox, hull, pad } from './geometry.js';
import type { Detection } from './detectors/detector.js';
import type { MaskTarget } from './models.js';
import { carry, STILL_PATH, type CameraPath } from './camera-path.js';

export interface TrackPoint extends Box {
  tNs: number;
  score: number;
  /** First detection after the track was lost: the frames before it were not followed. */
  reacquired?: true;
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
  /** A face track that belongs to this person track: one decision for both. */
  ownerId?: number;
  /** Model class of the detections (car, bus, person...), when the model has several. */
  label?: string;
}

/** Colour signature of an object, for re-identification after it was lost. */
export type Appearance = Float32Array;

export interface TrackerOptions {
  /** Minimum affinity (IoU or centre distance) between a prediction and a detection. */
  matchIou?: number;
  /** Scans in a row that must miss a track before it is lost (the coast limit). */
  maxMisses?: number;
  /** A lost track may be re-activated this long after it was lost (ns). */
  reactivateNs?: number;
  /**
   * Per target, a track not detected for this long is lost even where no scan could
   * miss it (ns; default 4 s). A scan only counts as a miss where it could have seen the
   * object: an object found below a tile's reliable size (a 12 px face in a head crop),
   * or predicted off the picture, is never missed, and without this limit its mask would
   * hold, and its prediction drift, to the end of the footage. Set it above the sweep
   * period, so an object the grid can see is always looked at before it is given up.
   */
  maxUnseenNs?: Partial<Record<MaskTarget, number>>;
  /**
   * Per target, the score from which a detection is confident: confident ones are
   * matched first and start tracks; weaker ones only continue tracks. Targets without
   * an entry treat every detection as confident.
   */
  highScore?: Partial<Record<MaskTarget, number>>;
  /**
   * The picture the boxes lie in. Where given, a track predicted mostly outside it has
   * left the picture: see `update`.
   */
  picture?: { width: number; height: number };
  /**
   * Where the camera pointed at each frame so far (the analysis extends it before each
   * scan's update): predictions and re-activation work in the scene, not on the screen.
   */
  camera?: CameraPath;
}

export class Tracker {
  private readonly tracks: Track[] = [];
  private nextId = 1;
  private readonly matchIou: number;
  private readonly maxMisses: number;
  private readonly reactivateNs: number;
  private readonly maxUnseenNs: Partial<Record<MaskTarget, number>>;
  private readonly highScore: Partial<Record<MaskTarget, number>>;
  private readonly picture: { width: number; height: number } | undefined;
  private readonly camera: CameraPath;
  private readonly lostAt = new Map<Track, number>();
  private readonly looks = new Map<Track, Appearance>();

  constructor(opts: TrackerOptions = {}) {
    this.matchIou = opts.matchIou ?? 0.1;
    this.maxMisses = opts.maxMisses ?? 3;
    this.reactivateNs = opts.reactivateNs ?? 3e9;
    this.maxUnseenNs = opts.maxUnseenNs ?? {};
    this.highScore = opts.highScore ?? {};
    this.picture = opts.picture;
    this.camera = opts.camera ?? STILL_PATH;
  }

  /**
   * Takes the detections of one target from one scan at time `tNs`. `scanned(box)`
   * says whether the area of a box was looked at in this scan; `lastScanNs(box)` gives
   * the time of the previous scan of that area (where a new track's mask starts);
   * `describe(box)`, where given, the appearance of a box in this frame.
   */
  update(
    target: MaskTarget,
    tNs: number,
    detections: Detection[],
    scanned: (b: Box) => boolean,
    lastScanNs: (b: Box) => number,
    describe?: (b: Box) => Appearance,
  ): void {
    const high = this.highScore[target] ?? -Infinity;
    const maxUnseenNs = this.maxUnseenNs[target] ?? 4e9;
    const strong = detections.filter((d) => d.score >= high);
    const weak = detections.filter((d) => d.score < high);
    const live = this.tracks.filter((t) => t.active && t.target === target);
    const predictions = new Map(live.map((t) => [t, predict(t, tNs, this.camera)]));
    // A track predicted mostly outside the picture has left it (a walker who went out at
    // the edge). It still coasts, and continues where a box overlaps its prediction (it
    // turned at the edge), but a box merely near it is someone else (on real footage,
    // tests/masking/persons.test.ts, a walker leaving at the right edge was continued by
    // a far shape above them), and once lost it is not re-activated: whoever comes in at
    // that edge later is a new card, since the picture cannot say it is the same person.
    const exited = new Set(live.filter((t) => this.outside(predictions.get(t)!)));

    const looks = new Map<Detection, Appearance>();
    const lookOf = (d: Detection) => {
      let l = looks.get(d);
      if (!l) looks.set(d, (l = describe!(d)));
      return l;
    };
    const continueTrack = (t: Track, d: Detection) => {
      t.points.push(point(d, tNs));
      t.holdToNs = tNs;
      t.misses = 0;
      if (describe && d.score >= high) this.looks.set(t, blend(this.looks.get(t), lookOf(d)));
    };
    // Where people walk together or cross, the box of one lies where another was
    // predicted: a detection that looks unlike the track is not its continuation, and
    // between two plausible ones the one that looks more like the track wins (the
    // score is the overlap weighted by the likeness).
    const weighted = (t: Track, d: Detection, s: number, min: number) => {
      const known = describe && this.looks.get(t);
      if (!known || s < min) return s;
      const alike = similarity(known, lookOf(d));
      return alike < UNLIKE ? 0 : Math.max(min, s * alike);
    };
    // Stage 1: confident detections against every live track, by overlap or, for small
    // fast objects whose boxes no longer overlap, by distance within reach.
    const near = (t: Track, d: Detection) => {
      const p = predictions.get(t)!;
      const s = exited.has(t) ? iou(p, d) : affinity(p, d, reachOf(target, tNs - t.points[t.points.length - 1]!.tNs));
      return weighted(t, d, s, this.matchIou);
    };
    const left = this.match(live, strong, near, this.matchIou, continueTrack);
    // Stage 2: weak detections continue what stage 1 left, by overlap only: a chain of
    // weak boxes each near the last would walk a track across the picture (a cone, a
    // shadow, a post, a bag, one after another). As in ByteTrack, only confirmed tracks
    // (found confidently twice): one confident box on something that is no person,
    // continued by weak boxes each taking in more of its surroundings, grew a false
    // person from 189x264 to 423x313 px in a second (tests/masking/moving-camera.test.ts,
    // preset jump); a tentative track coasts on its prediction instead.
    const overlap = (t: Track, d: Detection) => weighted(t, d, iou(predictions.get(t)!, d), WEAK_IOU);
    const confirmed = left.tracks.filter((t) => isConfirmed(t, high));
    const leftWeak = this.match(confirmed, weak, overlap, WEAK_IOU, continueTrack);
    leftWeak.tracks.push(...left.tracks.filter((t) => !confirmed.includes(t)));

    for (const t of leftWeak.tracks) {
      const unseenNs = tNs - t.points[t.points.length - 1]!.tNs;
      if (scanned(predictions.get(t)!)) {
        // Looked and not found: the mask holds through this scan (it may be a miss).
        t.misses++;
        t.holdToNs = tNs;
      } else if (unseenNs >= maxUnseenNs) {
        // Never looked at where it could be seen: held until now, then given up.
        t.holdToNs = tNs;
        t.misses = this.maxMisses;
      }
      if (t.misses >= this.maxMisses) {
        t.active = false;
        if (!exited.has(t)) this.lostAt.set(t, tNs);
      }
    }
    const matched = live.filter((t) => t.points[t.points.length - 1]!.tNs === tNs).map((t) => t.points[t.points.length - 1]!);
    // Biggest first, so a whole person is kept and the pieces inside it are dropped.
    for (const d of [...left.detections].sort((a, b) => area(b) - area(a))) {
      // A second box on objects already matched is those objects, not another one: a
      // piece of one (its upper half, a tile-cut piece), or one box around two people
      // walking side by side (on real footage, tests/masking/persons.test.ts, such a
      // box started a track whose head band covered both heads, so leaving one of
      // them visible left them masked).
      if (coveredShare(d, matched) >= 0.6) continue;
      const look = describe && lookOf(d);
      const lost = this.reactivation(target, d, tNs, look);
      if (lost) {
        lost.points.push({ ...point(d, tNs), reacquired: true });
        lost.holdToNs = tNs;
        lost.active = true;
        lost.misses = 0;
        this.lostAt.delete(lost);
        if (look) this.looks.set(lost, blend(this.looks.get(lost), look));
        continue;
      }
      const t = this.start(target, d, tNs, Math.min(tNs, lastScanNs(d)));
      matched.push(t.points[0]!);
      if (look) this.looks.set(t, look);
    }
  }

  /**
   * The picture cut to another view (a PTZ preset, a switched feed) at this scan:
   * every live track ends just before it, masked up to then (the cut happened after
   * the previous scan, somewhere before this frame), and none may be re-activated in
   * the new view, where the same place is another place.
   */
  cut(tNs: number): void {
    for (const t of this.tracks) {
      if (!t.active) continue;
      t.active = false;
      t.holdToNs = Math.max(t.holdToNs, tNs - 1);
    }
    this.lostAt.clear();
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

  private start(target: MaskTarget, d: Detection, tNs: number, holdFromNs: number): Track {
    const t: Track = { id: this.nextId++, target, points: [point(d, tNs)], holdFromNs, holdToNs: tNs, active: true, misses: 0 };
    if (d.label) t.label = d.label;
    this.tracks.push(t);
    return t;
  }

  /** Greedy best-affinity matching; returns what stayed unmatched on both sides. */
  private match(
    tracks: Track[],
    detections: Detection[],
    score: (t: Track, d: Detection) => number,
    min: number,
    onMatch: (t: Track, d: Detection) => void,
  ): { tracks: Track[]; detections: Detection[] } {
    const pairs: { t: number; d: number; score: number }[] = [];
    detections.forEach((d, di) => {
      tracks.forEach((t, ti) => {
        const s = score(t, d);
        if (s >= min) pairs.push({ t: ti, d: di, score: s });
      });
    });
    pairs.sort((a, b) => b.score - a.score);
    const usedT = new Set<number>();
    const usedD = new Set<number>();
    for (const p of pairs) {
      if (usedT.has(p.t) || usedD.has(p.d)) continue;
      usedT.add(p.t);
      usedD.add(p.d);
      onMatch(tracks[p.t]!, detections[p.d]!);
    }
    return { tracks: tracks.filter((_, i) => !usedT.has(i)), detections: detections.filter((_, i) => !usedD.has(i)) };
  }

  /** Whether less than half of a box lies inside the picture. */
  private outside(b: Box): boolean {
    if (!this.picture) return false;
    const inside = intersection(b, { x: 0, y: 0, w: this.picture.width, h: this.picture.height });
    return inside < 0.5 * area(b);
  }

  /**
   * The lost track this detection most plausibly continues: same target, lost less
   * than `reactivateNs` ago, about the same size, within the distance it could have
   * walked, and (where appearances are known) looking alike.
   */
  private reactivation(target: MaskTarget, d: Detection, tNs: number, look: Appearance | undefined): Track | undefined {
    let best: Track | undefined;
    let bestScore = 0;
    for (const [t, lostNs] of this.lostAt) {
      if (t.target !== target) continue;
      if (tNs - lostNs > this.reactivateNs) {
        this.lostAt.delete(t);
        continue;
      }
      const lastSeen = t.points[t.points.length - 1]!;
      // Where it was last seen, in this picture (the camera may have moved since).
      const last = { ...lastSeen, ...carry(this.camera, lastSeen, lastSeen.tNs, tNs) };
      const size = Math.max(last.w, last.h, d.w, d.h);
      const ratio = Math.min(area(last), area(d)) / Math.max(area(last), area(d));
      if (ratio < 0.4) continue;
      // A motion blob has no identity to tell it from the next blob: it is re-activated
      // only within a second (a walker broken up for a moment against a wall of their
      // colour); later, the interpolated mask would sweep the picture between.
      if (target === 'motion' && tNs - lostNs > 1e9) continue;
      // Walking pace is about one body height a second; allow two, and one more.
      const reach = size * (1 + (2 * (tNs - last.tNs)) / 1e9);
      const dist = Math.hypot(last.x + last.w / 2 - (d.x + d.w / 2), last.y + last.h / 2 - (d.y + d.h / 2));
      if (dist > reach) continue;
      const known = this.looks.get(t);
      const alike = known && look ? similarity(known, look) : 0.5;
      if (alike < 0.6 && known && look) continue;
      const score = alike * (1 - dist / reach) * ratio;
      if (score > bestScore) {
        bestScore = score;
        best = t;
      }
    }
    return best;
  }
}

/** Whether a track was found with a score of at least `high` twice. */
function isConfirmed(t: Track, high: number): boolean {
  let n = 0;
  for (const p of t.points) if (p.score >= high && ++n === 2) return true;
  return false;
}

/** The share of a box that lies under any of `boxes`, sampled on an 8x8 grid. */
function coveredShare(b: Box, boxes: readonly Box[]): number {
  const near = boxes.filter((o) => intersection(o, b) > 0);
  if (near.length === 0) return 0;
  let n = 0;
  for (let i = 0; i < 8; i++) {
    const y = b.y + ((i + 0.5) * b.h) / 8;
    for (let j = 0; j < 8; j++) {
      const x = b.x + ((j + 0.5) * b.w) / 8;
      if (near.some((o) => x >= o.x && x < o.x + o.w && y >= o.y && y < o.y + o.h)) n++;
    }
  }
  return n / 64;
}

const point = (d: Detection, tNs: number): TrackPoint => ({ x: d.x, y: d.y, w: d.w, h: d.h, tNs, score: d.score });

/** Running appearance: recent looks count more (light and pose change along a walk). */
function blend(old: Appearance | undefined, look: Appearance): Appearance {
  if (!old) return look;
  const out = new Float32Array(old.length);
  for (let i = 0; i < old.length; i++) out[i] = 0.7 * old[i]! + 0.3 * look[i]!;
  return out;
}

/** Bhattacharyya coefficient of two normalised histograms (1: identical). */
export function similarity(a: Appearance, b: Appearance): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.sqrt(a[i]! * b[i]!);
  return s;
}

/**
 * Constant-velocity prediction in the scene: the last box carried to tNs the way the
 * camera moved (`camera`), moved on at the speed its centre had in the scene over the
 * last VELOCITY_POINTS detections (each carried into the last one's picture first: under
 * a shake the picture's motion between two scans says nothing of the object's). One box
 * merged with a neighbour's, or cut by a tile edge, moves the corner and the centre of
 * that box by half a person; over two detections that read as a turn, and two people
 * crossing swapped tracks (vtest.avi, persons.test.ts). Over a few it is a small error.
 */
export function predict(t: Track, tNs: number, camera: CameraPath = STILL_PATH): Box {
  const pts = t.points;
  const last = pts[pts.length - 1]!;
  const here = carry(camera, last, last.tNs, tNs) ?? last;
  let first = pts.length - 1;
  while (first > 0 && pts.length - first < VELOCITY_POINTS && !pts[first]!.reacquired) first--;
  const from = pts[first]!;
  if (first === pts.length - 1 || last.tNs === from.tNs) return here;
  const seen = carry(camera, from, from.tNs, last.tNs) ?? from;
  const prev = pts[pts.length - 2]!;
  // Predictions far ahead are guesses: cap the extrapolation at two intervals.
  const dt = Math.min(tNs - last.tNs, 2 * (last.tNs - prev.tNs)) / (last.tNs - from.tNs);
  const zoom = here.w / last.w;
  const dx = (last.x + last.w / 2 - (seen.x + seen.w / 2)) * dt * zoom;
  const dy = (last.y + last.h / 2 - (seen.y + seen.h / 2)) * dt * zoom;
  return { x: here.x + dx, y: here.y + dy, w: here.w, h: here.h };
}
/** Detections the velocity is measured over (see predict). */
const VELOCITY_POINTS = 4;

/**
 * Appearance similarity below which a detection is not the track's, however near: well
 * under the 0.6 a lost track needs to be re-activated, since a walker's colours change
 * with pose and light from scan to scan. Measured on vtest (persons.test.ts): 0.5 halved
 * the tracks that swap people at a crossing; 0.65 broke walkers into pieces.
 */
const UNLIKE = 0.5;

/** Overlap a weak detection needs with a track's prediction to continue it. */
const WEAK_IOU = 0.3;

/**
 * How far (in object sizes, the longer side) a detection may lie from a track's
 * prediction, `sinceNs` after the track was last detected: the detector's jitter, plus
 * what the object can cover in that time. A person runs at most about three body heights
 * a second; a face or plate is a small part of a moving body or car and covers many of
 * its own sizes, so those keep the fixed 2.5 sizes a scan (a running person's face at
 * ten scans a second).
 */
function reachOf(target: MaskTarget, sinceNs: number): number {
  if (target !== 'person') return MAX_REACH;
  return Math.min(MAX_REACH, 0.5 + (3 * sinceNs) / 1e9);
}
const MAX_REACH = 2.5;

function affinity(a: Box, b: Box, reach: number): number {
  return Math.max(iou(a, b), centreAffinity(a, b, reach));
}

/** Match score for small fast objects whose boxes no longer overlap between scans. */
function centreAffinity(a: Box, b: Box, reach: number): number {
  const dx = a.x + a.w / 2 - (b.x + b.w / 2);
  const dy = a.y + a.h / 2 - (b.y + b.h / 2);
  const size = Math.max(a.w, a.h, b.w, b.h);
  const dist = Math.hypot(dx, dy) / size;
  const ratio = Math.min(a.w * a.h, b.w * b.h) / Math.max(a.w * a.h, b.w * b.h);
  return dist < reach && ratio > 0.25 ? 0.4 * (1 - dist / reach) : 0;
}

/**
 * Padding around each kind of object, a fraction of its size on every side (plus 2 px):
 * enough for the hair and ears beside a detected face or a plate's frame and for the
 * detector's jitter, while the mask stays within about 25 % of the object's width and
 * height. Faces: 12.5 % a side keeps 99-100 % of 24-60 px faces masked under a pan, a
 * zoom, a shake and a preset jump (tests/masking/moving-camera.test.ts); 5 % drops that
 * to 87-96 %, and 20 % made the mask twice the face's area.
 */
export const PADDING: Record<MaskTarget, number> = { face: 0.125, plate: 0.15, person: 0.1, vehicle: 0.05, motion: 0.05 };

/**
 * The box of a track at time tNs (unpadded), or undefined when the track does not
 * cover it, with each detection carried to tNs the way the camera moved (`camera`; a
 * still camera moves nothing). Between two detections the box is interpolated and
 * widened by the hull of both, so an object that moved between scans stays covered along
 * its path; across a gap where the track was lost (not followed), the interpolated box
 * alone. `part` picks the part of the object that is wanted (a person's head) from each
 * box.
 */
export function rawBoxAt(t: Track, tNs: number, part: (b: Box) => Box = (b) => b, camera: CameraPath = STILL_PATH): Box | undefined {
  if (tNs < t.holdFromNs || tNs > t.holdToNs) return undefined;
  const pts = t.points;
  const first = pts[0]!;
  const last = pts[pts.length - 1]!;
  // Each end is carried to tNs (held where it was seen where the camera's motion is
  // not known): a face still in the scene has both ends in one place however the camera
  // moved between the scans, and its mask need not cover the way between them.
  const here = (b: Box, fromNs: number) => carry(camera, b, fromNs, tNs) ?? b;
  if (tNs <= first.tNs) return hull(part(first), here(part(first), first.tNs));
  if (tNs >= last.tNs) return hull(hull(part(last), here(part(last), last.tNs)), part(predict(t, tNs, camera)));
  let lo = 0;
  let hi = pts.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (pts[mid]!.tNs <= tNs) lo = mid;
    else hi = mid;
  }
  const a = here(smoothed(pts, lo, part, camera), pts[lo]!.tNs);
  const b = here(smoothed(pts, hi, part, camera), pts[hi]!.tNs);
  const k = (tNs - pts[lo]!.tNs) / (pts[hi]!.tNs - pts[lo]!.tNs);
  const mid = lerpBox(a, b, k);
  if (pts[hi]!.reacquired) return mid;
  // Within 30 % of a detection the interpolated box is trusted; further away the path
  // between the two detections is covered whole.
  return k < 0.3 || k > 0.7 ? hull(mid, k < 0.5 ? a : b) : hull(a, b);
}

/**
 * The part of detection i, widened to where its neighbours put the object at its time
 * (carried to its frame): one detection can be an outlier (a box merged with a
 * neighbour's at an occlusion, a piece cut by a tile edge), and the mask at it then still
 * covers the object. Not across a gap where the track was lost.
 */
function smoothed(pts: TrackPoint[], i: number, part: (b: Box) => Box, camera: CameraPath): Box {
  const p = pts[i]!;
  const prev = pts[i - 1];
  const next = pts[i + 1];
  if (!prev || !next || p.reacquired || next.reacquired) return part(p);
  const before = carry(camera, prev, prev.tNs, p.tNs) ?? prev;
  const after = carry(camera, next, next.tNs, p.tNs) ?? next;
  return hull(part(p), part(lerpBox(before, after, (p.tNs - prev.tNs) / (next.tNs - prev.tNs))));
}

/** The padded mask box of a track at tNs (see rawBoxAt). */
export function boxAt(t: Track, tNs: number, camera?: CameraPath): Box | undefined {
  const b = rawBoxAt(t, tNs, undefined, camera);
  return b && pad(b, PADDING[t.target], 2);
}
