/**
 * A real `veilport serve` process reporting over TLS (mqtts, a test CA made by openssl,
 * password authentication): killed with SIGKILL, the broker delivers its last will,
 * `offline`; stopped with SIGTERM, it says `stopped` itself. The broker URL comes once
 * from VEILPORT_MQTT_URL and once from --mqtt-url.
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Capture, startBroker, validators, type Broker } from './broker.js';
import { boxDir } from '../helpers/box-dir.js';

const dir = boxDir('process');
const recordings = join(dir, 'rec');
const data = join(dir, 'data');
const config = join(dir, 'veilport.json');
mkdirSync(join(recordings, 'lobby'), { recursive: true });
let broker: Broker;

t.before(async () => {
  broker = await startBroker(join(dir, 'broker'), { tls: true });
});
t.teardown(async () => {
  await broker?.stop();
});

interface Child { proc: ChildProcess; stderr: string[]; exited: Promise<number | null>; applianceId: string }

async function serve(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', 'api', 'serve-child.ts'), 'serve', '--config', config, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  const stderr: string[] = [];
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const applianceId = await new Promise<string>((resolve, reject) => {
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (s: string) => {
      stderr.push(s);
      const text = stderr.join('');
      const m = /appliance (vp-\S+)/.exec(text);
      if (m && /telemetry to/.test(text)) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`serve exited ${code}: ${stderr.join('')}`)));
  });
  return { proc, stderr, exited, applianceId };
}

t.test('SIGKILL: the broker sends offline; SIGTERM: the daemon says stopped', async (t) => {
  writeFileSync(config, JSON.stringify({
    server: { listen: '127.0.0.1:0' },
    paths: { data, recordings },
    auth: { scryptLogN: 12 },
    mqtt: { username: broker.user.username, passwordFile: broker.user.passwordFile, caFile: broker.ca!.caFile },
  }));
  const cap = await Capture.open(broker, '#', { url: broker.tlsUrl!, ca: broker.ca!.caFile });
  t.teardown(() => cap.close());

  let d = await serve([], { VEILPORT_MQTT_URL: broker.tlsUrl! });
  t.teardown(() => d.proc.kill('SIGKILL'));
  t.match(d.stderr.join(''), /telemetry to mqtts:\/\/127\.0\.0\.1:\d+/, 'VEILPORT_MQTT_URL: over TLS');
  const availability = () => cap.seen.filter((m) => m.topic === `veilport/${d.applianceId}/availability`).map((m) => m.text);
  await cap.until(() => availability().includes('online'), 15_000, 'online');
  t.pass('online over mqtts with the test CA and a password');

  const t0 = Date.now();
  d.proc.kill('SIGKILL');
  t.equal(await d.exited, null, 'killed');
  await cap.until(() => availability().at(-1) === 'offline', 10_000, 'the last will');
  t.pass(`the broker delivered the last will "offline" ${Date.now() - t0} ms after the kill`);

  d = await serve(['--mqtt-url', broker.tlsUrl!]);
  t.match(d.stderr.join(''), /telemetry to mqtts:/, '--mqtt-url');
  await cap.until(() => availability().at(-1) === 'online', 15_000, 'online again');
  d.proc.kill('SIGTERM');
  t.equal(await d.exited, 0, 'a clean stop exits 0');
  await cap.until(() => availability().at(-1) === 'stopped', 5000, 'stopped');
  await new Promise((r) => setTimeout(r, 300));
  t.same(availability().slice(-3), ['offline', 'online', 'stopped'], 'a crash reads offline, a shutdown reads stopped');

  const check = validators();
  const bad = cap.seen.map((s) => ({ s, r: check(s) })).filter((x) => x.r.errors).map((x) => `${x.s.topic}: ${x.r.errors}`);
  t.same(bad, [], `all ${cap.seen.length} payloads match their schemas`);
});
