/** `veilport serve`: the daemon (API, job runner, retention) from one validated settings file. */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { loadSettings } from '../../config/settings.js';
import { startDaemon } from '../../daemon/daemon.js';

const HELP = `usage: veilport serve [--config FILE] [--data DIR] [--recordings DIR] [--listen HOST:PORT] [--mqtt-url URL]

--mqtt-url URL    the central broker for telemetry (mqtt://host:1883 or mqtts://host:8883;
                  credentials and CA in the settings' mqtt section; docs/mqtt.md)

Every setting can also be given as VEILPORT_<SECTION>_<KEY> (e.g. VEILPORT_SERVER_LISTEN,
VEILPORT_AUTH_LOCKOUT_MINUTES); flags win over the environment, which wins over the file.`;

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string' }, data: { type: 'string' }, recordings: { type: 'string' }, listen: { type: 'string' }, 'mqtt-url': { type: 'string' }, help: { type: 'boolean' } },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const settings = loadSettings({
    ...(values.config ? { file: values.config } : {}),
    env: process.env,
    overrides: {
      paths: { ...(values.data ? { data: resolve(values.data) } : {}), ...(values.recordings ? { recordings: resolve(values.recordings) } : {}) },
      server: values.listen ? { listen: values.listen } : {},
      mqtt: values['mqtt-url'] !== undefined ? { url: values['mqtt-url'] } : {},
    },
  });
  const daemon = await startDaemon(settings);
  await new Promise<void>((done) => {
    const stop = (signal: string) => {
      process.stderr.write(`veilport: ${signal}: stopping (running jobs go back to the queue)\n`);
      void daemon.close().then(done);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}
