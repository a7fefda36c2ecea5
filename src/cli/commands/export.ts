/** `veilport export`: analyse (or reuse the stored analysis), mask, encode and seal. */
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { VeilportError } from '../../util/errors.js';
import { MASK_STYLES, type MaskStyle } from '../../masking/styles.js';
import type { MaskPlan } from '../../masking/plan.js';
import { PERSON_MASKS, type PersonMask } from '../../masking/people.js';
import { renderAndSeal } from '../../export/job.js';
import { loadOrCreateSigningKey } from '../../seal/index.js';
import { parseDuration, parseIds, parseRegion, readPasswordFile, readPrivacyZones, requireOpt } from '../args.js';
import { dataDir, footageAndAnalysis, FOOTAGE_OPTIONS, parseArgs } from './footage.js';

const HELP = `usage: veilport export --recordings DIR --camera NAME --from ISO --to ISO --out FILE
       --password-file F [--mask person,face,plate,motion] [--style mosaic|blur|solid]
       [--person-mask head|body]
       [--unmask ID...] [--region X,Y,W,H[@FROM-TO]...] [--privacy-zones FILE]
       [--expires 14d | --no-expiry] [--allow-extract] [--profile NAME]
       [--case ID] [--purpose TEXT] [--legal-basis TEXT] [--requester-org TEXT]
       [--requester-type subject|police|court|other] [--scan-hz N] [--data DIR] [--json]`;

const OPTIONS = {
  ...FOOTAGE_OPTIONS,
  out: { type: 'string' },
  'password-file': { type: 'string' },
  style: { type: 'string' },
  'person-mask': { type: 'string' },
  unmask: { type: 'string', multiple: true },
  region: { type: 'string', multiple: true },
  'privacy-zones': { type: 'string' },
  expires: { type: 'string' },
  'no-expiry': { type: 'boolean' },
  'allow-extract': { type: 'boolean' },
  case: { type: 'string' },
  purpose: { type: 'string' },
  'legal-basis': { type: 'string' },
  'requester-org': { type: 'string' },
  'requester-type': { type: 'string' },
} as const;

export async function exportCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: OPTIONS, strict: true });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const out = resolve(requireOpt(values, 'out'));
  const password = readPasswordFile(requireOpt(values, 'password-file'));
  const style = (values.style ?? 'mosaic') as MaskStyle;
  if (!MASK_STYLES.includes(style)) throw new VeilportError('BAD_INPUT', `--style "${values.style}": choose mosaic, blur or solid`);
  const personMask = (values['person-mask'] ?? 'head') as PersonMask;
  if (!PERSON_MASKS.includes(personMask)) throw new VeilportError('BAD_INPUT', `--person-mask "${values['person-mask']}": choose head or body`);
  if (values['no-expiry'] && values.expires) throw new VeilportError('BAD_INPUT', '--expires and --no-expiry exclude each other');
  const requesterType = values['requester-type'] ?? 'other';
  if (!['subject', 'police', 'court', 'other'].includes(requesterType)) {
    throw new VeilportError('BAD_INPUT', `--requester-type "${requesterType}": choose subject, police, court or other`);
  }
  const expiresMs = values['no-expiry'] ? undefined : parseDuration('expires', values.expires ?? '14d');
  const unmasked = parseIds('unmask', values.unmask ?? []);
  const manualRegions = (values.region ?? []).map(parseRegion);
  const privacyZones = values['privacy-zones'] ? readPrivacyZones(values['privacy-zones'], requireOpt(values, 'camera')) : [];

  const { r, analysis } = await footageAndAnalysis(values);
  const plan: MaskPlan = { style, personMask, unmasked, manualRegions, privacyZones };
  const result = await renderAndSeal(
    r,
    analysis,
    {
      out,
      password,
      signer: await loadOrCreateSigningKey(join(dataDir(values), 'keys')),
      caseId: values.case ?? `case-${randomUUID().slice(0, 8)}`,
      requester: { reference: null, organisation: values['requester-org'] ?? null, type: requesterType },
      purpose: values.purpose ?? null,
      legalBasis: values['legal-basis'] ?? null,
      expiresMs,
      allowExtract: values['allow-extract'] === true,
      plan,
    },
    { progress: !values.quiet },
  );
  if (values.json) process.stdout.write(JSON.stringify({ ok: true, ...result }, null, 2) + '\n');
  else {
    process.stdout.write(`sealed package: ${out}\n  package id ${result.packageId}, ${result.frames} frames, ${result.tracksMasked} tracks masked, ${result.tracksUnmasked} left visible\n`);
    process.stdout.write(`  expires: ${result.expiresAt ?? 'never (destruction notice required)'}\n`);
    process.stdout.write(`check it:  veilport verify ${out}\nplay it:   veilport open ${out} --password-file FILE\n`);
  }
  return 0;
}
