/**
 * `veilport trace VIDEO`: looks for the forensic watermark in a video file (a leaked
 * copy: re-encoded, scaled, trimmed, cropped) and prints the package id it carries, or
 * says that none was found. Exit status 0 when found, 1 when not (like grep).
 */
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { VeilportError } from '../../util/errors.js';

const HELP = `usage: veilport trace VIDEO [--start SECONDS] [--seconds N] [--json]
  decodes up to N seconds (default 120) of VIDEO from --start (default 0), averages its
  frames and looks for a Veilport forensic watermark; prints the package id it carries
  (look it up in the export ledger), or says that none was found (exit status 1)`;

const seconds = (name: string, v: string | undefined, dflt: number, min: number) => {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || n < min) throw new VeilportError('BAD_INPUT', `--${name} "${v}": expected a number of seconds (at least ${min})`);
  return n;
};

export async function traceCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { start: { type: 'string' }, seconds: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help || positionals.length !== 1) {
    process.stdout.write(HELP + '\n');
    if (values.help) return 0;
    throw new VeilportError('BAD_INPUT', 'trace needs exactly one video file');
  }
  const file = positionals[0]!;
  if (!existsSync(file)) throw new VeilportError('NOT_FOUND', `video file ${file} not found`);
  const { traceVideo } = await import('../../watermark/trace.js');
  const r = await traceVideo(file, { startS: seconds('start', values.start, 0, 0), seconds: seconds('seconds', values.seconds, 120, 1) });
  const found = r.packageId !== null;
  if (values.json) {
    process.stdout.write(JSON.stringify({ ok: true, found, ...r }, null, 2) + '\n');
  } else if (found) {
    process.stdout.write(`watermark found: package ${r.packageId}\n`);
    process.stdout.write(`  ${r.frames} frames of ${r.width}x${r.height}; sync score ${r.syncScore.toFixed(1)}, coded bits ${(r.agreement * 100).toFixed(1)}% clean; tile period ${r.period!.x.toFixed(1)} x ${r.period!.y.toFixed(1)} px${r.mirrored ? '; mirrored copy' : ''}\n`);
  } else {
    process.stdout.write(`no Veilport watermark found in ${file} (${r.frames} frames of ${r.width}x${r.height} examined; best sync score ${r.syncScore.toFixed(1)})\n`);
  }
  return found ? 0 : 1;
}
