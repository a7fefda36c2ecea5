/**
 * systemd notification on a real notify socket: a datagram socket bound by the helper
 * (`veilport-sys listen`, since Node cannot bind one), NOTIFY_SOCKET and WATCHDOG_USEC
 * given to a child `veilport serve`, the datagrams read back. The daemon reports
 * READY=1 once it listens, pings WATCHDOG=1 at half the watchdog interval, stops
 * pinging while its event loop is blocked (the debug hook, SIGUSR2), resumes after,
 * and says STOPPING=1 on SIGTERM.
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { statusLine, systemdNotifier, watchdogInterval } from '../../src/appliance/notify.js';
import { socketPath, startListener, SYS } from './helpers.js';
import { boxDir } from '../helpers/box-dir.js';

t.test('watchdog interval: half of WATCHDOG_USEC, only for our PID', async (t) => {
  t.equal(watchdogInterval({ WATCHDOG_USEC: '30000000' }), 15000);
  t.equal(watchdogInterval({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: String(process.pid) }), 15000);
  t.equal(watchdogInterval({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '1' }), 0, 'meant for another process');
  t.equal(watchdogInterval({}), 0);
  t.equal(watchdogInterval({ WATCHDOG_USEC: 'soon' }), 0);
});

t.test('status lines are one bounded line', async (t) => {
  t.equal(statusLine('a\nb\r\nc\x07'), 'a b c');
  t.equal(statusLine('x'.repeat(500)).length, 200);
});

t.test('without NOTIFY_SOCKET nothing is sent; with it, READY, STATUS and pings', async (t) => {
  const off = systemdNotifier({ env: {} });
  t.equal(off.active, false);
  off.ready('x');
  const sent: string[] = [];
  const n = systemdNotifier({ env: { WATCHDOG_USEC: '100000' }, send: (m) => sent.push(m) });
  n.status('starting');
  n.status('starting');
  n.ready('serving http://127.0.0.1:1');
  await new Promise((r) => setTimeout(r, 180));
  n.stopping();
  n.close();
  n.status('after close');
  t.equal(sent[0], 'STATUS=starting', 'a repeated status is sent once');
  t.equal(sent[1], 'READY=1\nSTATUS=serving http://127.0.0.1:1');
  t.ok(sent.filter((m) => m === 'WATCHDOG=1').length >= 3, `pings every 50 ms: ${sent.join(' | ')}`);
  t.equal(sent.at(-1), 'STOPPING=1\nSTATUS=stopping: running jobs go back to the queue');
});

t.test('veilport serve under a real notify socket: READY, pings, no pings while hung, STOPPING', async (t) => {
  const dir = boxDir('notify');
  const socket = socketPath(t);
  const listener = await startListener(socket);
  t.teardown(() => listener.stop());
  const config = join(dir, 'veilport.json');
  writeFileSync(config, JSON.stringify({ server: { listen: '127.0.0.1:0' }, paths: { data: join(dir, 'data'), recordings: dir }, auth: { scryptLogN: 12 } }));
  const env = {
    ...process.env,
    NOTIFY_SOCKET: socket,
    WATCHDOG_USEC: '400000', // pings every 200 ms
    VEILPORT_DEBUG_HANG_SECONDS: '1.5',
    VEILPORT_SYS: SYS,
  };
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', 'api', 'serve-child.ts'), 'serve', '--config', config], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => child.kill('SIGKILL'));

  const ready = await listener.waitFor((m) => m.text.startsWith('READY=1'), 60_000).catch((e: Error) => {
    throw new Error(`${e.message}; stderr: ${stderr}`);
  });
  t.match(ready.text, /^READY=1\\nSTATUS=serving http:\/\/127\.0\.0\.1:\d+, appliance vp-/);
  t.ok(listener.messages.some((m) => m.text === 'STATUS=starting: opening keys and store' && m.ms <= ready.ms), 'a status line while starting');
  t.match(stderr, /serving http:\/\/127\.0\.0\.1:\d+/, 'READY after the API listens');

  // Pings at about 200 ms.
  await new Promise((r) => setTimeout(r, 1200));
  const before = listener.messages.filter((m) => m.text === 'WATCHDOG=1' && m.ms >= ready.ms);
  t.ok(before.length >= 4, `pinged ${before.length} times in ~1.2 s`);
  const gaps = before.slice(1).map((m, i) => m.ms - before[i]!.ms);
  t.ok(Math.max(...gaps) < 450, `regular pings (gaps ${gaps.join(', ')} ms)`);

  // Hang the event loop for 1.5 s: no pings meanwhile, then they resume.
  const hangAt = Date.now();
  child.kill('SIGUSR2');
  await listener.waitFor((m) => m.text === 'WATCHDOG=1' && m.ms > before.at(-1)!.ms + 1000, 10_000);
  await new Promise((r) => setTimeout(r, 600));
  const pings = listener.messages.filter((m) => m.text === 'WATCHDOG=1').map((m) => m.ms);
  const longest = Math.max(...pings.slice(1).map((ms, i) => ms - pings[i]!));
  t.ok(longest >= 1300, `no ping while the loop was blocked (longest gap ${longest} ms, hang of 1500 ms started ${Date.now() - hangAt} ms ago)`);
  const after = pings.filter((ms) => ms > pings[pings.length - 1]! - 550);
  t.ok(after.length >= 2, 'pings resume once the loop runs again');
  t.match(stderr, /SIGUSR2 with VEILPORT_DEBUG_HANG_SECONDS=1.5: blocking the event loop/);

  child.kill('SIGTERM');
  t.equal(await exited, 0, 'clean exit on SIGTERM');
  t.ok(listener.messages.some((m) => m.text.startsWith('STOPPING=1')), 'STOPPING=1 on shutdown');
  const lastPing = Math.max(...listener.messages.filter((m) => m.text === 'WATCHDOG=1').map((m) => m.ms));
  const stopping = listener.messages.find((m) => m.text.startsWith('STOPPING=1'))!;
  t.ok(lastPing <= stopping.ms, 'no pings after STOPPING');
});
