/**
 * systemd notification for `veilport serve` under `Type=notify`: READY=1 once the API
 * listens, STATUS= lines a person reads in `systemctl status veilport`, WATCHDOG=1 pings
 * at half of WatchdogSec, STOPPING=1 on shutdown.
 *
 * Node has no unix datagram sockets, so the datagrams are sent by a small helper
 * (`build/veilport-sys notify`, native/veilport-sys.c) that lives as long as the daemon
 * and relays NUL-terminated messages from a pipe. Why not `systemd-notify` per message:
 * systemd attributes a datagram to a unit by the sender's PID; a systemd-notify that
 * has already exited when systemd reads its datagram cannot be attributed and the
 * message is dropped (the race its man page describes), and a process spawn per ping
 * costs milliseconds instead of microseconds. It is still the fallback when the helper
 * is not built. Either way the sender is a child, so the unit says NotifyAccess=all.
 *
 * The pings come from a timer on the main event loop: when the loop hangs (a runaway
 * computation, a blocked synchronous call) the timer does not fire, nothing is sent, and
 * systemd kills and restarts the service after WatchdogSec. The helper only relays what
 * the loop hands it, so it cannot keep a hung daemon alive.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { EventBus, JobEvent } from '../workflow/events.js';

export interface Notifier {
  /** Whether a notify socket was given (false: every call does nothing). */
  readonly active: boolean;
  /** How it sends: "helper", "systemd-notify" or "none". */
  readonly transport: 'helper' | 'systemd-notify' | 'none';
  /** Watchdog ping interval in ms (half of WATCHDOG_USEC), or 0 when there is no watchdog. */
  readonly watchdogIntervalMs: number;
  status(text: string): void;
  /** READY=1 with a status line; starts the watchdog pings and, given the bus, job progress in STATUS. */
  ready(status: string, bus?: EventBus): void;
  stopping(status?: string): void;
  /** Stops the pings and lets the helper exit. */
  close(): void;
}

export interface NotifierOptions {
  /** Where NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID are read (default process.env, which loses them so children do not inherit them). */
  env?: NodeJS.ProcessEnv;
  /** Path of veilport-sys (default build/veilport-sys beside the package, or $VEILPORT_SYS). */
  helper?: string;
  /** Replaces the datagram transport (tests). */
  send?: (message: string) => void;
  /** The process id systemd knows as the main PID (default process.pid). */
  pid?: number;
}

export function helperPath(): string {
  return process.env['VEILPORT_SYS'] ?? fileURLToPath(new URL('../../build/veilport-sys', import.meta.url));
}

/** One STATUS= line: systemd shows one line, so no newlines and a bounded length. */
export function statusLine(text: string): string {
  const flat = text.replace(/[\r\n]+/g, ' ').replace(/[\0-\x1f]/g, '').trim();
  return flat.length > 200 ? flat.slice(0, 199) + '…' : flat;
}

/** Watchdog interval in ms from WATCHDOG_USEC (half of it), 0 when absent, malformed or meant for another PID. */
export function watchdogInterval(env: NodeJS.ProcessEnv, pid = process.pid): number {
  const usec = Number(env['WATCHDOG_USEC']);
  if (!Number.isFinite(usec) || usec <= 0) return 0;
  const forPid = env['WATCHDOG_PID'];
  if (forPid !== undefined && forPid !== '' && Number(forPid) !== pid) return 0;
  return Math.max(1, Math.floor(usec / 2000));
}

const INACTIVE: Notifier = {
  active: false,
  transport: 'none',
  watchdogIntervalMs: 0,
  status() {},
  ready() {},
  stopping() {},
  close() {},
};

function helperTransport(helper: string, socket: string): { send(m: string): void; close(): void; child: ChildProcess } {
  const child = spawn(helper, ['notify'], { stdio: ['pipe', 'ignore', 'inherit'], env: { ...process.env, NOTIFY_SOCKET: socket } });
  child.on('error', (e) => process.stderr.write(`veilport: systemd notify helper failed: ${e.message}\n`));
  child.stdin!.on('error', () => {});
  // Neither the helper nor its pipe keeps the daemon alive.
  child.unref();
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  return {
    child,
    send: (m) => {
      if (child.stdin!.writable) child.stdin!.write(m + '\0');
    },
    close: () => child.stdin!.end(),
  };
}

function systemdNotifyTransport(socket: string): { send(m: string): void; close(): void } {
  return {
    send: (m) => {
      const p = spawn('systemd-notify', m.split('\n'), { stdio: 'ignore', env: { ...process.env, NOTIFY_SOCKET: socket } });
      p.on('error', () => {});
      p.unref();
    },
    close: () => {},
  };
}

