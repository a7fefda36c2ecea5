/**
 * One export as a job: footage spec in, stored analysis, then a sealed package out.
 * The CLI and the workflow's job runner both drive exports through these three
 * functions, so there is one path from footage to package.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { openCatalog, hashFile } from '../media/catalog.js';
import { selectProfile } from '../media/probe.js';
import type { Profile } from '../media/profiles.js';
import type { MaskPlan } from '../masking/plan.js';
import type { LoadedModel } from '../masking/models.js';
import { sealPackage, type SigningKey } from '../seal/index.js';
import { createEmbedder, WATERMARK_SCHEME } from '../watermark/index.js';
import { assertNoProblems, analyseFootage, maskingSummary, renderFootage, type RangeFootage } from './export.js';
import { buildDetectors, type Target } from './detectors.js';
import { analysisKey, loadAnalysis, saveAnalysis, type StoredAnalysis } from './analysis-store.js';
import { refuseDegraded, type DegradedDecision } from './degraded.js';
import type { ProgressListener } from './progress.js';
import { VeilportError } from '../util/errors.js';

export interface FootageSpec {
  recordings: string;
  camera: string;
  from: Date;
  to: Date;
  /** Recordings layout pattern and time zone of its names (catalog defaults when absent). */
  layout?: string;
  timeZone?: string;
  targets: Target[];
  /** Force a pipeline profile; the best one this box can run otherwise. */
  profile?: string;
  scanHz: number;
}

export interface JobHooks {
  /** Progress lines on stderr (the CLI). */
  progress?: boolean;
  onProgress?: ProgressListener;
  /** Cancels the job: pipelines are killed and the step fails. */
  signal?: AbortSignal;
}

export interface AnalysisHooks extends JobHooks {
  /** Only this stored analysis will do (the one a reviewer saw); never analyse again. */
  requireKey?: string;
}

export interface ResolvedFootage {
  footage: RangeFootage;
  segments: { camera: string; file: string; sha256: string; from: string; to: string }[];
  profile: Profile;
  targets: Target[];
  scanHz: number;
}

/** Finds the footage for the spec; fails closed on any damaged segment inside the range. */
export async function resolveFootage(spec: FootageSpec): Promise<ResolvedFootage> {
  const catalog = openCatalog({
    root: spec.recordings,
    ...(spec.layout ? { layout: spec.layout } : {}),
    ...(spec.timeZone ? { timeZone: spec.timeZone } : {}),
  });
  const plan = await catalog.resolveRange(spec.camera, spec.from, spec.to);
  // A damaged segment inside the range would leave a hole nobody reviewed.
  assertNoProblems(plan.problems);
  const { profile } = await selectProfile(spec.profile);
  const segments = [];
  for (const p of plan.pieces) {
    const from = new Date(p.segmentStart.getTime() + p.inpointNs / 1e6).toISOString();
    const to = new Date(p.segmentStart.getTime() + p.outpointNs / 1e6).toISOString();
    segments.push({ camera: spec.camera, file: p.file, sha256: await hashFile(p.file), from, to });
  }
  return { footage: { camera: spec.camera, from: spec.from, to: spec.to, pieces: plan.pieces, gaps: plan.gaps }, segments, profile, targets: spec.targets, scanHz: spec.scanHz };
}

/** Loads the stored analysis for exactly this footage and settings, or runs it. */
export async function analysisFor(
  r: ResolvedFootage,
  analysesDir: string,
  hooks: AnalysisHooks = {},
): Promise<{ stored: StoredAnalysis; models: LoadedModel[]; fps?: number }> {
  const { detectors, models } = await buildDetectors(r.targets);
  const parts = {
    camera: r.footage.camera,
    from: r.footage.from.toISOString(),
    to: r.footage.to.toISOString(),
    targets: r.targets,
    models: models.map((m) => m.sha256),
    segments: r.segments.map((s) => ({ file: s.file, sha256: s.sha256 })),
    scanHz: r.scanHz,
  };
  const key = analysisKey(parts);
  if (hooks.requireKey && hooks.requireKey !== key) {
    throw new VeilportError('CONFLICT', 'the footage, the models or the analysis settings changed since the masking was reviewed; analyse and review again');
  }
  const cached = await loadAnalysis(analysesDir, key);
  if (cached) return { stored: cached, models };
  if (hooks.requireKey) throw new VeilportError('NOT_FOUND', `the reviewed analysis ${key} is missing from the box; analyse and review again`);
  const result = await analyseFootage(r.footage, {
    profile: r.profile,
    detectors,
    motion: r.targets.includes('motion'),
    scanHz: r.scanHz,
    progress: hooks.progress ?? false,
    ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
    ...(hooks.signal ? { signal: hooks.signal } : {}),
  });
  return { stored: await saveAnalysis(analysesDir, key, parts, result), models, fps: result.fps };
}

