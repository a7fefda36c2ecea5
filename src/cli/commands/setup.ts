/** `veilport setup`: first-boot provisioning (see src/appliance/setup.ts and docs/appliance.md). */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { DEFAULT_DROPIN_DIR, DEFAULT_MARKER, PROVISION_FILE, runSetup } from '../../appliance/setup.js';
import { VeilportError } from '../../util/errors.js';

const HELP = `usage: veilport setup [--config FILE] [--provision FILE] [--first-boot] [--user NAME] [--no-token] [--json]

Provisions the appliance: settings from a provisioning file (${PROVISION_FILE}: storage
and export paths, MQTT endpoint, time zone, NAS mounts), the data and export
directories, the appliance's identity key pair and data key, and a one-time bootstrap
token for the first administrator, printed here. Safe to run again: existing keys and
accounts are kept; a new token replaces an unused one.

  --config FILE      settings file to create or update (default /etc/veilport/veilport.json)
  --provision FILE   the provisioning file (default with --first-boot: searched on the
                     boot partition /boot/efi, /boot/firmware, /boot, then USB sticks)
  --first-boot       what veilport-setup.service runs, as root: search for the file,
                     write ${DEFAULT_DROPIN_DIR}/10-paths.conf,
                     leave ${DEFAULT_MARKER}
  --user NAME        the service user who gets the data directory (default veilport, if it exists)
  --no-token         do not issue a bootstrap token`;

export async function setupCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      provision: { type: 'string' },
      'first-boot': { type: 'boolean' },
      user: { type: 'string' },
      'no-token': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const firstBoot = values['first-boot'] === true;
  if (firstBoot && process.getuid?.() !== 0) throw new VeilportError('BAD_INPUT', 'setup --first-boot runs as root (it writes /etc/veilport and the unit drop-in)');
  const say = (text: string) => (values.json ? process.stderr : process.stdout).write(text.endsWith('\n') ? text : text + '\n');
  const report = await runSetup({
    configFile: resolve(values.config ?? '/etc/veilport/veilport.json'),
    ...(values.provision ? { provisionFile: values.provision } : {}),
    search: firstBoot,
    ...(values.user ? { serviceUser: values.user } : {}),
    dropInDir: firstBoot ? DEFAULT_DROPIN_DIR : null,
    marker: firstBoot ? DEFAULT_MARKER : null,
    token: values['no-token'] !== true,
    env: process.env,
    say,
  });
  if (values.json) {
    const { settings, ...rest } = report;
    process.stdout.write(JSON.stringify({ ok: true, ...rest, paths: settings.paths }, null, 2) + '\n');
  } else if (!report.provisionedFrom && firstBoot) {
    say(`veilport setup: no ${PROVISION_FILE} found; defaults kept (edit ${report.configFile}, or run "veilport setup --provision FILE")`);
  }
  return 0;
}
