/**
 * veilport: the command line. One clear error line and a non-zero exit for anything
 * that goes wrong; `--json` for machines. Commands are imported lazily so that a
 * quick command (probe, verify) does not load the inference runtime.
 */
import { isVeilportError } from '../util/errors.js';

const USAGE = `usage: veilport <command> [options]

commands:
  probe                       which pipeline profiles this box can run, and why not the rest
  analyse                     detect and track; print the tracks as JSON
  export                      analyse, mask, encode and seal one camera's time range
  verify FILE                 check a sealed package: exit 0 only if authentic and not expired
  open FILE                   verify, decrypt in memory and play (or --extract when allowed)
  player --out FILE.html      write the offline player: one HTML file, no install, no network
  trace VIDEO                 find the forensic watermark in a leaked copy: which package it came from
  demo                        make sample footage and run an export on embedded defaults
  backup                      the store and its data key in one encrypted, signed file
  restore                     a backup into a data directory (stop the service first)
  audit                       the access log: verify its chain and signatures, list entries
  user                        accounts on the console: add, list, unlock, reset-password
  serve                       the daemon: REST API, job runner, retention (see --help)
  setup                       first-boot provisioning: settings, keys, first-admin token
  doctor                      check this box for exports and say how to fix what is missing
  watch                       subscribe to the MQTT broker: a live table of the fleet

run "veilport <command> --help" for its options`;

type Command = (argv: string[]) => Promise<number>;

/** The verdict word that leads a package error line, so a person sees why first. */
const VERDICT: Partial<Record<string, string>> = {
  PACKAGE_TAMPERED: 'tampered',
  PACKAGE_SIGNATURE: 'wrong signature',
  PACKAGE_EXPIRED: 'expired',
  PACKAGE_FORMAT: 'not a package',
  WRONG_PASSWORD: 'wrong password',
};

const COMMANDS: Record<string, () => Promise<Command>> = {
  probe: async () => async (argv) => (await import('./commands/probe.js')).probeCommand(argv.includes('--json')),
  analyse: async () => (await import('./commands/analyse.js')).analyseCommand,
  analyze: async () => (await import('./commands/analyse.js')).analyseCommand,
  export: async () => (await import('./commands/export.js')).exportCommand,
  verify: async () => (await import('./commands/verify.js')).verifyCommand,
  open: async () => (await import('./commands/open.js')).openCommand,
  player: async () => (await import('./commands/player.js')).playerCommand,
  trace: async () => (await import('./commands/trace.js')).traceCommand,
  demo: async () => (await import('./commands/demo.js')).demoCommand,
  backup: async () => (await import('./commands/backup.js')).backupCommand,
  restore: async () => (await import('./commands/backup.js')).restoreCommand,
  audit: async () => (await import('./commands/audit.js')).auditCommand,
  user: async () => (await import('./commands/user.js')).userCommand,
  serve: async () => (await import('./commands/serve.js')).serveCommand,
  setup: async () => (await import('./commands/setup.js')).setupCommand,
  doctor: async () => (await import('./commands/doctor.js')).doctorCommand,
  watch: async () => (await import('./commands/watch.js')).watchCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE + '\n');
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`veilport: error: unknown command "${name}"\n${USAGE}\n`);
    return 2;
  }
  const json = rest.includes('--json');
  try {
    return await (await load())(rest);
  } catch (e) {
    const code = isVeilportError(e) ? e.code : 'INTERNAL';
    const raw = e instanceof Error ? e.message : String(e);
    // A package error may name a sharper verdict than its code ("untrusted" is a valid signature by an unknown key).
    const detailVerdict = isVeilportError(e) && typeof e.details['verdict'] === 'string' ? e.details['verdict'] : undefined;
    const verdict = detailVerdict ?? VERDICT[code];
    const message = verdict && !raw.startsWith(verdict) ? `${verdict}: ${raw}` : raw;
    if (json) process.stdout.write(JSON.stringify({ ok: false, error: { code, message } }) + '\n');
    process.stderr.write(`veilport: error: ${message}\n`);
    if (!isVeilportError(e) && process.env['VEILPORT_DEBUG']) process.stderr.write(`${(e as Error).stack}\n`);
    return code === 'BAD_INPUT' ? 2 : 1;
  }
}
