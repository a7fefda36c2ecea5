/**
 * Persons as the unit of masking: the head box derived from a person box, and the face
 * tracks that belong to a person track (one decision in the review for both).
 */
import { intersection, area, type Box } from './geometry.js';
import { rawBoxAt, type Track } from './tracker.js';

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
