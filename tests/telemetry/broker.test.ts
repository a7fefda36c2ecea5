/**
 * Telemetry against a real broker (mosquitto with password authentication), with the
 * daemon in this process: what it says on connect (retained availability, state,
 * metrics, audit head, Home Assistant discovery), a wrong password, a broker outage
 * with events produced meanwhile, a daemon restart with a backlog, the outbox bound
 * and its alert, the time to deliver a 1000-event backlog, `veilport watch`, and every
 * payload against the schemas in docs/mqtt.md.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { start, testSettings, type Running } from '../api/helpers.js';
import { SCHEMAS } from '../../src/telemetry/topics.js';
import { baseTopicFor, telemetryOf } from '../../src/telemetry/telemetry.js';
import type { Settings } from '../../src/config/settings.js';
import { Capture, docSchemas, startBroker, validators, type Broker, type Seen } from './broker.js';
import { boxDir } from '../helpers/box-dir.js';

const dir = boxDir('broker');
const recordings = join(dir, 'rec');
mkdirSync(join(recordings, 'lobby'), { recursive: true });
let broker: Broker;
const everything: Seen[] = [];
const check = validators();

t.before(async () => {
  broker = await startBroker(join(dir, 'broker'));
});
t.teardown(async () => {
  await broker?.stop();
});

function settingsFor(name: string, mqtt: Partial<Settings['mqtt']> = {}): Settings {
  return testSettings(join(dir, name), recordings, { mqtt: { url: broker.url, username: broker.user.username, passwordFile: broker.user.passwordFile, ...mqtt } });
}

async function daemon(s: Settings): Promise<{ run: Running; base: string }> {
  const run = await start(s);
  return { run, base: baseTopicFor(s, run.daemon.ctx.signer.applianceId) };
}

/** What the workflow emits when a request moves; ids like the box's own. */
function emitRequests(run: Running, from: number, n: number): void {
  for (let i = from; i < from + n; i++) {
    run.daemon.ctx.bus.emit('request', { requestId: `20260301-${String(i).padStart(3, '0')}`, from: 'registered', to: 'received', at: new Date().toISOString() });
  }
}

/** Request numbers of the events seen, in arrival order, first arrivals only. */
function firstArrivals(seen: Seen[]): number[] {
  const out: number[] = [];
  const had = new Set<number>();
  for (const s of seen) {
    if (!s.topic.endsWith('/events')) continue;
    const n = Number((JSON.parse(s.text) as { requestId: string }).requestId.split('-')[1]);
    if (!had.has(n)) out.push(n);
    had.add(n);
  }
  return out;
}

