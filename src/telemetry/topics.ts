/**
 * What the appliance says over MQTT: the topics under `<base>`, how each is sent, and a
 * JSON schema per payload (docs/mqtt.md shows the same schemas; a test checks that the
 * two agree and that every payload the tests see validates).
 *
 * Payloads carry ids, states, counts and figures only. Nothing a requester told us (name,
 * phone, ID number, organisation, document number, purpose) is ever put in one: the
 * builders below take the event bus's events, which never hold such data, and copy
 * named fields only, so a new field on an event does not leak by accident.
 */
import type { AlertEvent, JobEvent, RequestEvent } from '../workflow/events.js';
import { JOB_KINDS, JOB_STATES } from '../workflow/events.js';
import { REQUEST_STATES } from '../workflow/types.js';

export const AVAILABILITY = ['online', 'offline', 'stopped'] as const;
export type Availability = (typeof AVAILABILITY)[number];

/** Alert kinds: the bus's, plus the telemetry's own. */
export const ALERT_KINDS = ['unusual-volume', 'job-failed', 'disk-low', 'audit-broken', 'destruction-failed', 'outbox-dropped', 'clock-jump'] as const;
export type TelemetryAlertKind = (typeof ALERT_KINDS)[number];

/** How each topic is published. `suffix` is relative to the base topic. */
export interface TopicRule {
  suffix: string;
  qos: 0 | 1;
  retain: boolean;
  /** Written to the durable outbox before it is sent (survives outages and restarts). */
  durable: boolean;
}

export const TOPICS = {
  availability: { suffix: 'availability', qos: 1, retain: true, durable: false },
  state: { suffix: 'state', qos: 1, retain: true, durable: false },
  metrics: { suffix: 'metrics', qos: 0, retain: true, durable: false },
  job: { suffix: 'jobs/<id>', qos: 1, retain: false, durable: true },
  jobProgress: { suffix: 'jobs/<id>', qos: 0, retain: false, durable: false },
  events: { suffix: 'events', qos: 1, retain: false, durable: true },
  alerts: { suffix: 'alerts', qos: 1, retain: false, durable: true },
  auditHead: { suffix: 'audit/head', qos: 1, retain: true, durable: false },
} as const satisfies Record<string, TopicRule>;

// ---------------------------------------------------------------- schemas (JSON Schema draft-07)

const isoTime = { type: 'string', format: 'date-time' } as const;
const seq = { type: 'integer', minimum: 1, description: 'Outbox sequence number: increases by one per durable message of this appliance, across restarts. A console drops repeats (QoS 1 may deliver twice) by (appliance, seq).' } as const;
const id = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' } as const;
const nullableNumber = { type: ['number', 'null'] } as const;
const disk = {
  type: 'object',
  additionalProperties: false,
  required: ['path', 'freeBytes', 'totalBytes', 'freePercent'],
  properties: { path: { type: 'string' }, freeBytes: { type: ['integer', 'null'], minimum: 0 }, totalBytes: { type: ['integer', 'null'], minimum: 0 }, freePercent: { type: ['number', 'null'], minimum: 0, maximum: 100 } },
} as const;

