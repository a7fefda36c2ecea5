/**
 * The daemon's telemetry: the event bus into the durable outbox, the outbox to the
 * broker, and the figures (state, metrics, audit head) published as they change.
 *
 *   bus 'request' -> <base>/events      durable, QoS 1
 *   bus 'job'     -> <base>/jobs/<id>   state changes durable, QoS 1; progress QoS 0, every 2 s at most
 *   bus 'alert'   -> <base>/alerts      durable, QoS 1
 *   state, audit head                   retained, QoS 1, on connect, on change and every stateSeconds
 *   metrics                             retained, QoS 0, every metricsSeconds
 *   availability                        retained: online on connect, stopped on a clean stop, offline by last will
 *
 * Nothing here may break the daemon: a listener that fails says so and carries on.
 */
import type { MqttClient } from 'mqtt';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { ApiContext } from '../api/context.js';
import type { Settings } from '../config/settings.js';
import type { AlertEvent, JobEvent, RequestEvent } from '../workflow/events.js';
import { readManifest } from '../masking/models.js';
import { selectProfile } from '../media/probe.js';
import { clientOptions, connectBroker, publishAsync, safeUrl } from './client.js';
import { Outbox } from './outbox.js';
import { HealthSampler } from './metrics.js';
import { discoveryMessages } from './discovery.js';
import { alertPayload, eventPayload, jobPayload, TOPICS, type MetricsPayload, type StatePayload, type TelemetryAlertKind } from './topics.js';

/** Messages handed to the client at once while the backlog drains. */
const WINDOW = 64;
const PROGRESS_EVERY_MS = 2000;
const AUDIT_CHECK_MS = 2000;
/** A wall-clock step this large (either way) between two ticks is a clock jump. */
const CLOCK_JUMP_MS = 120_000;
const FINAL = new Set(['done', 'failed', 'cancelled']);

export interface TelemetryOptions {
  say?: (line: string) => void;
  /** Reconnect attempts this often (default 2000 ms). */
  reconnectMs?: number;
}

export interface TelemetryStats {
  connected: boolean;
  /** Durable messages acknowledged by the broker since start. */
  published: number;
  waiting: number;
  inFlight: number;
  /** Dropped from the full outbox since start. */
  dropped: number;
  connects: number;
}

const samplers = new WeakMap<object, HealthSampler>();
const running = new WeakMap<object, Telemetry>();

/** One health sampler per daemon, shared by the MQTT metrics and the /metrics route. */
export function samplerFor(ctx: Pick<ApiContext, 'settings' | 'workflow' | 'dataDir' | 'startedAt'>): HealthSampler {
  let s = samplers.get(ctx);
  if (!s) {
    s = new HealthSampler({ recordings: ctx.settings.paths.recordings, exports: ctx.workflow.exportsDir, data: ctx.dataDir }, ctx.startedAt);
    samplers.set(ctx, s);
  }
  return s;
}

/** The telemetry running for this daemon, if any. */
export function telemetryOf(ctx: object): Telemetry | undefined {
  return running.get(ctx);
}

export function baseTopicFor(settings: Settings, applianceId: string): string {
  return settings.mqtt.baseTopic || `veilport/${applianceId}`;
}

/**
 * Starts telemetry when a broker is configured; otherwise says once that it is off and
 * returns null (everything else works without it).
 */
export function startTelemetry(ctx: ApiContext, opts: TelemetryOptions = {}): Telemetry | null {
  const say = opts.say ?? ((line: string) => process.stderr.write(line + '\n'));
  if (!ctx.settings.mqtt.url) {
    say('veilport: telemetry off: no MQTT broker configured (mqtt.url, --mqtt-url or VEILPORT_MQTT_URL)');
    return null;
  }
  try {
    // The password, CA and certificate files are read here: a missing one is said now.
    clientOptions(ctx.settings.mqtt, { clientId: 'check' });
  } catch (e) {
    // The control centre keeps working; central IT sees the box never came online.
    say(`veilport: telemetry off: ${(e as Error).message}`);
    return null;
  }
  const t = new Telemetry(ctx, { ...opts, say });
  running.set(ctx, t);
  t.start();
  return t;
}

