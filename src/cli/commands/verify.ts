/** `veilport verify FILE`: exit 0 only if the package is authentic and not expired. */
import { parseArgs } from 'node:util';
import { VeilportError } from '../../util/errors.js';
import { verifyPackage } from '../../seal/index.js';

export async function verifyCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, help: { type: 'boolean' } }, allowPositionals: true, strict: true });
  if (values.help || positionals.length !== 1) {
    process.stdout.write('usage: veilport verify FILE [--json]\n');
    if (values.help) return 0;
    throw new VeilportError('BAD_INPUT', 'verify needs exactly one package file');
  }
  const file = positionals[0]!;
  const r = await verifyPackage(file);
  if (values.json) {
    process.stdout.write(JSON.stringify(r, null, 2) + '\n');
  } else {
    const m = r.manifest as { caseId?: string; expiresAt?: string | null; range?: { from: string; to: string }; cameras?: string[] };
    process.stdout.write(`authentic: ${file}\n  package ${r.packageId}, case ${m.caseId ?? '-'}, cameras ${(m.cameras ?? []).join(', ')}, ${m.range ? `${m.range.from} .. ${m.range.to}` : ''}\n`);
    process.stdout.write(`  signed by appliance ${r.applianceId} (key ${r.publicKeyFingerprint}); expires ${m.expiresAt ?? 'never (destruction notice required)'}\n`);
  }
  return 0;
}
