/**
 * A real broker for the telemetry tests: Debian's mosquitto on free loopback ports with
 * a generated config, password authentication (mosquitto_passwd), persistence (so a
 * subscriber's session and its queued messages survive a broker restart) and, when
 * asked, a TLS listener with a certificate from a test CA made by openssl.
 *
 * Also a subscriber that records every message, and the payload schemas as written in
 * docs/mqtt.md.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';

export const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p)) ?? 'mosquitto';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function waitPort(port: number, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = tcpConnect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`mosquitto did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface TestCa {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** A CA and a server certificate for 127.0.0.1 / localhost (EC P-256, quick to make). */
export function makeTestCa(dir: string): TestCa {
  mkdirSync(dir, { recursive: true });
  const f = (n: string) => join(dir, n);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=Veilport test CA');
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost');
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('ext.cnf'));
  return { caFile: f('ca.pem'), certFile: f('server.pem'), keyFile: f('server.key') };
}

export interface Broker {
  port: number;
  url: string;
  /** mqtts:// URL when started with TLS. */
  tlsUrl?: string;
  ca?: TestCa;
  dir: string;
  /** The daemon's account. */
  user: { username: string; password: string; passwordFile: string };
  /** The test subscriber's account. */
  watcher: { username: string; password: string };
  log: string[];
  start(): Promise<void>;
  /** SIGTERM (mosquitto saves its sessions) and wait. */
  stop(): Promise<void>;
}

export async function startBroker(dir: string, opts: { tls?: boolean } = {}): Promise<Broker> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const tlsPort = opts.tls ? await freePort() : 0;
  const user = { username: 'appliance', password: 'Broker-Pass-1', passwordFile: join(dir, 'appliance.pass') };
  const watcher = { username: 'console', password: 'Console-Pass-2' };
  writeFileSync(user.passwordFile, user.password + '\n', { mode: 0o600 });
  const passwd = join(dir, 'passwd');
  execFileSync('mosquitto_passwd', ['-b', '-c', passwd, user.username, user.password], { stdio: 'pipe' });
  execFileSync('mosquitto_passwd', ['-b', passwd, watcher.username, watcher.password], { stdio: 'pipe' });
  const ca = opts.tls ? makeTestCa(join(dir, 'tls')) : undefined;
  const conf = [
    process.getuid?.() === 0 ? 'user root' : '',
    'per_listener_settings false',
    'allow_anonymous false',
    `password_file ${passwd}`,
    'persistence true',
    `persistence_location ${dir}/`,
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'max_queued_messages 100000',
    `listener ${port} 127.0.0.1`,
    ...(ca ? [`listener ${tlsPort} 127.0.0.1`, `cafile ${ca.caFile}`, `certfile ${ca.certFile}`, `keyfile ${ca.keyFile}`] : []),
  ].filter(Boolean);
  const confFile = join(dir, 'mosquitto.conf');
  writeFileSync(confFile, conf.join('\n') + '\n');
  const log: string[] = [];
  let proc: ChildProcess | null = null;
  const b: Broker = {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    ...(ca ? { tlsUrl: `mqtts://127.0.0.1:${tlsPort}`, ca } : {}),
    dir,
    user,
    watcher,
    log,
    async start() {
      const p = spawn(MOSQUITTO, ['-c', confFile], { stdio: ['ignore', 'pipe', 'pipe'] });
      p.stderr!.setEncoding('utf8').on('data', (s: string) => log.push(s));
      p.stdout!.resume();
      proc = p;
      await waitPort(port);
      if (tlsPort) await waitPort(tlsPort);
    },
    async stop() {
      const p = proc;
      proc = null;
      if (!p || p.exitCode !== null) return;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await exited;
    },
  };
  await b.start();
  return b;
}

export interface Seen {
  topic: string;
  text: string;
  retain: boolean;
  qos: number;
  /** ms since the capture started. */
  t: number;
}

/** A subscriber that records everything; a persistent session, so it misses nothing across a broker restart. */
export class Capture {
  readonly seen: Seen[] = [];
  private readonly t0 = performance.now();
  private waiters: (() => void)[] = [];

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.seen.push({ topic, text: payload.toString('utf8'), retain: packet.retain, qos: packet.qos, t: performance.now() - this.t0 });
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(broker: Broker, filter: string, opts: { clientId?: string; url?: string; ca?: string } = {}): Promise<Capture> {
    const client = await mqtt.connectAsync(opts.url ?? broker.url, {
      username: broker.watcher.username,
      password: broker.watcher.password,
      clientId: opts.clientId ?? `capture-${Math.random().toString(16).slice(2, 10)}`,
      clean: false,
      reconnectPeriod: 300,
      protocolVersion: 4,
      ...(opts.ca ? { ca: [readFileSync(opts.ca)] } : {}),
    });
    const c = new Capture(client);
    await client.subscribeAsync(filter, { qos: 1 });
    return c;
  }

  on(suffix: string): Seen[] {
    return this.seen.filter((s) => s.topic.endsWith('/' + suffix) || s.topic === suffix);
  }

  /** Waits until `pred` holds over what was seen. */
  async until(pred: (seen: Seen[]) => boolean, timeoutMs = 15_000, what = 'messages'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.seen)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; saw ${this.seen.length}: ${this.seen.slice(-5).map((s) => `${s.topic} ${s.text.slice(0, 80)}`).join(' | ')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/** The JSON schemas as docs/mqtt.md writes them: each ```json block that follows a "Schema `name`" line. */
export function docSchemas(): Record<string, Record<string, unknown>> {
  const text = readFileSync(new URL('../../docs/mqtt.md', import.meta.url), 'utf8');
  const out: Record<string, Record<string, unknown>> = {};
  const re = /Schema `([a-zA-Z]+)`[^\n]*\n+```json\n([\s\S]*?)\n```/g;
  for (const m of text.matchAll(re)) out[m[1]!] = JSON.parse(m[2]!) as Record<string, unknown>;
  return out;
}

/** A validator per documented schema, by the topic's suffix. */
export function validators(): (s: Seen) => { schema: string; errors: string | null } {
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  const schemas = docSchemas();
  const v = Object.fromEntries(Object.entries(schemas).map(([k, s]) => [k, ajv.compile(s)]));
  return (s) => {
    const name = /\/availability$/.test(s.topic) ? 'availability'
      : /\/state$/.test(s.topic) ? 'state'
      : /\/metrics$/.test(s.topic) ? 'metrics'
      : /\/jobs\/[^/]+$/.test(s.topic) ? 'job'
      : /\/events$/.test(s.topic) ? 'events'
      : /\/alerts$/.test(s.topic) ? 'alerts'
      : /\/audit\/head$/.test(s.topic) ? 'auditHead'
      : /\/config$/.test(s.topic) ? 'discovery'
      : '';
    const check = v[name];
    if (!check) return { schema: name || '(none)', errors: `no documented schema for ${s.topic}` };
    let data: unknown;
    if (name === 'availability') data = s.text;
    else {
      try {
        data = JSON.parse(s.text);
      } catch {
        return { schema: name, errors: 'not JSON' };
      }
    }
    return check(data) ? { schema: name, errors: null } : { schema: name, errors: ajv.errorsText(check.errors) };
  };
}