export const SCHEMAS = {
  availability: {
    $id: 'veilport/availability',
    description: 'Plain text, not JSON: online after connecting; stopped on a clean stop; offline is the last will the broker sends when the connection is lost.',
    type: 'string',
    enum: [...AVAILABILITY],
  },
  state: {
    $id: 'veilport/state',
    type: 'object',
    additionalProperties: false,
    required: ['applianceId', 'version', 'startedAt', 'at', 'profile', 'models', 'paths', 'queue', 'lastExportAt'],
    properties: {
      applianceId: id,
      version: { type: 'string' },
      startedAt: isoTime,
      at: isoTime,
      profile: {
        type: 'object',
        additionalProperties: false,
        required: ['selected', 'forced'],
        properties: { selected: { type: ['string', 'null'], description: 'The pipeline profile jobs run with (null until probed, or when none can run).' }, forced: { type: 'boolean' } },
      },
      models: {
        type: 'array',
        items: { type: 'object', additionalProperties: false, required: ['name', 'target', 'sha256'], properties: { name: { type: 'string' }, target: { type: 'string' }, sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' } } },
      },
      paths: { type: 'object', additionalProperties: false, required: ['recordings', 'exports', 'data'], properties: { recordings: { type: 'string' }, exports: { type: 'string' }, data: { type: 'string' } } },
      queue: { type: 'object', additionalProperties: false, required: ['queued', 'running'], properties: { queued: { type: 'integer', minimum: 0 }, running: { type: 'integer', minimum: 0 } } },
      lastExportAt: { type: ['string', 'null'], format: 'date-time' },
    },
  },
  metrics: {
    $id: 'veilport/metrics',
    type: 'object',
    additionalProperties: false,
    required: ['at', 'uptimeSeconds', 'cpu', 'memory', 'temperatures', 'gpu', 'disks'],
    properties: {
      at: isoTime,
      uptimeSeconds: { type: 'object', additionalProperties: false, required: ['system', 'service'], properties: { system: { type: 'number', minimum: 0 }, service: { type: 'number', minimum: 0 } } },
      cpu: { type: 'object', additionalProperties: false, required: ['loadPercent', 'load1', 'cores'], properties: { loadPercent: nullableNumber, load1: nullableNumber, cores: { type: 'integer', minimum: 1 } } },
      memory: { type: 'object', additionalProperties: false, required: ['totalBytes', 'usedBytes', 'availableBytes'], properties: { totalBytes: { type: 'integer', minimum: 0 }, usedBytes: { type: 'integer', minimum: 0 }, availableBytes: { type: 'integer', minimum: 0 } } },
      temperatures: { type: 'object', additionalProperties: false, required: ['cpu', 'max', 'gpu'], properties: { cpu: nullableNumber, max: nullableNumber, gpu: nullableNumber }, description: 'Degrees Celsius; null where the platform does not expose the sensor.' },
      gpu: { type: 'object', additionalProperties: false, required: ['utilizationPercent', 'source'], properties: { utilizationPercent: { type: ['number', 'null'], minimum: 0, maximum: 100 }, source: { type: ['string', 'null'], enum: ['jetson', 'nvidia-smi', null] } } },
      disks: { type: 'object', additionalProperties: false, required: ['recordings', 'exports', 'data'], properties: { recordings: disk, exports: disk, data: disk } },
    },
  },
  job: {
    $id: 'veilport/job',
    type: 'object',
    additionalProperties: false,
    required: ['jobId', 'requestId', 'kind', 'state', 'at'],
    properties: {
      seq: { ...seq, description: 'Present on state changes (durable, QoS 1); absent on progress updates (QoS 0, best effort, at most one per job every 2 s).' },
      jobId: { type: 'string', format: 'uuid' },
      requestId: id,
      kind: { type: 'string', enum: [...JOB_KINDS] },
      state: { type: 'string', enum: [...JOB_STATES] },
      step: { type: 'string' },
      done: { type: 'number', minimum: 0 },
      total: { type: 'number', minimum: 0 },
      fps: { type: 'number', minimum: 0 },
      etaSeconds: { type: 'number', minimum: 0 },
      error: { type: 'string' },
      attempts: { type: 'integer', minimum: 0 },
      durationSeconds: { type: 'number', minimum: 0, description: 'From start to end, on done, failed and cancelled.' },
      at: isoTime,
    },
  },
  events: {
    $id: 'veilport/events',
    type: 'object',
    additionalProperties: false,
    required: ['seq', 'type', 'requestId', 'from', 'to', 'at'],
    properties: {
      seq,
      type: { const: 'request', description: 'A request changed state: registered, received, approved, ..., delivered, destroyed.' },
      requestId: id,
      from: { type: ['string', 'null'], enum: [...REQUEST_STATES, null] },
      to: { type: 'string', enum: [...REQUEST_STATES] },
      at: isoTime,
    },
  },
  alerts: {
    $id: 'veilport/alerts',
    type: 'object',
    additionalProperties: false,
    required: ['kind', 'message', 'at'],
    properties: {
      seq: { ...seq, description: 'Absent on outbox-dropped (it reports the outbox itself and is sent before the backlog).' },
      kind: { type: 'string', enum: [...ALERT_KINDS] },
      message: { type: 'string' },
      requestId: id,
      account: { type: 'string', description: 'The staff account (an operator id, never a requester) on unusual-volume.' },
      dropped: { type: 'integer', minimum: 1, description: 'outbox-dropped: how many messages were dropped.' },
      firstSeq: { type: 'integer', minimum: 1 },
      lastSeq: { type: 'integer', minimum: 1 },
      at: isoTime,
    },
  },
  auditHead: {
    $id: 'veilport/audit-head',
    type: 'object',
    additionalProperties: false,
    required: ['applianceId', 'length', 'hash', 'at', 'signature', 'publicKey'],
    properties: {
      applianceId: id,
      length: { type: 'integer', minimum: 0, description: 'seq of the last access-log entry.' },
      hash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
      at: isoTime,
      v: { type: 'integer', enum: [2], description: 'Head format 2: signed in the head context (headMessageV2), which no checkpoint shares.' },
      signature: { type: 'string', pattern: '^[0-9a-f]{128}$', description: 'Ed25519 over headMessageV2 (docs/access-log.md).' },
      publicKey: { type: 'string', pattern: '^[0-9a-f]{64}$', description: "The appliance's Ed25519 public key; pin it on first sight." },
    },
  },
  discovery: {
    $id: 'veilport/discovery',
    description: 'Home Assistant MQTT discovery config (only with mqtt.homeAssistant).',
    type: 'object',
    required: ['name', 'unique_id', 'state_topic', 'availability', 'device'],
    properties: {
      name: { type: 'string' },
      unique_id: { type: 'string' },
      object_id: { type: 'string' },
      state_topic: { type: 'string' },
      value_template: { type: 'string' },
      device_class: { type: 'string' },
      unit_of_measurement: { type: 'string' },
      state_class: { type: 'string' },
      payload_on: { type: 'string' },
      payload_off: { type: 'string' },
      availability: { type: 'array', items: { type: 'object', required: ['topic'], properties: { topic: { type: 'string' }, value_template: { type: 'string' }, payload_available: { type: 'string' }, payload_not_available: { type: 'string' } } } },
      device: { type: 'object', required: ['identifiers', 'name'], properties: { identifiers: { type: 'array', items: { type: 'string' } }, name: { type: 'string' }, manufacturer: { type: 'string' }, model: { type: 'string' }, sw_version: { type: 'string' } } },
    },
  },
} as const;

export type SchemaName = keyof typeof SCHEMAS;

// ---------------------------------------------------------------- payloads

export interface StatePayload {
  applianceId: string;
  version: string;
  startedAt: string;
  at: string;
  profile: { selected: string | null; forced: boolean };
  models: { name: string; target: string; sha256: string }[];
  paths: { recordings: string; exports: string; data: string };
  queue: { queued: number; running: number };
  lastExportAt: string | null;
}

export interface DiskFigures { path: string; freeBytes: number | null; totalBytes: number | null; freePercent: number | null }

export interface MetricsPayload {
  at: string;
  uptimeSeconds: { system: number; service: number };
  cpu: { loadPercent: number | null; load1: number | null; cores: number };
  memory: { totalBytes: number; usedBytes: number; availableBytes: number };
  temperatures: { cpu: number | null; max: number | null; gpu: number | null };
  gpu: { utilizationPercent: number | null; source: 'jetson' | 'nvidia-smi' | null };
  disks: { recordings: DiskFigures; exports: DiskFigures; data: DiskFigures };
}

export interface JobPayload {
  seq?: number;
  jobId: string;
  requestId: string;
  kind: JobEvent['kind'];
  state: JobEvent['state'];
  step?: string;
  done?: number;
  total?: number;
  fps?: number;
  etaSeconds?: number;
  error?: string;
  attempts?: number;
  durationSeconds?: number;
  at: string;
}

export interface EventPayload { seq: number; type: 'request'; requestId: string; from: RequestEvent['from']; to: RequestEvent['to']; at: string }

export interface AlertPayload {
  seq?: number;
  kind: TelemetryAlertKind;
  message: string;
  requestId?: string;
  account?: string;
  dropped?: number;
  firstSeq?: number;
  lastSeq?: number;
  at: string;
}

const finite = (n: number | undefined) => (typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined);
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

/** A job event as a payload; `seq` on state changes only. Named fields only. */
export function jobPayload(e: JobEvent, extra: { seq?: number; attempts?: number; durationSeconds?: number } = {}): JobPayload {
  const p: JobPayload = { jobId: e.jobId, requestId: e.requestId, kind: e.kind, state: e.state, at: e.at };
  if (extra.seq !== undefined) p.seq = extra.seq;
  if (typeof e.step === 'string') p.step = e.step;
  for (const k of ['done', 'total', 'fps', 'etaSeconds'] as const) {
    const v = finite(e[k]);
    if (v !== undefined) p[k] = k === 'fps' || k === 'etaSeconds' ? round(v, 1) : v;
  }
  if (e.error) p.error = e.error;
  if (extra.attempts !== undefined) p.attempts = extra.attempts;
  if (extra.durationSeconds !== undefined && extra.durationSeconds >= 0) p.durationSeconds = round(extra.durationSeconds, 3);
  return p;
}

export function eventPayload(e: RequestEvent, seqNo: number): EventPayload {
  return { seq: seqNo, type: 'request', requestId: e.requestId, from: e.from, to: e.to, at: e.at };
}

export function alertPayload(e: Pick<AlertEvent, 'message' | 'at'> & { kind: TelemetryAlertKind; requestId?: string; account?: string }, seqNo?: number): AlertPayload {
  const p: AlertPayload = { kind: e.kind, message: e.message, at: e.at };
  if (seqNo !== undefined) p.seq = seqNo;
  if (e.requestId) p.requestId = e.requestId;
  if (e.account) p.account = e.account;
  return p;
}