export interface SealSpec {
  out: string;
  password: string;
  signer: SigningKey;
  caseId: string;
  requester: { reference: string | null; organisation: string | null; type: string };
  purpose: string | null;
  legalBasis: string | null;
  /** Milliseconds from issue to expiry; undefined: no expiry (destruction notice required). */
  expiresMs: number | undefined;
  allowExtract: boolean;
  plan: MaskPlan;
  /** Degraded stretches of the analysis a reviewer looked at and accepted (see degraded.ts). */
  acceptedDegraded?: DegradedDecision[];
}

export interface ExportOutcome {
  package: string;
  packageId: string;
  bytes: number;
  sha256: string;
  issuedAt: string;
  expiresAt: string | null;
  frames: number;
  framesWithMasks: number;
  tracksMasked: number;
  tracksUnmasked: number;
  gaps: { from: string; to: string }[];
}

/** Renders the masked video straight into a sealed package; nothing clear touches the disk. */
export async function renderAndSeal(r: ResolvedFootage, analysis: { stored: StoredAnalysis; models: LoadedModel[] }, s: SealSpec, hooks: JobHooks = {}): Promise<ExportOutcome> {
  // Before anything is rendered: refuse footage the analysis could not cover.
  refuseDegraded(analysis.stored.degraded, s.plan, analysis.stored.width, analysis.stored.height, s.acceptedDegraded);
  const full = { ...analysis.stored, thumbnails: new Map(), scans: 0, tilesRun: 0 };
  const issuedAt = new Date();
  // Chosen before the render: the forensic watermark in every frame carries it.
  const packageId = randomBytes(16).toString('hex');
  const watermark = createEmbedder(packageId);
  const manifest = {
    caseId: s.caseId,
    requester: s.requester,
    purpose: s.purpose,
    legalBasis: s.legalBasis,
    cameras: [r.footage.camera],
    range: { from: r.footage.from.toISOString(), to: r.footage.to.toISOString() },
    gaps: r.footage.gaps.map((g) => ({ from: g.from.toISOString(), to: g.to.toISOString() })),
    issuedAt: issuedAt.toISOString(),
    expiresAt: s.expiresMs === undefined ? null : new Date(issuedAt.getTime() + s.expiresMs).toISOString(),
    allowExtract: s.allowExtract,
    masking: maskingSummary(full, s.plan, analysis.models, r.targets),
    sources: r.segments,
    video: { container: 'mp4-fragmented', codec: 'h264', width: full.width, height: full.height, profile: r.profile.name, watermark: WATERMARK_SCHEME },
    applianceId: s.signer.applianceId,
  };
  let sealed: Awaited<ReturnType<typeof sealPackage>> | undefined;
  const stats = await renderFootage(r.footage, {
    profile: r.profile,
    analysis: full,
    plan: s.plan,
    progress: hooks.progress ?? false,
    ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
    ...(hooks.signal ? { signal: hooks.signal } : {}),
    postProcess: (frame) => watermark.apply(frame),
    sink: async (video) => {
      sealed = await sealPackage({ out: s.out, manifest, video, password: s.password, signer: s.signer, packageId });
    },
  });
  return {
    package: s.out,
    packageId: sealed!.packageId,
    bytes: sealed!.bytes,
    sha256: sealed!.sha256,
    issuedAt: manifest.issuedAt,
    expiresAt: manifest.expiresAt,
    frames: stats.frames,
    framesWithMasks: stats.framesWithMasks,
    tracksMasked: manifest.masking.tracksMasked.length,
    tracksUnmasked: manifest.masking.tracksUnmasked.length,
    gaps: manifest.gaps,
  };
}

export const analysesDirOf = (dataDir: string) => join(dataDir, 'analyses');
