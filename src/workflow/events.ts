/**
 * The core's one event bus: the API's live views and the telemetry listen here; the
 * workflow and the job runner speak. Events carry ids and states only, never a
 * requester's personal data, so any listener may forward them off the box.
 */
import { EventEmitter } from 'node:events';
import type { RequestState } from './types.js';

export interface RequestEvent { requestId: string; from: RequestState | null; to: RequestState; at: string }
export interface JobEvent { jobId: string; requestId: string; kind: JobKind; state: JobState; step?: string; done?: number; total?: number; fps?: number; etaSeconds?: number; error?: string; at: string }
export interface AlertEvent { kind: 'unusual-volume' | 'job-failed' | 'disk-low' | 'audit-broken' | 'destruction-failed'; message: string; account?: string; requestId?: string; at: string }

export const JOB_KINDS = ['analyse', 'render'] as const;
export type JobKind = (typeof JOB_KINDS)[number];
export const JOB_STATES = ['queued', 'running', 'done', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

interface EventMap {
  request: [RequestEvent];
  job: [JobEvent];
  alert: [AlertEvent];
}

export class EventBus extends EventEmitter<EventMap> {
  /** The latest alerts, newest first, for the dashboard. */
  readonly recentAlerts: AlertEvent[] = [];

  alert(a: Omit<AlertEvent, 'at'>): void {
    const e = { ...a, at: new Date().toISOString() };
    this.recentAlerts.unshift(e);
    this.recentAlerts.length = Math.min(this.recentAlerts.length, 50);
    this.emit('alert', e);
  }
}
