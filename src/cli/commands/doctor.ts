/** `veilport doctor`: what this box needs for exports, checked and explained (src/appliance/doctor.ts). */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { CHECK_IDS, formatReport, runDoctor } from '../../appliance/doctor.js';
import { VeilportError } from '../../util/errors.js';

const HELP = `usage: veilport doctor [--config FILE] [--user NAME] [--only CHECK,...] [--brief] [--json]

Checks, and says how to fix: the settings, GStreamer elements per pipeline profile
(which one this box runs, and why not the others), the models and their hashes, the
recordings storage (mounted, readable), the export area and data directory (writable,
free space), key file permissions, the clock (NTP), the MQTT broker, the systemd
sandbox against the settings, and the service itself.
Exit code 1 when something blocks exports, 0 otherwise (warnings included).

  --config FILE   settings file (default /etc/veilport/veilport.json if it exists)
  --user NAME     check file access as this user (default: the unit's User=, else veilport)
  --models DIR    model directory (default: the installed models/)
  --only LIST     some checks only: ${CHECK_IDS.join(', ')}
  --brief         details only for warnings and failures
  --json          the report as JSON`;

export async function doctorCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      user: { type: 'string' },
      models: { type: 'string' },
      only: { type: 'string' },
      brief: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const only = values.only?.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = only?.filter((o) => !(CHECK_IDS as readonly string[]).includes(o));
  if (unknown?.length) throw new VeilportError('BAD_INPUT', `--only: unknown check ${unknown.join(', ')}; checks: ${CHECK_IDS.join(', ')}`);
  const configFile = values.config ? resolve(values.config) : existsSync('/etc/veilport/veilport.json') ? '/etc/veilport/veilport.json' : null;
  const report = await runDoctor({
    configFile,
    env: process.env,
    ...(values.user ? { serviceUser: values.user } : {}),
    ...(values.models ? { modelsDir: resolve(values.models) } : {}),
    ...(only ? { only } : {}),
  });
  process.stdout.write(values.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report, !values.brief));
  return report.blockedBy.length ? 1 : 0;
}
