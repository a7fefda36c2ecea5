/**
 * The mask plan: what the render masks. By default every track; the reviewer leaves
 * tracks visible (the data subject), adds manual regions with time spans, and the
 * camera's fixed privacy zones always apply.
 */
import { VeilportError } from '../util/errors.js';
import { clip, hull, pad, type Box } from './geometry.js';
import type { MaskStyle } from './styles.js';
import { headBox, maskedByOwnFace, visibleIds, withFullHeight, withShortHeight, type PersonMask } from './people.js';
import { PADDING, boxAt, rawBoxAt, type Track } from './tracker.js';
import type { CameraPath } from './camera-path.js';

export interface ManualRegion extends Box {
  /** Span in ns from the start of the export; the region applies within [fromNs, toNs]. */
  fromNs: number;
  toNs: number;
}

export interface MaskPlan {
  style: MaskStyle;
  /** What of each person track is masked (default head). */
  personMask?: PersonMask;
  /** Track ids left visible. */
  unmasked: number[];
  manualRegions: ManualRegion[];
  /** Fixed privacy zones of the camera, masked in every frame. */
  privacyZones: Box[];
}

export function checkPlan(plan: MaskPlan, tracks: Track[]): void {
  const ids = new Set(tracks.map((t) => t.id));
  for (const id of plan.unmasked) {
    if (!ids.has(id)) throw new VeilportError('BAD_INPUT', `--unmask ${id}: no track with that id (tracks: ${[...ids].join(', ') || 'none'})`);
  }
  for (const [i, r] of plan.manualRegions.entries()) {
    if (!(r.w > 0 && r.h > 0) || !(r.toNs >= r.fromNs)) throw new VeilportError('BAD_INPUT', `manual region ${i + 1}: needs a positive size and from <= to`);
  }
}

/** The boxes to mask in the frame at tNs, clipped to the frame (tracks follow `camera` between scans). */
export function masksAt(plan: MaskPlan, tracks: Track[], tNs: number, width: number, height: number, camera?: CameraPath): Box[] {
  const out: Box[] = [];
  const visible = visibleIds(tracks, plan.unmasked);
  const faces = tracks.filter((t) => t.target === 'face' && t.ownerId !== undefined);
  for (const t of tracks) {
    if (visible.has(t.id)) continue;
    if (t.target === 'person' && maskedByOwnFace(t, faces, visible, tNs)) continue;
    const b = trackMask(t, tNs, plan.personMask ?? 'head', camera);
    const c = b && clip(b, width, height);
    if (c) out.push(c);
  }
  for (const r of plan.manualRegions) {
    if (tNs < r.fromNs || tNs > r.toNs) continue;
    const c = clip(r, width, height);
    if (c) out.push(c);
  }
  for (const z of plan.privacyZones) {
    const c = clip(z, width, height);
    if (c) out.push(c);
  }
  return out;
}

/**
 * The mask of one track at tNs: persons by their head (or body; the head at the
 * person's heights around tNs, see withFullHeight and withShortHeight), vehicles not at all
 * (their plates and drivers' faces are tracks of their own), everything else whole.
 */
export function trackMask(t: Track, tNs: number, personMask: PersonMask, camera?: CameraPath): Box | undefined {
  if (t.target === 'vehicle') return undefined;
  if (t.target !== 'person') return boxAt(t, tNs, camera);
  if (personMask === 'body') return boxAt(withFullHeight(t), tNs, camera);
  const high = rawBoxAt(withFullHeight(t), tNs, headBox, camera);
  const low = rawBoxAt(withShortHeight(t), tNs, headBox, camera);
  const head = high && low ? hull(high, low) : high;
  return head && pad(head, PADDING.person, 2);
}
