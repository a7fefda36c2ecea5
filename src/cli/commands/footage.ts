/** Options shared by analyse and export: which footage, which masking, which profile. */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { openCatalog, hashFile } from '../../media/catalog.js';
import { selectProfile } from '../../media/probe.js';
import type { Profile } from '../../media/profiles.js';
import { VeilportError } from '../../util/errors.js';
import { assertNoProblems, analyseFootage, type RangeFootage } from '../../export/export.js';
import { buildDetectors, parseTargets, DEFAULT_TARGETS, type Target } from '../../export/detectors.js';
import { analysisKey, loadAnalysis, saveAnalysis, type StoredAnalysis } from '../../export/analysis-store.js';
import type { LoadedModel } from '../../masking/models.js';
import { parseTime, requireOpt } from '../args.js';

export const FOOTAGE_OPTIONS = {
  recordings: { type: 'string' },
  camera: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  layout: { type: 'string' },
  tz: { type: 'string' },
  mask: { type: 'string' },
  profile: { type: 'string' },
  'scan-hz': { type: 'string' },
  data: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

export type FootageValues = Partial<Record<keyof typeof FOOTAGE_OPTIONS, string | boolean>>;

export function dataDir(values: FootageValues): string {
  return (values.data as string | undefined) ?? process.env['VEILPORT_DATA'] ?? join(process.cwd(), 'var');
}

export interface ResolvedFootage {
  footage: RangeFootage;
  segments: { camera: string; file: string; sha256: string; from: string; to: string }[];
  profile: Profile;
  targets: Target[];
}

export async function resolveFootage(values: FootageValues): Promise<ResolvedFootage> {
  const root = requireOpt(values, 'recordings');
  const camera = requireOpt(values, 'camera');
  const from = parseTime('from', requireOpt(values, 'from'));
  const to = parseTime('to', requireOpt(values, 'to'));
  const targets = values.mask ? parseTargets(values.mask as string) : DEFAULT_TARGETS;
  const catalog = openCatalog({
    root,
    ...(values.layout ? { layout: values.layout as string } : {}),
    ...(values.tz ? { timeZone: values.tz as string } : {}),
  });
  const plan = await catalog.resolveRange(camera, from, to);
  // Fail closed: a damaged segment inside the range would leave a hole nobody reviewed.
  assertNoProblems(plan.problems);
  const { profile } = await selectProfile(values.profile as string | undefined);
  const segments = [];
  for (const p of plan.pieces) {
    segments.push({ camera, file: p.file, sha256: await hashFile(p.file), from: new Date(p.segmentStart.getTime() + p.inpointNs / 1e6).toISOString(), to: new Date(p.segmentStart.getTime() + p.outpointNs / 1e6).toISOString() });
  }
  return { footage: { camera, from, to, pieces: plan.pieces, gaps: plan.gaps }, segments, profile, targets };
}

export function scanHz(values: FootageValues): number {
  const s = values['scan-hz'];
  if (s === undefined) return 6;
  if (typeof s !== 'string' || !/^\d+(\.\d+)?$/.test(s) || Number(s) < 1 || Number(s) > 60) {
    throw new VeilportError('BAD_INPUT', `--scan-hz "${String(s)}": expected scans per second from 1 to 60`);
  }
  return Number(s);
}

/** Loads the stored analysis for exactly this footage and settings, or runs it. */
export async function analysisFor(values: FootageValues, r: ResolvedFootage): Promise<{ stored: StoredAnalysis; models: LoadedModel[]; fps?: number }> {
  const { detectors, models } = await buildDetectors(r.targets);
  const hz = scanHz(values);
  const parts = {
    camera: r.footage.camera,
    from: r.footage.from.toISOString(),
    to: r.footage.to.toISOString(),
    targets: r.targets,
    models: models.map((m) => m.sha256),
    segments: r.segments.map((s) => ({ file: s.file, sha256: s.sha256 })),
    scanHz: hz,
  };
  const key = analysisKey(parts);
  const dir = join(dataDir(values), 'analyses');
  const cached = await loadAnalysis(dir, key);
  if (cached) return { stored: cached, models };
  const result = await analyseFootage(r.footage, { profile: r.profile, detectors, motion: r.targets.includes('motion'), scanHz: hz, progress: !values.quiet });
  return { stored: await saveAnalysis(dir, key, parts, result), models, fps: result.fps };
}

export { parseArgs };