export class Telemetry {
  readonly base: string;
  readonly outbox: Outbox;
  private client: MqttClient | null = null;
  private readonly say: (line: string) => void;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly jobStates = new Map<string, { state: string; progressAt: number }>();
  private readonly counters = { published: 0, dropped: 0, connects: 0 };
  private readonly sampler: HealthSampler;
  private pumping = false;
  private stopping = false;
  private droppedReport: { count: number; lastSeq: number } | null = null;
  private droppedSaid = false;
  private lastError = '';
  private stateTimer: NodeJS.Timeout | null = null;
  private lastHead = '';
  private profile: string | null = null;
  private models: StatePayload['models'] = [];
  private diskLow = new Set<string>();
  private clock = { wall: Date.now(), mono: performance.now() };
  private readonly listeners: { request: (e: RequestEvent) => void; job: (e: JobEvent) => void; alert: (e: AlertEvent) => void };

  constructor(
    private readonly ctx: ApiContext,
    private readonly opts: TelemetryOptions & { say: (line: string) => void },
  ) {
    this.say = opts.say;
    this.base = baseTopicFor(ctx.settings, ctx.signer.applianceId);
    this.outbox = new Outbox(ctx.store, ctx.settings.mqtt.outboxMax, (n) => this.noteDropped(n));
    this.sampler = samplerFor(ctx);
    this.listeners = {
      request: (e) => this.guard('request event', () => this.onRequest(e)),
      job: (e) => this.guard('job event', () => this.onJob(e)),
      alert: (e) => this.guard('alert', () => this.queueAlert(e)),
    };
  }

