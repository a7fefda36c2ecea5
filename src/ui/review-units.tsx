/**
 * What the review screen shows as cards: one unit per person (a merge group of person
 * tracks, or one track, with the faces attached to it), per unattached face or plate,
 * per vehicle and per unexplained-motion track; and the decision rules the box applies
 * (src/workflow/review-plan.ts, src/masking/people.ts), mirrored so the screen shows
 * at once what the saved decision will be.
 */
import type { Target, Track } from './api';

export type Section = 'persons' | 'facesPlates' | 'vehicles' | 'motion';

export interface Unit {
  /** Stable while the groups do not change: `g<first id>` or `t<id>`. */
  key: string;
  section: Section;
  target: Target;
  /** The tracks this card decides for (a group's members, or one track). */
  ids: number[];
  /** Index into the decision's groups, or null. */
  group: number | null;
  /** Faces attached to the person(s): masked and shown with them. */
  faces: Track[];
  fromSeconds: number;
  toSeconds: number;
  detections: number;
  /** The member with most detections: its thumbnail stands for the card. */
  thumbId: number;
  label?: string;
}

const SECTION: Record<Target, Section> = { person: 'persons', face: 'facesPlates', plate: 'facesPlates', vehicle: 'vehicles', motion: 'motion' };

export function buildUnits(tracks: readonly Track[], groups: readonly number[][]): Unit[] {
  const byId = new Map(tracks.map((t) => [t.id, t]));
  const groupOf = new Map<number, number>();
  groups.forEach((g, i) => g.forEach((id) => groupOf.set(id, i)));
  const units: Unit[] = [];
  const done = new Set<number>();
  const attached = (t: Track) => t.target === 'face' && t.ownerId !== undefined && byId.get(t.ownerId)?.target === 'person';
  for (const t of tracks) {
    if (done.has(t.id) || attached(t)) continue;
    const g = groupOf.get(t.id);
    const members = (g === undefined ? [t] : groups[g]!.map((id) => byId.get(id)).filter((x): x is Track => x !== undefined)).filter((m) => !done.has(m.id));
    for (const m of members) done.add(m.id);
    const ids = members.map((m) => m.id).sort((a, b) => a - b);
    const idSet = new Set(ids);
    const best = members.reduce((a, b) => (b.detections > a.detections ? b : a));
    units.push({
      key: g === undefined ? `t${t.id}` : `g${ids[0]}`,
      section: SECTION[t.target] ?? 'motion',
      target: t.target,
      ids,
      group: g ?? null,
      faces: tracks.filter((f) => attached(f) && idSet.has(f.ownerId!)),
      fromSeconds: Math.min(...members.map((m) => m.fromSeconds)),
      toSeconds: Math.max(...members.map((m) => m.toSeconds)),
      detections: members.reduce((n, m) => n + m.detections, 0),
      thumbId: best.id,
      ...(t.label ? { label: t.label } : {}),
    });
  }
  return units;
}

/** Track ids left visible: the unmasked ones, whole groups, and the faces of visible persons. */
export function visibleSet(tracks: readonly Track[], unmasked: readonly number[], groups: readonly number[][]): Set<number> {
  const v = new Set(withGroups(unmasked, groups));
  for (const t of tracks) if (t.ownerId !== undefined && v.has(t.ownerId)) v.add(t.id);
  return v;
}

export function withGroups(unmasked: readonly number[], groups: readonly number[][]): number[] {
  const out = new Set(unmasked);
  for (const g of groups) if (g.some((id) => out.has(id))) for (const id of g) out.add(id);
  return [...out].sort((a, b) => a - b);
}

/** A unit is visible when every track it decides for is (vehicles are never masked). */
export const unitVisible = (u: Unit, visible: Set<number>) => u.target === 'vehicle' || u.ids.every((id) => visible.has(id));

/** The decision with the unit switched: all its tracks masked, or all left visible. */
export function toggleUnit(unmasked: readonly number[], u: Unit, visible: Set<number>): number[] {
  const ids = new Set(u.ids);
  if (unitVisible(u, visible)) return unmasked.filter((id) => !ids.has(id));
  return [...new Set([...unmasked, ...u.ids])].sort((a, b) => a - b);
}

/**
 * Merges the selected units into one group (their old groups dissolve into it). The box
 * refuses mixed targets; the screen does not offer it. Returns null when fewer than two
 * units or more than one target are selected.
 */
export function mergeUnits(groups: readonly number[][], selected: readonly Unit[]): number[][] | null {
  if (selected.length < 2 || new Set(selected.map((u) => u.target)).size !== 1) return null;
  const ids = [...new Set(selected.flatMap((u) => u.ids))].sort((a, b) => a - b);
  const drop = new Set(selected.map((u) => u.group).filter((g): g is number => g !== null));
  return [...groups.filter((_, i) => !drop.has(i)), ids].sort((a, b) => a[0]! - b[0]!);
}

export function unmergeUnit(groups: readonly number[][], u: Unit): number[][] {
  return groups.filter((_, i) => i !== u.group);
}

/**
 * The head inside a person box, as src/masking/people.ts headBox derives it: drawn over
 * the clip so the reviewer sees what a head mask covers.
 */
export function headBox(p: { x: number; y: number; w: number; h: number }) {
  const w = Math.min(p.w, Math.max(0.5 * p.w, 0.2 * p.h));
  const h = Math.min(p.h, Math.max(1.15 * w, 0.2 * p.h));
  return { x: p.x + (p.w - w) / 2, y: p.y, w, h };
}
