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
 * The head inside a person box. A standing adult's head is about 1/7 of their height
 * and half their shoulder width; detector boxes of walkers are widened by swinging arms
 * and legs, and a leaning or turning head is off the box's axis. So the box is at least
 * half the person's width and a fifth of their height, at the top, centred: generous
 * enough for a walker's head, still a small share of the person. A box that is not much
 * taller than wide (a seated or half-hidden person) keeps the same rule on its top part.
 */
export function headBox(p: Box): Box {
  const w = Math.min(p.w, Math.max(0.5 * p.w, 0.2 * p.h));
  const h = Math.min(p.h, Math.max(1.15 * w, 0.2 * p.h));
  return { x: p.x + (p.w - w) / 2, y: p.y, w, h };
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
        if (intersection(upper, pt) >= 0.6 * area(pt)) hits++;
      }
      if (hits > bestHits) {
        bestHits = hits;
        best = p;
      }
    }
    if (best && bestHits * 2 >= face.points.length) face.ownerId = best.id;
  }
}

/** Track ids left visible once ownership is applied: a visible person shows their face. */
export function visibleIds(tracks: readonly Track[], unmasked: Iterable<number>): Set<number> {
  const visible = new Set(unmasked);
  for (const t of tracks) if (t.ownerId !== undefined && visible.has(t.ownerId)) visible.add(t.id);
  return visible;
}