/** Stops the broker and waits until the daemon has noticed (so what follows queues in LMDB, not in mqtt.js). */
async function brokerDown(...runs: Running[]): Promise<void> {
  await broker.stop();
  const until = Date.now() + 5000;
  while (runs.some((r) => telemetryOf(r.daemon.ctx)?.stats().connected) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
}

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

t.test('the schemas in docs/mqtt.md are the ones in the code', async (t) => {
  const docs = docSchemas();
  t.same(Object.keys(docs).sort(), Object.keys(SCHEMAS).sort(), 'one documented schema per payload');
  for (const [name, schema] of Object.entries(SCHEMAS)) t.same(docs[name], JSON.parse(JSON.stringify(schema)), `${name}: docs and code agree`);
});

t.test('on connect: online, state, metrics, audit head, discovery; retained; stopped on a clean stop', async (t) => {
  const cap = await Capture.open(broker, '#');
  // diskLowPercent 100: every volume is "low", so the first health sample raises disk-low alerts.
  const { run, base } = await daemon(settingsFor('one', { metricsSeconds: 1, homeAssistant: true, diskLowPercent: 100 }));
  t.match(run.lines.join('\n'), /telemetry to mqtt:\/\/127\.0\.0\.1:\d+ under veilport\/vp-/, 'says where it reports');
  await cap.until((s) => ['availability', 'state', 'metrics', 'audit/head'].every((x) => s.some((m) => m.topic === `${base}/${x}`)) && s.filter((m) => m.topic.startsWith('homeassistant/')).length === 5, 10_000, 'the connect burst');
  t.equal(cap.on('availability')[0]!.text, 'online');
  const state = JSON.parse(cap.on('state').at(-1)!.text);
  t.equal(state.applianceId, run.daemon.ctx.signer.applianceId);
  t.same(state.queue, { queued: 0, running: 0 });
  t.ok(state.models.length > 0 && state.models.every((m: { sha256: string }) => /^[0-9a-f]{64}$/.test(m.sha256)), 'models with their hashes');
  const head = JSON.parse(cap.on('audit/head').at(-1)!.text);
  t.equal(head.length, run.daemon.ctx.log.head().length, 'the access log head');
  const metrics = JSON.parse(cap.on('metrics').at(-1)!.text);
  t.ok(metrics.disks.recordings.freeBytes > 0, 'free space of the recordings volume');
  t.ok(metrics.memory.totalBytes > 0 && metrics.cpu.cores >= 1, 'memory and CPU');
  await cap.until((x) => x.filter((m) => m.topic === `${base}/alerts`).length >= 3, 5000, 'disk-low alerts');
  const low = cap.on('alerts').map((m) => JSON.parse(m.text));
  t.same(low.map((a) => a.kind), ['disk-low', 'disk-low', 'disk-low'], 'one disk-low alert per volume, once');
  t.match(low[0].message, /% free \(below 100%\)/);

  // The wall clock steps five minutes ahead (an RTC-less box meeting NTP), then back.
  const realNow = Date.now;
  Date.now = () => realNow() + 300_000;
  try {
    await cap.until((x) => x.some((m) => m.topic === `${base}/alerts` && JSON.parse(m.text).kind === 'clock-jump'), 5000, 'clock-jump alert');
  } finally {
    Date.now = realNow;
  }
  await cap.until((x) => x.filter((m) => m.topic === `${base}/alerts` && JSON.parse(m.text).kind === 'clock-jump').length === 2, 5000, 'the jump back');
  t.same(cap.on('alerts').map((m) => JSON.parse(m.text)).filter((a) => a.kind === 'clock-jump').map((a) => a.message), ['the system clock jumped forward 300 s', 'the system clock jumped back 300 s'], 'clock jumps both ways');

  // An access-log entry moves the head; the new head goes out within seconds.
  const before = cap.on('audit/head').length;
  run.daemon.ctx.log.append({ account: 'console', ip: 'local', action: 'view', target: 'status', result: 'ok' });
  await cap.until((s) => s.filter((m) => m.topic === `${base}/audit/head`).length > before, 8000, 'a new audit head');
  t.equal(JSON.parse(cap.on('audit/head').at(-1)!.text).length, head.length + 1, 'the new head covers the new entry');

  // A console that connects later gets the latest of each at once.
  const late = await Capture.open(broker, `${base}/#`);
  await late.until((s) => ['availability', 'state', 'metrics', 'audit/head'].every((x) => s.some((m) => m.topic === `${base}/${x}` && m.retain)), 5000, 'retained messages');
  t.pass('availability, state, metrics and audit head are retained');
  await late.close();

  const prom = await fetch(run.daemon.url + '/metrics');
  const text = await prom.text();
  t.match(text, /^veilport_telemetry_connected 1$/m, '/metrics: connected');
  t.match(text, /^veilport_telemetry_outbox_messages\{state="waiting"\} 0$/m, '/metrics: outbox empty');

  await run.daemon.close();
  await cap.until((s) => s.some((m) => m.topic === `${base}/availability` && m.text === 'stopped'), 5000, 'stopped');
  t.notOk(cap.on('availability').some((m) => m.text === 'offline'), 'a clean stop is not the last will');
  everything.push(...cap.seen);
  await cap.close();
});

t.test('no broker configured: said once at startup, telemetry off', async (t) => {
  const { run } = await daemon(testSettings(join(dir, 'off'), recordings));
  t.teardown(() => run.daemon.close());
  t.equal(run.lines.filter((l) => /telemetry off: no MQTT broker configured/.test(l)).length, 1, 'one line');
  t.equal(telemetryOf(run.daemon.ctx), undefined, 'nothing running');
  t.match(await (await fetch(run.daemon.url + '/metrics')).text(), /^veilport_telemetry_enabled 0$/m, '/metrics says so');
});

t.test('a broker password file that cannot be read: said, telemetry off, the rest runs', async (t) => {
  const { run } = await daemon(settingsFor('nofile', { passwordFile: join(dir, 'missing.pass') }));
  t.teardown(() => run.daemon.close());
  t.match(run.lines.join('\n'), /telemetry off: mqtt: cannot read the password file .*missing\.pass \(ENOENT\)/, 'the line names the file');
  t.equal((await fetch(run.daemon.url + '/api/health')).status, 200, 'the API works');
});

t.test('a wrong broker password: said once, the daemon runs on', async (t) => {
  const bad = join(dir, 'wrong.pass');
  writeFileSync(bad, 'not-the-password\n');
  const { run } = await daemon(settingsFor('wrong', { passwordFile: bad }));
  t.teardown(() => run.daemon.close());
  const until = Date.now() + 5000;
  while (!run.lines.some((l) => /not authori[sz]ed/i.test(l)) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  t.match(run.lines.join('\n'), /telemetry: .*Not authorized/i, 'the refusal is said');
  t.equal((await fetch(run.daemon.url + '/api/health')).status, 200, 'the API works without telemetry');
  await new Promise((r) => setTimeout(r, 2200)); // at least one more attempt (every 2 s)
  t.equal(run.lines.filter((l) => /Not authorized/i.test(l)).length, 1, 'said once, not on every retry');
});

t.test('broker away: events wait in LMDB and arrive in order when it is back', async (t) => {
  const cap = await Capture.open(broker, '#', { clientId: 'console-outage' });
  const { run, base } = await daemon(settingsFor('outage'));
  t.teardown(() => run.daemon.close());
  await cap.until((s) => s.some((m) => m.topic === `${base}/availability` && m.text === 'online'), 10_000, 'online');
  emitRequests(run, 1, 5);
  await cap.until((s) => firstArrivals(s).length === 5, 10_000, 'the first five');

  await brokerDown(run);
  emitRequests(run, 6, 30);
  const tel = telemetryOf(run.daemon.ctx)!;
  t.equal(tel.outbox.waiting, 30, 'all 30 wait in the outbox');
  await broker.start();
  await cap.until((s) => firstArrivals(s).length === 35, 20_000, 'the backlog');
  t.same(firstArrivals(cap.seen), range(1, 35), 'every event, once or more, in order');
  const seqs = cap.on('events').map((m) => JSON.parse(m.text).seq as number);
  t.same([...new Set(seqs)], range(1, 35), 'seq numbers run on without gaps');
  await cap.until(() => tel.outbox.waiting + tel.outbox.inFlight === 0, 5000, 'acknowledged');
  t.pass('the outbox empties once the broker acknowledges');
  await cap.until(() => cap.on('availability').filter((m) => m.text === 'online').length >= 2, 5000, 'online again');
  t.pass('online again after the outage');
  everything.push(...cap.seen);
  await cap.close();
});

t.test('daemon restarted with a backlog: it goes out after the restart, in order', async (t) => {
  const cap = await Capture.open(broker, '#', { clientId: 'console-restart' });
  const s = settingsFor('restart');
  let { run, base } = await daemon(s);
  await cap.until((x) => x.some((m) => m.topic === `${base}/availability` && m.text === 'online'), 10_000, 'online');
  await brokerDown(run);
  emitRequests(run, 1, 10);
  await run.daemon.close(); // a clean stop with the broker away: the backlog stays in LMDB
  ({ run } = await daemon(s));
  t.teardown(() => run.daemon.close());
  t.match(run.lines.join('\n'), /10 message\(s\) waiting from before/, 'the restart knows its backlog');
  emitRequests(run, 11, 10);
  await broker.start();
  await cap.until((x) => firstArrivals(x).length === 20, 20_000, 'both lives of the daemon');
  t.same(firstArrivals(cap.seen), range(1, 20), 'every event from before and after the restart, in order');
  const seqs = [...new Set(cap.on('events').map((m) => JSON.parse(m.text).seq as number))];
  t.same(seqs, range(1, 20), 'seq continues across the restart');
  everything.push(...cap.seen);
  await cap.close();
});

t.test('outbox full: the oldest go, and an alert says how many', async (t) => {
  const cap = await Capture.open(broker, '#', { clientId: 'console-bound' });
  const { run, base } = await daemon(settingsFor('bound', { outboxMax: 10 }));
  t.teardown(() => run.daemon.close());
  await cap.until((x) => x.some((m) => m.topic === `${base}/availability` && m.text === 'online'), 10_000, 'online');
  await brokerDown(run);
  emitRequests(run, 1, 25);
  t.match(run.lines.join('\n'), /outbox full/, 'said on the console');
  await broker.start();
  await cap.until((x) => firstArrivals(x).length === 10, 20_000, 'the ten that were kept');
  t.same(firstArrivals(cap.seen), range(16, 25), 'the newest ten, in order');
  const alert = cap.on('alerts').map((m) => JSON.parse(m.text)).find((a) => a.kind === 'outbox-dropped');
  t.ok(alert, 'an outbox-dropped alert');
  t.equal(alert.dropped, 15, 'it says 15 were dropped');
  t.same([alert.firstSeq, alert.lastSeq], [1, 15], 'and which');
  t.match(alert.message, /15 oldest message\(s\) dropped/);
  const order = cap.seen.filter((m) => m.topic === `${base}/alerts` || m.topic === `${base}/events`).map((m) => m.topic.split('/').at(-1));
  t.equal(order[0], 'alerts', 'the alert comes before the rest of the backlog');
  everything.push(...cap.seen);
  await cap.close();
});

t.test('figures: a 1000-event backlog', async (t) => {
  const cap = await Capture.open(broker, '#', { clientId: 'console-figures' });
  const { run, base } = await daemon(settingsFor('figures'));
  t.teardown(() => run.daemon.close());
  await cap.until((x) => x.some((m) => m.topic === `${base}/availability` && m.text === 'online'), 10_000, 'online');
  await brokerDown(run);
  let t0 = performance.now();
  emitRequests(run, 1, 1000);
  const queueMs = performance.now() - t0;
  t0 = performance.now();
  await broker.start();
  const startedMs = performance.now() - t0;
  await cap.until((x) => firstArrivals(x).length === 1000, 30_000, '1000 events');
  const deliverMs = performance.now() - t0;
  t.same(firstArrivals(cap.seen), range(1, 1000), 'all 1000 in order');
  const ev = cap.on('events');
  const online = cap.seen.filter((m) => m.topic === `${base}/availability` && m.text === 'online').at(-1)!;
  const drainMs = ev.at(-1)!.t - online.t;
  t.comment(`figures: 1000 events queued durably in ${queueMs.toFixed(0)} ms (${Math.round(1000 / (queueMs / 1000))}/s); broker restarted in ${startedMs.toFixed(0)} ms; the daemon reconnected and the whole backlog arrived ${deliverMs.toFixed(0)} ms after the broker started (reconnect period 2 s), of which ${drainMs.toFixed(0)} ms from "online" to the 1000th event (${Math.round(1000 / (drainMs / 1000))} events/s)`);
  await cap.close();
});

t.test('veilport watch: the fleet table', async (t) => {
  const { run, base } = await daemon(settingsFor('watched'));
  t.teardown(() => run.daemon.close());
  const cap = await Capture.open(broker, `${base}/#`);
  await cap.until((x) => ['availability', 'state', 'metrics'].every((s) => x.some((m) => m.topic === `${base}/${s}`)), 10_000, 'state and metrics');
  await cap.close();
  const pass = join(dir, 'console.pass');
  writeFileSync(pass, broker.watcher.password + '\n');
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', 'api', 'serve-child.ts'), 'watch', '--mqtt-url', broker.url, '--username', broker.watcher.username, '--password-file', pass, '--seconds', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  // Alerts are not retained: raise one now and then while the child starts, subscribes and listens.
  const raising = setInterval(() => run.daemon.ctx.bus.alert({ kind: 'disk-low', message: 'exports volume: 4% free' }), 400);
  const code = await exited;
  clearInterval(raising);
  t.equal(code, 0, `watch exits 0 (${err})`);
  const id = run.daemon.ctx.signer.applianceId;
  const row = out.split('\n').find((l) => l.startsWith(id));
  t.ok(row, `a row for this appliance:\n${out}`);
  t.match(row!, /\bonline\b/, 'online');
  t.match(row!, /\d+(\.\d)? [KMGT]?B/, 'free space');
  t.match(row!, /disk-low: exports volume/, 'the last alert');
  t.match(out, /^APPLIANCE\s+STATUS\s+REC FREE\s+EXP FREE\s+QUEUE\s+LAST EXPORT\s+LAST ALERT/m, 'the header');
});

t.test('every payload seen validates against its documented schema', async (t) => {
  t.ok(everything.length > 100, `${everything.length} payloads`);
  const bySchema = new Map<string, number>();
  const failures: string[] = [];
  for (const s of everything) {
    const r = check(s);
    bySchema.set(r.schema, (bySchema.get(r.schema) ?? 0) + 1);
    if (r.errors) failures.push(`${s.topic}: ${r.errors}: ${s.text.slice(0, 200)}`);
  }
  t.same(failures, [], 'no payload breaks its schema');
  for (const name of ['availability', 'state', 'metrics', 'events', 'alerts', 'auditHead', 'discovery']) t.ok((bySchema.get(name) ?? 0) > 0, `${name}: ${bySchema.get(name) ?? 0} seen`);
});
