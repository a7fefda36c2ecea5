/**
 * The job queue: analyse and render jobs, persisted in LMDB, run in order, a few at a
 * time (one by default: inference and encoding already use every core). A job found
 * `running` at startup was interrupted by a crash or a stop: it is queued again until
 * it has used its attempts, then failed with that reason, so nothing hangs silently.
 */
import { randomUUID } from 'node:crypto';
import type { Store } from '../store/store.js';
import { VeilportError } from '../util/errors.js';
import type { EventBus, JobKind, JobState } from './events.js';
import type { ProgressListener } from '../export/progress.js';

export interface JobProgress { step: string; done: number; total: number; fps: number; etaSeconds: number }

export interface JobRecord {
  id: string;
  requestId: string;
  kind: JobKind;
  state: JobState;
  attempts: number;
  /** Monotonic queue position, so the order survives restarts. */
  order: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
  progress: JobProgress | null;
}

/** Runs one job; throws to fail it. `signal` fires on cancel or shutdown. */
export type JobExecutor = (job: JobRecord, signal: AbortSignal, onProgress: ProgressListener) => Promise<void>;
/** Told when a job ends, inside no transaction; it updates the request. */
export type JobOutcome = (job: JobRecord) => void;

export interface JobRunnerOptions {
  concurrency: number;
  maxAttempts: number;
}

export class JobRunner {
  private readonly db;
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void>; why?: 'cancel' | 'shutdown' }>();
  private stopped = true;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly store: Store,
    private readonly bus: EventBus,
    private readonly execute: JobExecutor,
    private readonly outcome: JobOutcome,
    private readonly options: JobRunnerOptions,
  ) {
    this.db = store.db<JobRecord, string>('jobs');
  }

  /** Queues a job; call inside the caller's transaction so the request and its job commit together. */
  enqueue(requestId: string, kind: JobKind): JobRecord {
    const last = this.list().reduce((m, j) => Math.max(m, j.order), 0);
    const job: JobRecord = { id: randomUUID(), requestId, kind, state: 'queued', attempts: 0, order: last + 1, createdAt: new Date().toISOString(), startedAt: null, finishedAt: null, error: null, progress: null };
    this.db.putSync(job.id, job);
    queueMicrotask(() => this.kick());
    return job;
  }

  get(id: string): JobRecord | undefined {
    return this.db.get(id);
  }

  list(): JobRecord[] {
    return [...this.db.getRange()].map((e) => e.value).sort((a, b) => a.order - b.order);
  }

  /** Jobs queued or running, oldest first. */
  active(): JobRecord[] {
    return this.list().filter((j) => j.state === 'queued' || j.state === 'running');
  }

  /** Recovers interrupted jobs and starts taking work. */
  start(): void {
    for (const j of this.list()) {
      if (j.state !== 'running') continue;
      const spent = j.attempts >= this.options.maxAttempts;
      const next: JobRecord = spent
        ? { ...j, state: 'failed', finishedAt: new Date().toISOString(), error: `interrupted ${j.attempts} times by restarts; giving up` }
        : { ...j, state: 'queued', progress: null };
      this.db.putSync(j.id, next);
      if (spent) this.finish(next);
    }
    this.stopped = false;
    this.loop = this.run();
  }

  cancel(id: string): JobRecord {
    const job = this.get(id);
    if (!job) throw new VeilportError('NOT_FOUND', `no job ${id}`);
    if (job.state !== 'queued' && job.state !== 'running') throw new VeilportError('CONFLICT', `job ${id} is already ${job.state}`);
    const live = this.running.get(id);
    if (live) {
      live.why = 'cancel';
      live.controller.abort();
      return job;
    }
    const next: JobRecord = { ...job, state: 'cancelled', finishedAt: new Date().toISOString(), error: 'cancelled' };
    this.db.putSync(id, next);
    this.finish(next);
    return next;
  }

  /**
   * Stops taking work and stops running jobs. They go back to the queue (not counted as
   * an attempt) and start again after the next start: a clean shutdown never fails a job.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    for (const r of this.running.values()) {
      r.why ??= 'shutdown';
      r.controller.abort();
    }
    await Promise.all([...this.running.values()].map((r) => r.done));
    await this.loop;
  }

  private kick(): void {
    this.wake?.();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const next = this.running.size < this.options.concurrency ? this.list().find((j) => j.state === 'queued') : undefined;
      if (next) {
        this.startJob(next);
        continue;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = null;
    }
  }

  private startJob(queued: JobRecord): void {
    const job: JobRecord = { ...queued, state: 'running', attempts: queued.attempts + 1, startedAt: new Date().toISOString(), error: null, progress: null };
    this.db.putSync(job.id, job);
    this.emit(job);
    const controller = new AbortController();
    let lastWrite = 0;
    const onProgress: ProgressListener = (p) => {
      const cur = this.db.get(job.id);
      if (!cur || cur.state !== 'running') return;
      const updated = { ...cur, progress: p };
      // Progress is advisory: persist it now and then, announce it every time.
      if (Date.now() - lastWrite > 5000) {
        lastWrite = Date.now();
        void this.db.put(job.id, updated);
      }
      this.emit(updated, p);
    };
    const entry: { controller: AbortController; done: Promise<void>; why?: 'cancel' | 'shutdown' } = { controller, done: Promise.resolve() };
    entry.done = this.execute(job, controller.signal, onProgress).then(
      () => this.settle(job.id, 'done', null),
      (e: unknown) => {
        if (entry.why === 'shutdown') return this.requeue(job.id);
        this.settle(job.id, entry.why === 'cancel' ? 'cancelled' : 'failed', entry.why === 'cancel' ? 'cancelled' : e instanceof Error ? e.message : String(e));
      },
    ).finally(() => {
      this.running.delete(job.id);
      this.kick();
    });
    this.running.set(job.id, entry);
  }

  private requeue(id: string): void {
    const cur = this.db.get(id)!;
    this.db.putSync(id, { ...cur, state: 'queued', attempts: cur.attempts - 1, progress: null });
  }

  private settle(id: string, state: JobState, error: string | null): void {
    const cur = this.db.get(id)!;
    const next: JobRecord = { ...cur, state, error, finishedAt: new Date().toISOString() };
    this.db.putSync(id, next);
    this.finish(next);
  }

  private finish(job: JobRecord): void {
    this.emit(job);
    this.outcome(job);
  }

  private emit(job: JobRecord, p?: JobProgress): void {
    this.bus.emit('job', {
      jobId: job.id,
      requestId: job.requestId,
      kind: job.kind,
      state: job.state,
      ...(p ?? job.progress ?? {}),
      ...(job.error ? { error: job.error } : {}),
      at: new Date().toISOString(),
    });
  }
}
