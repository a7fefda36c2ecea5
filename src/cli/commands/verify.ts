/**
 * `veilport verify FILE`: exit 0 only if the package is unchanged since sealing, signed
 * by a TRUSTED appliance key (this box's, a --trust-key, or the fleet trust file) and
 * not expired. A valid signature by any other key is "signed by an unknown appliance
 * key <fingerprint>", exit 1.
 */
import { parseArgs } from 'node:util';
import { VeilportError } from '../../util/errors.js';
import { verifyPackage } from '../../seal/index.js';
import { TRUST_OPTIONS, TRUST_USAGE, trustFromArgs } from '../trust-args.js';

export async function verifyCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { ...TRUST_OPTIONS, json: { type: 'boolean' }, help: { type: 'boolean' } }, allowPositionals: true, strict: true });
  if (values.help || positionals.length !== 1) {
    process.stdout.write(`usage: veilport verify FILE [--data DIR] [--trust-key HEX|FILE]... [--trust-file FILE] [--json]\n\n${TRUST_USAGE}\n`);
    if (values.help) return 0;
    throw new VeilportError('BAD_INPUT', 'verify needs exactly one package file');
  }
  const file = positionals[0]!;
  const trust = await trustFromArgs(values);
  const r = await verifyPackage(file, { trust });
  if (values.json) {
    process.stdout.write(JSON.stringify(r, null, 2) + '\n');
  } else {
    const m = r.manifest as { caseId?: string; expiresAt?: string | null; range?: { from: string; to: string }; cameras?: string[] };
    process.stdout.write(`authentic: ${file}\n  package ${r.packageId}, case ${m.caseId ?? '-'}, cameras ${(m.cameras ?? []).join(', ')}, ${m.range ? `${m.range.from} .. ${m.range.to}` : ''}\n`);
    process.stdout.write(`  signed by appliance ${r.applianceId} (key ${r.publicKeyFingerprint}), trusted as ${r.trustedAs!.label}; expires ${m.expiresAt ?? 'never (destruction notice required)'}\n`);
  }
  return 0;
}
