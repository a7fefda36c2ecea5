/**
 * What the job runner does for each kind of job: pass 1 (analyse) and pass 2 (render
 * and seal) of the export engine, for one request, with the request moved along.
 *
 * The render refuses to run on an analysis other than the one reviewed: if the
 * footage or models changed since, the track ids the reviewer chose would point at
 * other people.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Settings } from '../config/settings.js';
import type { SigningKey } from '../seal/index.js';
import type { DataKey } from '../store/data-key.js';
import { analysesDirOf, analysisFor, renderAndSeal, resolveFootage, type FootageSpec } from '../export/job.js';
import type { Target } from '../export/detectors.js';
import { VeilportError } from '../util/errors.js';
import type { JobExecutor } from './jobs.js';
import { decisionOf, maskingTally, reportFor, reviewPlan } from './review-plan.js';
import type { Workflow } from './workflow.js';
import type { ExportRequest } from './types.js';

export interface ExecutorDeps {
  settings: Settings;
  signer: SigningKey;
  dataKey: DataKey;
  dataDir: string;
  /** Set once the workflow exists (it owns the runner that calls us). */
  workflow: () => Workflow;
}

function specOf(r: ExportRequest, s: Settings): FootageSpec {
  return {
    recordings: s.paths.recordings,
    camera: r.cameras[0]!,
    from: new Date(r.range.from),
    to: new Date(r.range.to),
    ...(s.paths.layout ? { layout: s.paths.layout } : {}),
    timeZone: s.paths.recordingsTimeZone,
    targets: r.targets as Target[],
    ...(s.jobs.profile ? { profile: s.jobs.profile } : {}),
    scanHz: s.jobs.scanHz,
  };
}

export function jobExecutor(d: ExecutorDeps): JobExecutor {
  return async (job, signal, onProgress) => {
    const wf = d.workflow();
    const hooks = { signal, onProgress };
    if (job.kind === 'analyse') {
      wf.systemStep(job.requestId, ['approved', 'analysing'], 'analysing');
      const r = wf.load(job.requestId);
      const footage = await resolveFootage(specOf(r, d.settings));
      const { stored } = await analysisFor(footage, analysesDirOf(d.dataDir), hooks);
      signal.throwIfAborted(); // a cancel that arrives as the work ends still cancels
      const next = r.batch ? 'rendering' : 'review';
      wf.systemStep(job.requestId, ['analysing'], next, (rec) => {
        rec.analysisKey = stored.key;
        if (rec.batch) wf.jobs.enqueue(rec.id, 'render');
      }, `${stored.tracks.length} track(s) found in ${stored.frameTimesNs.length} frames${footage.footage.gaps.length ? `, ${footage.footage.gaps.length} gap(s) in the recordings` : ''}`);
      return;
    }
    const r = wf.load(job.requestId);
    if (r.state !== 'rendering') throw new VeilportError('CONFLICT', `request ${r.id} is ${r.state}, not rendering`);
    const footage = await resolveFootage(specOf(r, d.settings));
    const analysis = await analysisFor(footage, analysesDirOf(d.dataDir), { ...hooks, requireKey: r.analysisKey! });
    await mkdir(wf.exportsDir, { recursive: true, mode: 0o700 });
    const out = join(wf.exportsDir, `${r.id}.vpkg`);
    // A crash mid-render leaves a partial (ciphertext under a key that is gone): clear it.
    await rm(out, { force: true });
    await rm(out + '.partial', { force: true });
    const password = wf.newPassword();
    // The same plan the review screen previewed and reported on.
    const plan = reviewPlan(r, d.settings);
    const outcome = await renderAndSeal(
      footage,
      analysis,
      {
        out,
        password,
        signer: d.signer,
        caseId: r.id,
        requester: { reference: r.id, organisation: r.requester.organisation, type: r.requester.type },
        purpose: r.purpose,
        legalBasis: r.legalBasis,
        expiresMs: r.expiresAfterDays === null ? undefined : r.expiresAfterDays * 86_400_000,
        allowExtract: false,
        plan,
        // Only stretches a reviewer looked at; a batch export has no reviewer, so it refuses them.
        acceptedDegraded: r.batch ? [] : (r.review.acceptedDegraded ?? []),
      },
      hooks,
    );
    try {
      signal.throwIfAborted();
      const masking = maskingTally(reportFor(analysis.stored, plan), r.batch ? [] : decisionOf(r).groups, plan.personMask ?? 'head');
      wf.systemStep(r.id, ['rendering'], 'sealed', (rec) => {
        rec.package = {
          file: out,
          packageId: outcome.packageId,
          sha256: outcome.sha256,
          bytes: outcome.bytes,
          issuedAt: outcome.issuedAt,
          expiresAt: outcome.expiresAt,
          password: d.dataKey.seal(password, `request:${rec.id}:password`),
          removedAt: null,
          masking,
        };
      }, `package ${outcome.packageId}: ${outcome.frames} frames, ${outcome.tracksMasked} track(s) masked, ${outcome.tracksUnmasked} left visible`);
    } catch (e) {
      // Nobody can be given a package the ledger does not know about.
      await rm(out, { force: true });
      throw e;
    }
  };
}
