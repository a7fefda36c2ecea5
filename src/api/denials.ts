/**
 * Refused requests, aggregated: one access-log entry per account, route and minute with
 * the count, not one per request (a viewer asking for forbidden routes in a loop would
 * otherwise write a hundred signed entries a second). Each refusal bumps a durable
 * counter in the store at once (`meta`, keys `denial|<minute>|<account>|<route>`), so
 * a crash loses none; once the minute is over (checked every few seconds, at close and
 * at the next start) the counter becomes one entry and is deleted in the same
 * transaction. An account refused more than `alerts.deniedPerMinute` times in a minute
 * raises the unusual-volume alert, once per minute.
 */
import type { Store } from '../store/store.js';
import type { AccessLog } from '../records/access-log.js';
import type { EventBus } from '../workflow/events.js';

interface Counter {
  count: number;
  ips: string[];
  first: string;
}

const PREFIX = 'denial|';
const MAX_IPS = 5;
const FLUSH_MS = 5_000;

const minuteOf = (d: Date) => d.toISOString().slice(0, 16) + 'Z';

export class DenialLog {
  private readonly meta;
  private readonly perAccount = new Map<string, number>();
  private readonly alerted = new Set<string>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: Store,
    private readonly log: AccessLog,
    private readonly bus: EventBus,
    private readonly opts: { threshold: number; now?: () => Date },
  ) {
    this.meta = store.db<Counter, string>('meta');
  }

  private now(): Date {
    return this.opts.now?.() ?? new Date();
  }

  /** Starts the periodic flush and writes what a previous run left. */
  start(): void {
    this.safeFlush();
    this.timer = setInterval(() => this.safeFlush(), FLUSH_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.safeFlush(true);
  }

  /** A log that cannot be appended to (audit-broken, alerted by the log) keeps the counters for later. */
  private safeFlush(all = false): void {
    try {
      this.flush(all);
    } catch {
      /* counters stay in the store; the next flush tries again */
    }
  }

  /** Counts one refusal of `route` to `account` (durable before it returns). */
  record(account: string, ip: string, route: string, why: string): void {
    const minute = minuteOf(this.now());
    const key = `${PREFIX}${minute}|${account}|${route}`;
    this.store.transaction(() => {
      const c = this.meta.get(key) ?? { count: 0, ips: [], first: why.slice(0, 300) };
      c.count++;
      if (!c.ips.includes(ip) && c.ips.length < MAX_IPS) c.ips.push(ip);
      this.meta.putSync(key, c);
    });
    const ak = `${minute}|${account}`;
    const n = (this.perAccount.get(ak) ?? 0) + 1;
    this.perAccount.set(ak, n);
    if (n > this.opts.threshold && !this.alerted.has(ak)) {
      this.alerted.add(ak);
      this.bus.alert({ kind: 'unusual-volume', account, message: `${account} was refused ${n} requests in the minute ${minute} (threshold ${this.opts.threshold}); last: ${route}` });
    }
  }

  /**
   * Turns the counters of finished minutes (all of them with `all`) into access-log
   * entries. @returns how many entries were written.
   */
  flush(all = false): number {
    const current = minuteOf(this.now());
    const keys: string[] = [];
    for (const { key } of this.meta.getRange({ start: PREFIX, end: `${PREFIX}\uffff` })) {
      const minute = String(key).slice(PREFIX.length, PREFIX.length + 17);
      if (all || minute < current) keys.push(String(key));
    }
    let written = 0;
    for (const key of keys) {
      this.store.transaction(() => {
        const c = this.meta.get(key);
        if (!c) return;
        const rest = key.slice(PREFIX.length);
        const minute = rest.slice(0, 17);
        const bar = rest.indexOf('|', 18);
        const account = rest.slice(18, bar);
        const route = rest.slice(bar + 1);
        const from = c.ips.length > 1 ? ` from ${c.ips.join(', ')}${c.ips.length >= MAX_IPS ? ' and others' : ''}` : '';
        this.log.append({
          account,
          ip: c.ips[0] ?? 'local',
          action: 'view',
          target: route,
          result: 'denied',
          detail: `refused ${c.count} time(s) in the minute ${minute}${from}: ${c.first}`.slice(0, 1024),
        });
        this.meta.removeSync(key);
        written++;
      });
    }
    for (const k of this.perAccount.keys()) if (k.slice(0, 17) < current) this.perAccount.delete(k);
    for (const k of this.alerted) if (k.slice(0, 17) < current) this.alerted.delete(k);
    return written;
  }
}
