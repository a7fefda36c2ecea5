/**
 * `veilport serve`: one process holding the store, the job runner, the retention
 * sweeper and the API. Startup opens everything before listening, so a bad setting,
 * key or database stops it with one clear line; shutdown stops taking requests, puts
 * running jobs back in the queue and closes the store, so a restart resumes them.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildApp } from '../api/app.js';
import type { Settings } from '../config/settings.js';
import { openStore, type Store } from '../store/store.js';
import { loadOrCreateDataKey } from '../store/data-key.js';
import { loadOrCreateSigningKey } from '../seal/index.js';
import { AccessLog } from '../records/access-log.js';
import { AccountService } from '../auth/accounts.js';
import { authSettingsFrom } from '../auth/settings.js';
import { EventBus } from '../workflow/events.js';
import { Workflow } from '../workflow/workflow.js';
import { jobExecutor } from '../workflow/executor.js';
import type { ApiContext } from '../api/context.js';
import { startTelemetry } from '../telemetry/telemetry.js';
import { installDebugHang, systemdNotifier } from '../appliance/notify.js';
import { bootstrapTokenShownThisBoot } from '../appliance/boot.js';
import { removeStalePartials } from './stale.js';
import { reviewCacheDirOf } from '../workflow/derivatives.js';
import { analysesDirOf } from '../export/job.js';

export interface Daemon {
  app: Awaited<ReturnType<typeof buildApp>>;
  ctx: ApiContext;
  /** Where it listens, e.g. http://127.0.0.1:8080. */
  url: string;
  close(): Promise<void>;
}

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Opens the core services (no network): used by `serve` and by console commands. */
export async function openCore(settings: Settings, now?: () => Date): Promise<Omit<ApiContext, 'workflow'> & { workflow: Workflow; store: Store }> {
  const dataDir = settings.paths.data;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const keysDir = join(dataDir, 'keys');
  const signer = await loadOrCreateSigningKey(keysDir);
  const dataKey = await loadOrCreateDataKey(keysDir);
  const store = openStore(dataDir);
  const bus = new EventBus();
  const log = new AccessLog(store, signer, {
    ...(now ? { now } : {}),
    // The log no longer ends where its signed head says: someone cut it. Keep the evidence, tell IT.
    onTamper: (message) => bus.alert({ kind: 'audit-broken', message }),
  });
  const accounts = new AccountService(store, dataKey, authSettingsFrom(settings), now);
  let workflow: Workflow | undefined;
  const execute = jobExecutor({ settings, signer, dataKey, dataDir, workflow: () => workflow! });
  workflow = new Workflow({ store, dataKey, log, bus, settings, dataDir, execute, ...(now ? { now } : {}) });
  return { settings, dataDir, store, dataKey, signer, accounts, log, bus, workflow, startedAt: new Date(), version: version() };
}

export interface DaemonOptions {
  logLevel?: string;
  /** Console lines (the bootstrap token, where it listens); stderr by default. */
  say?: (line: string) => void;
  /** The clock for retention and sessions (tests move it forward). */
  now?: () => Date;
}

export async function startDaemon(settings: Settings, opts: DaemonOptions = {}): Promise<Daemon> {
  const say = opts.say ?? ((line: string) => process.stderr.write(line + '\n'));
  // systemd (Type=notify): does nothing unless NOTIFY_SOCKET is set.
  const notify = systemdNotifier();
  installDebugHang();
  notify.status('starting: opening keys and store');
  const ctx = await openCore(settings, opts.now);
  const app = await buildApp(ctx, opts.logLevel ? { logLevel: opts.logLevel } : {});
  // First-boot setup printed this boot's token on the console already: keep it valid.
  const token = bootstrapTokenShownThisBoot(settings.paths.data) ? null : ctx.accounts.issueBootstrapToken();
  if (token) {
    // Physical presence is the trust anchor: the token is shown only here, on the box's console.
    say(`veilport: no admin account yet. One-time bootstrap token: ${token}`);
    say('veilport: create the first admin with it (POST /api/bootstrap, or the touchscreen).');
  }
  // Before any job runs: whatever is half-written now was left by a crash.
  const stale = await removeStalePartials(
    [
      { dir: ctx.workflow.exportsDir, what: 'unfinished package' },
      { dir: reviewCacheDirOf(settings.paths.data), what: 'unfinished review clip, clear video' },
      { dir: analysesDirOf(settings.paths.data), what: 'unfinished analysis', nested: true },
    ],
    settings.paths.data,
  );
  for (const f of stale.removed) say(`veilport: removed a stale file left by an interrupted run: ${f}`);
  for (const f of stale.failed) ctx.bus.alert({ kind: 'destruction-failed', message: `cannot remove a stale file left by an interrupted run: ${f}` });
  ctx.workflow.jobs.start();
  const sweep = async () => {
    try {
      await retention(ctx, opts.now?.() ?? new Date());
    } catch (e) {
      ctx.bus.alert({ kind: 'destruction-failed', message: `retention sweep failed: ${(e as Error).message}` });
    }
  };
  await sweep();
  const timer = setInterval(() => void sweep(), settings.retention.sweepSeconds * 1000);
  timer.unref();

  const [host, port] = splitListen(settings.server.listen);
  await app.listen({ host, port });
  const address = app.server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const url = `${settings.server.tlsCert ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
  say(`veilport: serving ${url} (API docs at ${url}/docs), appliance ${ctx.signer.applianceId}`);
  // After the API: the broker hears "online" only once the box answers. No broker: said once, off.
  const telemetry = startTelemetry(ctx, { say });
  notify.ready(`serving ${url}, appliance ${ctx.signer.applianceId}`, ctx.bus);

  let closing: Promise<void> | null = null;
  return {
    app,
    ctx,
    url,
    close() {
      closing ??= (async () => {
        notify.stopping();
        clearInterval(timer);
        await app.close();
        await ctx.workflow.jobs.stop();
        await telemetry?.stop(); // "stopped" (retained), not the last will; the backlog stays queued
        await ctx.store.close();
        notify.close();
      })();
      return closing;
    },
  };
}

/**
 * Retention: expired packages destroyed (workflow), then records past their legal
 * minimum pruned: access log after `accessLogYears` (2 by law), role changes after
 * `roleChangeYears` (3), sessions once expired.
 */
export async function retention(ctx: ApiContext, now: Date): Promise<void> {
  await ctx.workflow.sweep();
  // Calendar years, as the law counts them (not 365-day blocks).
  const yearsAgo = (y: number) => {
    const d = new Date(now);
    d.setUTCMonth(d.getUTCMonth() - Math.round(y * 12));
    return d;
  };
  ctx.log.prune(yearsAgo(ctx.settings.retention.accessLogYears));
  ctx.accounts.pruneRoleChanges(yearsAgo(ctx.settings.retention.roleChangeYears));
  ctx.accounts.pruneSessions();
}

function splitListen(listen: string): [string, number] {
  const i = listen.lastIndexOf(':');
  return [listen.slice(0, i).replace(/^\[|\]$/g, ''), Number(listen.slice(i + 1))];
}
