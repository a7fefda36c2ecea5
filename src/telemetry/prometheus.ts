/**
 * The Prometheus text exposition (format 0.0.4) for `/metrics`: the figures the MQTT
 * metrics carry, plus job counters and durations, request states, the telemetry's own
 * health and the access log's length. Ids, states and numbers only, no personal data.
 *
 * Job counters and durations are read from the persisted job records, so they survive
 * restarts and two scrapes of two boxes compare; alert counters count since start.
 */
import type { JobRecord } from '../workflow/jobs.js';
import type { MetricsPayload } from './topics.js';
import type { TelemetryStats } from './telemetry.js';

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
/** Job duration histogram buckets, seconds. */
export const DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600];

export interface PrometheusInput {
  applianceId: string;
  version: string;
  health: MetricsPayload;
  jobs: JobRecord[];
  requestStates: Record<string, number>;
  lastExportAt: string | null;
  auditLength: number;
  alerts: Record<string, number>;
  telemetry: TelemetryStats | null;
}

type Labels = Record<string, string>;

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const fmt = (n: number) => (Number.isFinite(n) ? String(n) : n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN');

class Writer {
  private readonly lines: string[] = [];

  family(name: string, type: 'gauge' | 'counter' | 'histogram', help: string, samples: [Labels, number | null][]): void {
    const present = samples.filter((s): s is [Labels, number] => s[1] !== null);
    if (!present.length && type !== 'counter') return;
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of present) this.lines.push(`${name}${this.labels(labels)} ${fmt(v)}`);
  }

  histogram(name: string, help: string, series: { labels: Labels; values: number[] }[]): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
    for (const { labels, values } of series) {
      for (const le of DURATION_BUCKETS) this.lines.push(`${name}_bucket${this.labels({ ...labels, le: String(le) })} ${values.filter((v) => v <= le).length}`);
      this.lines.push(`${name}_bucket${this.labels({ ...labels, le: '+Inf' })} ${values.length}`);
      this.lines.push(`${name}_sum${this.labels(labels)} ${fmt(Math.round(values.reduce((a, b) => a + b, 0) * 1000) / 1000)}`);
      this.lines.push(`${name}_count${this.labels(labels)} ${values.length}`);
    }
  }

  text(): string {
    return this.lines.join('\n') + '\n';
  }

  private labels(l: Labels): string {
    const e = Object.entries(l);
    return e.length ? `{${e.map(([k, v]) => `${k}="${escape(v)}"`).join(',')}}` : '';
  }
}