/**
 * The notifier for this process: inactive unless NOTIFY_SOCKET is set. Reading from
 * process.env removes NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from it, so GStreamer
 * runners and other children can neither ping for us nor claim readiness.
 */
export function systemdNotifier(opts: NotifierOptions = {}): Notifier {
  const env = opts.env ?? process.env;
  const socket = env['NOTIFY_SOCKET'];
  const intervalMs = watchdogInterval(env, opts.pid);
  if (!opts.env) for (const k of ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID']) delete process.env[k];
  if (!socket && !opts.send) return INACTIVE;
  let transport: Notifier['transport'];
  let link: { send(m: string): void; close(): void };
  if (opts.send) {
    transport = 'helper';
    link = { send: opts.send, close: () => {} };
  } else {
    const helper = opts.helper ?? helperPath();
    if (existsSync(helper)) {
      transport = 'helper';
      link = helperTransport(helper, socket!);
    } else {
      transport = 'systemd-notify';
      link = systemdNotifyTransport(socket!);
    }
  }
  let timer: NodeJS.Timeout | undefined;
  let lastStatus = '';
  let closed = false;
  let unfollow: (() => void) | undefined;
  const send = (m: string) => {
    if (!closed) link.send(m);
  };
  const status = (text: string) => {
    const line = statusLine(text);
    if (line === lastStatus) return;
    lastStatus = line;
    send(`STATUS=${line}`);
  };
  return {
    active: true,
    transport,
    watchdogIntervalMs: intervalMs,
    status,
    ready(text, bus) {
      lastStatus = statusLine(text);
      send(`READY=1\nSTATUS=${lastStatus}`);
      if (intervalMs > 0 && !timer) {
        send('WATCHDOG=1');
        timer = setInterval(() => send('WATCHDOG=1'), intervalMs);
        timer.unref();
      }
      if (bus) unfollow = followJobs(bus, text, status);
    },
    stopping(text = 'stopping: running jobs go back to the queue') {
      unfollow?.();
      if (timer) clearInterval(timer);
      timer = undefined;
      lastStatus = statusLine(text);
      send(`STOPPING=1\nSTATUS=${lastStatus}`);
    },
    close() {
      unfollow?.();
      if (timer) clearInterval(timer);
      timer = undefined;
      closed = true;
      link.close();
    },
  };
}

/** Job progress as the status line, at most once a second: "serving ...; render 20261125-001 45%". */
function followJobs(bus: EventBus, base: string, status: (t: string) => void): () => void {
  const running = new Map<string, JobEvent>();
  let last = 0;
  let pending: NodeJS.Timeout | undefined;
  const show = () => {
    pending = undefined;
    last = Date.now();
    const jobs = [...running.values()].map((j) => `${j.kind} ${j.requestId}${j.total ? ` ${Math.floor(((j.done ?? 0) / j.total) * 100)}%` : ''}`);
    status(jobs.length ? `${base}; ${jobs.join(', ')}` : `${base}; idle`);
  };
  const onJob = (e: JobEvent) => {
    if (e.state === 'running') running.set(e.jobId, e);
    else running.delete(e.jobId);
    if (pending) return;
    pending = setTimeout(show, Math.max(0, 1000 - (Date.now() - last)));
    pending.unref();
  };
  bus.on('job', onJob);
  return () => {
    bus.off('job', onJob);
    if (pending) clearTimeout(pending);
  };
}

/**
 * Debugging the watchdog on a real box: with VEILPORT_DEBUG_HANG_SECONDS=N in the
 * service's environment, SIGUSR2 blocks the event loop for N seconds (as a runaway
 * computation would), so an installer can watch systemd kill and restart the service.
 * Does nothing unless that variable is set.
 */
export function installDebugHang(env: NodeJS.ProcessEnv = process.env): boolean {
  const seconds = Number(env['VEILPORT_DEBUG_HANG_SECONDS']);
  if (!Number.isFinite(seconds) || seconds <= 0) return false;
  process.on('SIGUSR2', () => {
    process.stderr.write(`veilport: SIGUSR2 with VEILPORT_DEBUG_HANG_SECONDS=${seconds}: blocking the event loop\n`);
    blockEventLoop(seconds * 1000);
  });
  return true;
}

/** Blocks this thread (and so the event loop) for `ms` without burning a core. */
export function blockEventLoop(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
