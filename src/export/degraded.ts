/**
 * Fail closed on degraded analysis: where the analysis could not cover the footage as
 * promised (the camera moved faster than it can follow), the export refuses, naming each
 * stretch, instead of rendering masks that may have missed people there or blanking the
 * picture without anyone deciding it. A stretch is cleared only by a decision a person
 * made about it: the reviewer accepted it after looking at those frames, or placed a
 * manual region over the whole picture for all of it.
 */
import type { MaskPlan } from '../masking/plan.js';
import type { DegradedStretch } from '../masking/scheduler.js';
import { VeilportError } from '../util/errors.js';

export interface DegradedDecision {
  fromNs: number;
  toNs: number;
}

const s3 = (ns: number) => (ns / 1e9).toFixed(3);

export function describeStretch(d: DegradedStretch): string {
  return `${s3(d.fromNs)}-${s3(d.toNs)} s (${d.reason})`;
}

/** Throws unless every degraded stretch is accepted or masked whole by the plan. */
export function refuseDegraded(degraded: readonly DegradedStretch[] | undefined, plan: MaskPlan, width: number, height: number, accepted: readonly DegradedDecision[] = []): void {
  if (degraded === undefined) {
    // An analysis that does not say whether it was degraded cannot be trusted to be whole.
    throw new VeilportError('ANALYSIS_FAILED', 'the analysis does not record where coverage was degraded; analyse the footage again');
  }
  const open = degraded.filter((d) => {
    if (accepted.some((a) => a.fromNs <= d.fromNs && a.toNs >= d.toNs)) return false;
    const blanked = plan.manualRegions.some((r) => r.x <= 0 && r.y <= 0 && r.x + r.w >= width && r.y + r.h >= height && r.fromNs <= d.fromNs && r.toNs >= d.toNs);
    return !blanked;
  });
  if (open.length === 0) return;
  throw new VeilportError(
    'ANALYSIS_FAILED',
    `analysis coverage was degraded at ${open.map(describeStretch).join('; ')}: review those frames and accept them, or mask the whole picture there, before exporting`,
    { degraded: open },
  );
}