export function renderPrometheus(i: PrometheusInput): string {
  const w = new Writer();
  const h = i.health;
  w.family('veilport_info', 'gauge', 'Version and appliance id (always 1).', [[{ version: i.version, appliance_id: i.applianceId }, 1]]);
  w.family('veilport_uptime_seconds', 'gauge', 'Seconds since the service started.', [[{}, h.uptimeSeconds.service]]);
  w.family('veilport_system_uptime_seconds', 'gauge', 'Seconds since the box booted.', [[{}, h.uptimeSeconds.system]]);
  w.family('veilport_cpu_load_percent', 'gauge', 'CPU load over all cores, percent.', [[{}, h.cpu.loadPercent]]);
  w.family('veilport_cpu_load1', 'gauge', 'One-minute load average.', [[{}, h.cpu.load1]]);
  w.family('veilport_cpu_cores', 'gauge', 'CPU cores available.', [[{}, h.cpu.cores]]);
  w.family('veilport_memory_total_bytes', 'gauge', 'Physical memory.', [[{}, h.memory.totalBytes]]);
  w.family('veilport_memory_used_bytes', 'gauge', 'Memory in use (total minus available).', [[{}, h.memory.usedBytes]]);
  w.family('veilport_memory_available_bytes', 'gauge', 'Memory available to new work.', [[{}, h.memory.availableBytes]]);
  w.family('veilport_temperature_celsius', 'gauge', 'Temperatures where the platform exposes them.', [
    [{ sensor: 'cpu' }, h.temperatures.cpu],
    [{ sensor: 'max' }, h.temperatures.max],
    [{ sensor: 'gpu' }, h.temperatures.gpu],
  ]);
  w.family('veilport_gpu_utilization_percent', 'gauge', 'GPU busy, percent (Jetson sysfs or nvidia-smi).', [[{ source: h.gpu.source ?? '' }, h.gpu.utilizationPercent]]);
  const disks = Object.entries(h.disks);
  w.family('veilport_disk_free_bytes', 'gauge', 'Free space available to the service, per volume.', disks.map(([v, d]) => [{ volume: v, path: d.path }, d.freeBytes]));
  w.family('veilport_disk_total_bytes', 'gauge', 'Size of each volume.', disks.map(([v, d]) => [{ volume: v, path: d.path }, d.totalBytes]));

  const kinds = [...new Set(i.jobs.map((j) => j.kind).concat(['analyse', 'render']))].sort();
  const count = (kind: string, state: string) => i.jobs.filter((j) => j.kind === kind && j.state === state).length;
  w.family('veilport_jobs', 'gauge', 'Jobs queued or running now.', kinds.flatMap((k) => (['queued', 'running'] as const).map((s): [Labels, number] => [{ kind: k, state: s }, count(k, s)])));
  w.family('veilport_jobs_finished_total', 'counter', 'Jobs finished, by outcome (from the job records, across restarts).', kinds.flatMap((k) => (['done', 'failed', 'cancelled'] as const).map((s): [Labels, number] => [{ kind: k, outcome: s }, count(k, s)])));
  w.family('veilport_job_attempts_total', 'counter', 'Job starts, including restarts after a crash.', kinds.map((k): [Labels, number] => [{ kind: k }, i.jobs.filter((j) => j.kind === k).reduce((a, j) => a + j.attempts, 0)]));
  w.histogram(
    'veilport_job_duration_seconds',
    'Run time of finished jobs (last attempt, start to end).',
    kinds.flatMap((k) =>
      (['done', 'failed'] as const).map((s) => ({
        labels: { kind: k, outcome: s },
        values: i.jobs.filter((j) => j.kind === k && j.state === s && j.startedAt && j.finishedAt).map((j) => Math.max(0, (Date.parse(j.finishedAt!) - Date.parse(j.startedAt!)) / 1000)),
      })),
    ),
  );
  w.family('veilport_requests', 'gauge', 'Export requests by state.', Object.entries(i.requestStates).sort().map(([s, n]) => [{ state: s }, n]));
  w.family('veilport_last_export_timestamp_seconds', 'gauge', 'When the last package was sealed (Unix time).', [[{}, i.lastExportAt ? Date.parse(i.lastExportAt) / 1000 : null]]);
  w.family('veilport_audit_log_length', 'gauge', 'Entries in the access log (its head seq).', [[{}, i.auditLength]]);
  w.family('veilport_alerts_total', 'counter', 'Alerts raised since the service started, by kind.', Object.entries(i.alerts).sort().map(([k, n]) => [{ kind: k }, n]));

  const t = i.telemetry;
  w.family('veilport_telemetry_enabled', 'gauge', '1 when a broker is configured.', [[{}, t ? 1 : 0]]);
  if (t) {
    w.family('veilport_telemetry_connected', 'gauge', '1 while connected to the broker.', [[{}, t.connected ? 1 : 0]]);
    w.family('veilport_telemetry_outbox_messages', 'gauge', 'Messages in the outbox: waiting, or sent and not yet acknowledged.', [
      [{ state: 'waiting' }, t.waiting],
      [{ state: 'in_flight' }, t.inFlight],
    ]);
    w.family('veilport_telemetry_published_total', 'counter', 'Outbox messages acknowledged by the broker since start.', [[{}, t.published]]);
    w.family('veilport_telemetry_dropped_total', 'counter', 'Outbox messages dropped (outbox full) since start.', [[{}, t.dropped]]);
    w.family('veilport_telemetry_connects_total', 'counter', 'Connections to the broker since start.', [[{}, t.connects]]);
  }
  return w.text();
}
