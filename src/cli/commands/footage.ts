/** Options shared by analyse and export: which footage, which masking, which profile. */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { VeilportError } from '../../util/errors.js';
import { parseTargets, DEFAULT_TARGETS } from '../../export/detectors.js';
import { analysesDirOf, analysisFor, resolveFootage, type FootageSpec } from '../../export/job.js';
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

/** The footage spec the command line describes. */
export function footageSpec(values: FootageValues): FootageSpec {
  return {
    recordings: requireOpt(values, 'recordings'),
    camera: requireOpt(values, 'camera'),
    from: parseTime('from', requireOpt(values, 'from')),
    to: parseTime('to', requireOpt(values, 'to')),
    ...(values.layout ? { layout: values.layout as string } : {}),
    ...(values.tz ? { timeZone: values.tz as string } : {}),
    targets: values.mask ? parseTargets(values.mask as string) : DEFAULT_TARGETS,
    ...(values.profile ? { profile: values.profile as string } : {}),
    scanHz: scanHz(values),
  };
}

export function scanHz(values: FootageValues): number {
  const s = values['scan-hz'];
  if (s === undefined) return 6;
  if (typeof s !== 'string' || !/^\d+(\.\d+)?$/.test(s) || Number(s) < 1 || Number(s) > 60) {
    throw new VeilportError('BAD_INPUT', `--scan-hz "${String(s)}": expected scans per second from 1 to 60`);
  }
  return Number(s);
}

/** Resolves the footage and loads or runs its analysis, with progress on stderr. */
export async function footageAndAnalysis(values: FootageValues) {
  const r = await resolveFootage(footageSpec(values));
  const analysis = await analysisFor(r, analysesDirOf(dataDir(values)), { progress: !values.quiet });
  return { r, analysis };
}

export { parseArgs };
