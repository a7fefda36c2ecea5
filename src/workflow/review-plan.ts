/**
 * The reviewer's decision turned into what the render masks, in one place: the export
 * (executor), the preview frame and the masking report the review screen shows all take
 * their plan from here, so what the reviewer sees before confirm is what is rendered.
 *
 * Merge groups: tracks the reviewer says are the same person (a track lost behind a lamp
 * post and found again as a new one). A group takes one decision for all its members:
 * leaving any member visible leaves the whole group visible, so a person cannot be half
 * shown and half hidden because the tracker split them.
 */
import type { Settings } from '../config/settings.js';
import type { StoredAnalysis } from '../export/analysis-store.js';
import type { MaskPlan } from '../masking/plan.js';
import { PERSON_MASKS, type PersonMask } from '../masking/people.js';
import { maskingReport, type MaskingReport } from '../masking/report.js';
import type { Track } from '../masking/tracker.js';
import { VeilportError } from '../util/errors.js';
import type { ExportRequest, MaskingTally } from './types.js';

/** Ids in a message: the first few, then how many more (an analysis can hold hundreds). */
function listIds(ids: Iterable<number>): string {
  const all = [...ids];
  if (all.length === 0) return 'none';
  const head = all.slice(0, 12).join(', ');
  return all.length > 12 ? `${head} … ${all.length} in all` : head;
}

export function checkPersonMask(v: unknown): PersonMask {
  if (!(PERSON_MASKS as readonly unknown[]).includes(v)) throw new VeilportError('BAD_INPUT', `personMask "${String(v)}": choose ${PERSON_MASKS.join(' or ')}`);
  return v as PersonMask;
}

/**
 * Checks merge groups against the analysis: every id exists, a group has at least two
 * tracks of one target, a track is in at most one group, a face that belongs to a person
 * is merged through its person. Returns the groups sorted (members and groups by id).
 * @throws VeilportError BAD_INPUT naming the group and the track at fault.
 */
export function checkGroups(groups: number[][], tracks: readonly Track[]): number[][] {
  const byId = new Map(tracks.map((t) => [t.id, t]));
  const owner = new Map<number, number>();
  const out: number[][] = [];
  for (const [i, g] of groups.entries()) {
    const where = `groups[${i}]`;
    if (!Array.isArray(g) || g.length < 2) throw new VeilportError('BAD_INPUT', `${where}: a merge group needs at least two tracks`);
    const seen = new Set<number>();
    let target: string | undefined;
    let first: number | undefined;
    for (const id of g) {
      const t = byId.get(id);
      if (!t) throw new VeilportError('BAD_INPUT', `${where}: no track ${id} in this analysis (tracks: ${listIds(byId.keys())})`, { group: i, track: id });
      if (seen.has(id)) throw new VeilportError('BAD_INPUT', `${where}: track ${id} is listed twice`, { group: i, track: id });
      seen.add(id);
      const other = owner.get(id);
      if (other !== undefined) throw new VeilportError('BAD_INPUT', `groups: track ${id} is in groups[${other}] and ${where}; a track belongs to one group at most`, { group: i, track: id });
      owner.set(id, i);
      if (t.target === 'face' && t.ownerId !== undefined) {
        throw new VeilportError('BAD_INPUT', `${where}: track ${id} is the face of person track ${t.ownerId}; merge the person track instead`, { group: i, track: id });
      }
      if (target === undefined) {
        target = t.target;
        first = id;
      } else if (t.target !== target) {
        throw new VeilportError('BAD_INPUT', `${where}: track ${first} is a ${target} and track ${id} a ${t.target}; only tracks of one target can be merged`, { group: i, track: id });
      }
    }
    out.push([...g].sort((a, b) => a - b));
  }
  return out.sort((a, b) => a[0]! - b[0]!);
}

/**
 * Degraded stretches accepted by index into the analysis's list, kept as their spans (so
 * the record says what was accepted even without the analysis).
 * @throws VeilportError BAD_INPUT for an index that names no stretch.
 */