  start(): void {
    const { bus, settings } = this.ctx;
    bus.on('request', this.listeners.request);
    bus.on('job', this.listeners.job);
    bus.on('alert', this.listeners.alert);
    try {
      this.models = readManifest().map((m) => ({ name: m.name, target: m.target, sha256: m.sha256 }));
    } catch {
      this.models = [];
    }
    void selectProfile(settings.jobs.profile || undefined)
      .then(({ profile }) => {
        this.profile = profile.name;
        this.scheduleState();
      })
      .catch(() => {});
    this.say(`veilport: telemetry to ${safeUrl(settings.mqtt.url)} under ${this.base}${this.outbox.waiting ? ` (${this.outbox.waiting} message(s) waiting from before)` : ''}`);
    const client = connectBroker(settings.mqtt, {
      clientId: `veilport-${this.ctx.signer.applianceId}`,
      will: { topic: this.topic(TOPICS.availability.suffix), payload: 'offline', qos: 1, retain: true },
      ...(this.opts.reconnectMs ? { reconnectMs: this.opts.reconnectMs } : {}),
    });
    this.client = client;
    client.on('connect', () => this.guard('connect', () => this.onConnect()));
    client.on('error', (e) => this.note(`telemetry: ${e.message}`));
    client.on('offline', () => this.note('telemetry: broker unreachable; events wait in the outbox'));
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(() => this.guard('timer', fn), ms);
      t.unref();
      this.timers.push(t);
    };
    every(settings.mqtt.metricsSeconds * 1000, () => void this.publishMetrics());
    every(settings.mqtt.stateSeconds * 1000, () => {
      this.publishState();
      this.publishHead(true);
    });
    every(AUDIT_CHECK_MS, () => {
      this.publishHead(false);
      this.checkClock();
      this.pump();
    });
  }

  stats(): TelemetryStats {
    return { connected: this.client?.connected ?? false, published: this.counters.published, waiting: this.outbox.waiting, inFlight: this.outbox.inFlight, dropped: this.counters.dropped, connects: this.counters.connects };
  }

  /**
   * A clean stop: lets the backlog drain briefly, publishes `stopped` (retained) and
   * disconnects, so the last will is not sent. Unsent messages stay in the outbox.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const { bus } = this.ctx;
    bus.off('request', this.listeners.request);
    bus.off('job', this.listeners.job);
    bus.off('alert', this.listeners.alert);
    for (const t of this.timers) clearInterval(t);
    if (this.stateTimer) clearTimeout(this.stateTimer);
    running.delete(this.ctx);
    const client = this.client;
    if (!client) return;
    if (client.connected) {
      const until = Date.now() + 3000;
      while (client.connected && (this.outbox.inFlight > 0 || this.outbox.waiting > 0) && Date.now() < until) {
        this.pumpNow();
        await new Promise((r) => setTimeout(r, 20));
      }
      try {
        await publishAsync(client, this.topic(TOPICS.availability.suffix), 'stopped', { qos: 1, retain: true }, 3000);
      } catch (e) {
        this.note(`telemetry: could not say "stopped": ${(e as Error).message}`);
      }
    }
    if (!client.connected) {
      // Nothing to say goodbye to (and mqtt.js would wait for a close that already happened).
      client.end(true);
    } else {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 3000);
        client.end(false, {}, () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    await this.outbox.flushed();
  }

  // ------------------------------------------------------------------ bus

  private onRequest(e: RequestEvent): void {
    this.outbox.add(TOPICS.events.suffix, (seq) => eventPayload(e, seq));
    this.kick();
    this.scheduleState();
  }

  private onJob(e: JobEvent): void {
    const known = this.jobStates.get(e.jobId);
    const topic = `jobs/${e.jobId}`;
    if (!known || known.state !== e.state) {
      const rec = this.ctx.workflow.jobs.get(e.jobId);
      const extra: { attempts?: number; durationSeconds?: number } = {};
      if (rec) extra.attempts = rec.attempts;
      if (rec && FINAL.has(e.state) && rec.startedAt && rec.finishedAt) extra.durationSeconds = (Date.parse(rec.finishedAt) - Date.parse(rec.startedAt)) / 1000;
      this.outbox.add(topic, (seq) => jobPayload(e, { ...extra, seq }));
      if (FINAL.has(e.state)) this.jobStates.delete(e.jobId);
      else this.jobStates.set(e.jobId, { state: e.state, progressAt: 0 }); // the first progress goes out at once
      this.kick();
      this.scheduleState();
      return;
    }
    // Progress: advisory, for now or never, and never ahead of an older message still waiting.
    if (Date.now() - known.progressAt < PROGRESS_EVERY_MS) return;
    known.progressAt = Date.now();
    if (this.client?.connected && this.outbox.waiting === 0) this.publishVolatile(topic, jobPayload(e), TOPICS.jobProgress);
  }

  private queueAlert(e: Pick<AlertEvent, 'message' | 'at' | 'requestId' | 'account'> & { kind: TelemetryAlertKind }): void {
    this.outbox.add(TOPICS.alerts.suffix, (seq) => alertPayload(e, seq));
    this.kick();
  }

  // ------------------------------------------------------------------ broker

  private onConnect(): void {
    const client = this.client!;
    this.counters.connects++;
    this.droppedSaid = false;
    if (this.lastError) this.say('veilport: telemetry: connected to the broker');
    this.lastError = '';
    client.publish(this.topic(TOPICS.availability.suffix), 'online', { qos: 1, retain: true });
    const { settings } = this.ctx;
    if (settings.mqtt.homeAssistant) {
      for (const d of discoveryMessages({ prefix: settings.mqtt.discoveryPrefix, base: this.base, applianceId: this.ctx.signer.applianceId, version: this.ctx.version })) {
        client.publish(d.topic, JSON.stringify(d.payload), { qos: 1, retain: true });
      }
    }
    this.publishState();
    this.publishHead(true);
    void this.publishMetrics();
    this.pump();
  }

  /** Hands waiting messages to the client, a window at a time, oldest first. */
  private pump(): void {
    if (this.stopping) return;
    this.pumpNow();
  }

  private pumpNow(): void {
    const client = this.client;
    if (!client?.connected || this.pumping) return;
    this.pumping = true;
    try {
      const dropped = this.outbox.dropped();
      if (dropped && !this.droppedReport) {
        this.droppedReport = { count: dropped.count, lastSeq: dropped.lastSeq };
        const payload = {
          ...alertPayload({ kind: 'outbox-dropped', message: `telemetry outbox full (${this.ctx.settings.mqtt.outboxMax} messages) while the broker was away: ${dropped.count} oldest message(s) dropped (seq ${dropped.firstSeq}-${dropped.lastSeq}) since ${dropped.since}`, at: new Date().toISOString() }),
          dropped: dropped.count,
          firstSeq: dropped.firstSeq,
          lastSeq: dropped.lastSeq,
        };
        client.publish(this.topic(TOPICS.alerts.suffix), JSON.stringify(payload), { qos: 1, retain: false }, (err) => {
          if (!err) this.outbox.clearDropped(dropped);
          this.droppedReport = null;
        });
      }
      for (;;) {
        const room = WINDOW - this.outbox.inFlight;
        if (room <= 0) break;
        const batch = this.outbox.take(room);
        if (!batch.length) break;
        for (const m of batch) {
          client.publish(this.topic(m.topic), m.payload, { qos: 1, retain: m.retain }, (err) => {
            if (err) {
              this.outbox.unsent(m.seq);
            } else {
              this.counters.published++;
              void this.outbox.ack(m.seq);
            }
            this.kick();
          });
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private kick(): void {
    queueMicrotask(() => this.pump());
  }

  private publishVolatile(suffix: string, payload: unknown, rule: { qos: 0 | 1; retain: boolean }): void {
    const client = this.client;
    if (!client?.connected || this.stopping) return;
    client.publish(this.topic(suffix), typeof payload === 'string' ? payload : JSON.stringify(payload), { qos: rule.qos, retain: rule.retain }, () => {});
  }

  // ------------------------------------------------------------------ figures

  stateNow(): StatePayload {
    const { ctx } = this;
    const active = ctx.workflow.jobs.active();
    let last: string | null = null;
    for (const r of ctx.workflow.all()) {
      const at = r.package?.issuedAt;
      if (at && (!last || at > last)) last = at;
    }
    return {
      applianceId: ctx.signer.applianceId,
      version: ctx.version,
      startedAt: ctx.startedAt.toISOString(),
      at: new Date().toISOString(),
      profile: { selected: this.profile, forced: Boolean(ctx.settings.jobs.profile) },
      models: this.models,
      paths: { recordings: ctx.settings.paths.recordings, exports: ctx.workflow.exportsDir, data: ctx.dataDir },
      queue: { queued: active.filter((j) => j.state === 'queued').length, running: active.filter((j) => j.state === 'running').length },
      lastExportAt: last,
    };
  }

  private scheduleState(): void {
    if (this.stateTimer || this.stopping) return;
    this.stateTimer = setTimeout(() => {
      this.stateTimer = null;
      this.guard('state', () => this.publishState());
    }, 300);
    this.stateTimer.unref();
  }

  private publishState(): void {
    if (!this.client?.connected) return;
    this.publishVolatile(TOPICS.state.suffix, this.stateNow(), TOPICS.state);
  }

  private publishHead(always: boolean): void {
    if (!this.client?.connected) return;
    const h = this.ctx.log.signedHead();
    const key = `${h.length}:${h.hash}`;
    if (!always && key === this.lastHead) return;
    this.lastHead = key;
    this.publishVolatile(TOPICS.auditHead.suffix, { ...h, publicKey: bytesToHex(this.ctx.signer.publicKey) }, TOPICS.auditHead);
  }

  private async publishMetrics(): Promise<void> {
    let m: MetricsPayload;
    try {
      m = await this.sampler.sample();
    } catch (e) {
      this.note(`telemetry: health sampling failed: ${(e as Error).message}`);
      return;
    }
    this.checkDisks(m);
    this.publishVolatile(TOPICS.metrics.suffix, m, TOPICS.metrics);
  }

  private checkDisks(m: MetricsPayload): void {
    const limit = this.ctx.settings.mqtt.diskLowPercent;
    for (const [name, d] of Object.entries(m.disks)) {
      if (d.freePercent === null) continue;
      if (d.freePercent < limit) {
        if (this.diskLow.has(name)) continue;
        this.diskLow.add(name);
        this.ctx.bus.alert({ kind: 'disk-low', message: `${name} volume ${d.path}: ${d.freePercent}% free (below ${limit}%)` });
      } else if (d.freePercent > limit + 1) {
        this.diskLow.delete(name);
      }
    }
  }

  private checkClock(): void {
    const wall = Date.now();
    const mono = performance.now();
    const drift = wall - this.clock.wall - (mono - this.clock.mono);
    this.clock = { wall, mono };
    if (Math.abs(drift) >= CLOCK_JUMP_MS) {
      const s = Math.round(drift / 1000);
      this.queueAlert({ kind: 'clock-jump', message: `the system clock jumped ${s > 0 ? 'forward' : 'back'} ${Math.abs(s)} s`, at: new Date().toISOString() });
    }
  }

  // ------------------------------------------------------------------ helpers

  private topic(suffix: string): string {
    return `${this.base}/${suffix}`;
  }

  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.note(`telemetry: ${what}: ${(e as Error).message}`);
    }
  }

  /** Says a line once until it changes (a broker away for hours is one line, not thousands). */
  private note(line: string): void {
    if (line === this.lastError) return;
    this.lastError = line;
    this.say(`veilport: ${line}`);
  }

  /** Called by the outbox owner when it had to drop: said once per outage. */
  noteDropped(n: number): void {
    this.counters.dropped += n;
    if (!this.droppedSaid) this.say(`veilport: telemetry outbox full: dropping the oldest messages (an alert will say how many)`);
    this.droppedSaid = true;
  }
}
