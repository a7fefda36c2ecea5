/**
 * Persons as the unit of masking: the head box derived from a person box, and the face
 * tracks that belong to a person track (one decision in the review for both).
 */
import { intersection, area, type Box } from './geometry.js';
import { rawBoxAt, type Track, type TrackPoint } from './tracker.js';

/** What of a person the render masks. */
export type PersonMask = 'head' | 'body';
export const PERSON_MASKS: readonly PersonMask[] = ['head', 'body'];

/**
 * The head inside a person box: the top band of the box, its whole width, reaching a
 * little above it. Where across the top the head is, a box does not say: walkers' boxes
 * are widened by swinging arms, bags and a turned body, and a bent or turning head is
 * off the box's axis (on real elevated footage, tests/masking/persons.test.ts, heads at
 * a box's edge were the misses of a centred half-width box). Detector boxes also cut the
 * hair by a few pixels. The band is a fifth of the height (a standing adult's head is
 * about a seventh), at least half the width tall for boxes not much taller than wide (a
 * seated or half-hidden person): still a small share of the person.
 */
export function headBox(p: Box): Box {
  const h = Math.min(p.h, Math.max(0.2 * p.h, 0.5 * p.w));
  const up = 0.15 * h;
  return { x: p.x, y: p.y - up, w: p.w, h: h + up };
}

/** How far around a detection a person's height is looked for (ns). */
const HEIGHT_WINDOW_NS = 1e9;
/** A box this much shorter than the person's height there has lost an end. */
const CUT_SHARE = 0.8;
/** A restored box is at most this many times its detected height. */
const MAX_RESTORE = 1.5;
/**
 * The person track with each box made again from the person's other detections within
 * a second (`adjust` gets the box and those), cached per track. A track still being
 * followed grows; its copy is made again then. The detections themselves stay as the
 * model gave them (the review shows those); only the mask uses these.
 */
function withHeights(t: Track, cache: WeakMap<Track, Track>, adjust: (p: TrackPoint, near: TrackPoint[]) => TrackPoint): Track {
  let out = cache.get(t);
  if (out && out.points.length === t.points.length && out.holdToNs === t.holdToNs) return out;
  const pts = t.points;
  let from = 0;
  const points = pts.map((p): TrackPoint => {
    while (pts[from]!.tNs < p.tNs - HEIGHT_WINDOW_NS) from++;
    let to = from;
    while (to < pts.length && pts[to]!.tNs <= p.tNs + HEIGHT_WINDOW_NS) to++;
    return adjust(p, pts.slice(from, to));
  });
  out = { ...t, points };
  cache.set(t, out);
  return out;
}

/** Whether box b differs from p at the top (the feet in place), not at the bottom. */
const sameFeet = (p: Box, b: Box) => Math.abs(p.y + p.h - (b.y + b.h)) < Math.abs(p.y - b.y);

/** `p` with its top moved to `h` above its feet. */
const heightAt = (p: TrackPoint, h: number): TrackPoint => ({ ...p, y: p.y + p.h - h, h });

const restored = new WeakMap<Track, Track>();

/**
 * The person track with each box restored to the person's height where the detector cut
 * its top: a walker whose head is against a darker background, or whose upper body
 * crosses another person, is boxed from the shoulders down for a few scans while the
 * feet stay put (on real elevated footage, tests/masking/persons.test.ts, a 23x80 walker
 * was boxed 34x59). Its head band would then lie on the shoulders. The height is the
 * tallest detection within a second; a box is restored only where it is more than a
 * fifth shorter, its bottom is where that tallest box put the feet (a box cut at the
 * feet keeps its top) and by at most half its own height.
 */
export function withFullHeight(t: Track): Track {
  return withHeights(t, restored, (p, near) => {
    const ref = near.reduce((a, b) => (b.h > a.h ? b : a), p);
    if (p.h >= CUT_SHARE * ref.h || !sameFeet(p, ref)) return p;
    return heightAt(p, Math.min(ref.h, MAX_RESTORE * p.h));
  });
}

const lowered = new WeakMap<Track, Track>();

/**
 * The person track with each box's top lowered to the shortest height the person had
 * within a second, feet in place, where that is less than a fifth shorter (shorter is a
 * cut box: see withFullHeight). A box's height varies with the tile it was found in, and
 * one that reaches above the head (a sign behind it) puts its head band above the head:
 * on real footage held still (persons.test.ts), one crop boxed a 78 px person 93 px
 * tall at four scans in a row, and the band covered 82 % of the head. The head mask is
 * the hull of the bands of both tracks, so it covers the head at either height.
 */
export function withShortHeight(t: Track): Track {
  return withHeights(t, lowered, (p, near) => {
    let h = p.h;
    for (const b of near) if (b.h < h && b.h >= CUT_SHARE * p.h && sameFeet(p, b)) h = b.h;
    return h < p.h ? heightAt(p, h) : p;
  });
}

/**
 * Attaches each face track to the person track whose head region holds it in most of
 * the frames they share (at least half of the face's detections), so leaving a person
 * visible leaves their face visible and masking them masks it.
 */
export function attachFaces(tracks: Track[]): void {
  const persons = tracks.filter((t) => t.target === 'person');
  for (const face of tracks.filter((t) => t.target === 'face')) {
    let best: Track | undefined;
    let bestHits = 0;
    for (const p of persons) {
      let hits = 0;
      for (const pt of face.points) {
        const body = rawBoxAt(p, pt.tNs);
        if (!body) continue;
        // The upper third of the person, a little wider: where a face can be.
        const upper = { x: body.x - body.w * 0.1, y: body.y - body.h * 0.05, w: body.w * 1.2, h: body.h * 0.4 };
        if (intersection(upper, pt) >= 0.6 * area(pt) || isCloseUp(body, pt)) hits++;
      }
      if (hits > bestHits) {
        bestHits = hits;
        best = p;
      }
    }
    if (best && bestHits * 2 >= face.points.length) face.ownerId = best.id;
  }
}

/**
 * A "person" box that a face fills (half of it or more) is that face seen close: the
 * person detector also fires on a face that fills the view. Its head band would lie
 * across the face and above it; the face's own mask is the right one.
 */
export const isCloseUp = (person: Box, face: Box) => intersection(person, face) >= 0.5 * area(person);

/**
 * Whether a person's mask at tNs is already the mask of an owned face that will be
 * masked: the person is a close-up of that face (see isCloseUp).
 */
export function maskedByOwnFace(person: Track, faces: readonly Track[], visible: ReadonlySet<number>, tNs: number): boolean {
  const body = rawBoxAt(person, tNs);
  if (!body) return false;
  return faces.some((f) => {
    if (f.ownerId !== person.id || visible.has(f.id)) return false;
    const face = rawBoxAt(f, tNs);
    return face !== undefined && isCloseUp(body, face);
  });
}

/** Track ids left visible once ownership is applied: a visible person shows their face. */
export function visibleIds(tracks: readonly Track[], unmasked: Iterable<number>): Set<number> {
  const visible = new Set(unmasked);
  for (const t of tracks) if (t.ownerId !== undefined && visible.has(t.ownerId)) visible.add(t.id);
  return visible;
}