export function checkAccepted(indices: number[], degraded: readonly { fromNs: number; toNs: number }[]): { fromNs: number; toNs: number }[] {
  for (const [i, k] of indices.entries()) {
    if (!Number.isInteger(k) || k < 0 || k >= degraded.length) {
      throw new VeilportError('BAD_INPUT', `acceptedDegraded[${i}]: no degraded stretch ${k} in this analysis (it has ${degraded.length}${degraded.length ? `, numbered 0 to ${degraded.length - 1}` : ''})`);
    }
  }
  return [...new Set(indices)].sort((a, b) => a - b).map((k) => ({ fromNs: degraded[k]!.fromNs, toNs: degraded[k]!.toNs }));
}

/** Which of the analysis's degraded stretches the accepted spans cover (indices). */
export function acceptedIndices(accepted: readonly { fromNs: number; toNs: number }[], degraded: readonly { fromNs: number; toNs: number }[]): number[] {
  return degraded.flatMap((d, i) => (accepted.some((a) => a.fromNs <= d.fromNs && a.toNs >= d.toNs) ? [i] : []));
}

/** Unmasked ids with every group that has a visible member made wholly visible, sorted. */
export function withGroups(unmasked: Iterable<number>, groups: readonly number[][]): number[] {
  const out = new Set(unmasked);
  for (const g of groups) if (g.some((id) => out.has(id))) for (const id of g) out.add(id);
  return [...out].sort((a, b) => a - b);
}

/** The decision's person mask and groups, with the defaults of records made before they existed. */
export function decisionOf(r: ExportRequest): { personMask: PersonMask; groups: number[][] } {
  return { personMask: r.review.personMask ?? 'head', groups: r.review.groups ?? [] };
}

/**
 * The plan the render uses for a request: batch masks everything; otherwise the review
 * decision, groups applied again here (fail closed on no input, but a record saved before
 * groups were normalised must not show half a person), and the camera's privacy zones.
 */
export function reviewPlan(r: ExportRequest, settings: Settings): MaskPlan {
  const { personMask, groups } = decisionOf(r);
  return {
    style: r.review.style,
    personMask,
    unmasked: r.batch ? [] : withGroups(r.review.unmasked, groups),
    manualRegions: r.batch ? [] : r.review.manualRegions,
    privacyZones: settings.cameras[r.cameras[0]!]?.privacyZones ?? [],
  };
}

/** Reports by analysis and plan: the review screen asks again after every change, and a long analysis takes a while. */
const reports = new Map<string, MaskingReport>();
const REPORTS_KEPT = 16;

/** The masking report of `plan` over a stored analysis, computed once per (analysis, plan). */
export function reportFor(a: StoredAnalysis, plan: MaskPlan): MaskingReport {
  const key = `${a.key}\n${JSON.stringify(plan)}`;
  let r = reports.get(key);
  if (!r) {
    r = maskingReport(a, plan);
    reports.set(key, r);
    if (reports.size > REPORTS_KEPT) reports.delete(reports.keys().next().value!);
  }
  return r;
}

/**
 * What the ledger says of the masking in one line: persons (a merge group counts once)
 * masked and left visible, faces and plates not attached to a person, vehicles (never
 * masked), unexplained motion and its share of the picture, stretches of weak coverage.
 */
export function maskingTally(report: MaskingReport, groups: readonly number[][], personMask: PersonMask): MaskingTally {
  const groupOf = new Map<number, number>();
  groups.forEach((g, i) => g.forEach((id) => groupOf.set(id, i)));
  const count = (target: string) => {
    const seen = new Set<string>();
    let masked = 0;
    let visible = 0;
    for (const t of report.tracks) {
      if (t.target !== target || (target === 'face' && t.ownerId !== undefined)) continue;
      const g = groupOf.get(t.id);
      const key = g === undefined ? `t${t.id}` : `g${g}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (t.masked) masked++;
      else visible++;
    }
    return { masked, visible };
  };
  const motion = report.tracks.filter((t) => t.target === 'motion');
  return {
    personMask,
    persons: count('person'),
    faces: count('face'),
    plates: count('plate'),
    vehicles: report.tracks.filter((t) => t.target === 'vehicle').length,
    motion: { masked: motion.filter((t) => t.masked).length, dismissed: motion.filter((t) => !t.masked).length, meanShare: report.unexplainedMotion.meanShare, maxShare: report.unexplainedMotion.maxShare },
    undetectedStretches: report.undetected.length,
    degradedStretches: report.degraded.length,
    maskedShareMean: report.maskedShare.mean,
  };
}
