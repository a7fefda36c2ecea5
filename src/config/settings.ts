/**
 * The daemon's settings: one schema, embedded defaults, a JSON file, environment
 * variables `VEILPORT_<SECTION>_<KEY>` and command-line flags, in that order of
 * precedence (later wins). Anything that does not fit the schema stops startup with a
 * message naming the key and what was expected.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import Type, { type Static, type TSchema } from 'typebox';
import Value from 'typebox/value';
import { VeilportError } from '../util/errors.js';

const CAMERA_NAME = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,64}$/;
const Box = Type.Object({ x: Type.Number({ minimum: 0 }), y: Type.Number({ minimum: 0 }), w: Type.Number({ exclusiveMinimum: 0 }), h: Type.Number({ exclusiveMinimum: 0 }) }, { additionalProperties: false });

export const SettingsSchema = Type.Object(
  {
    server: Type.Object(
      {
        /** HOST:PORT; the touchscreen reaches it on loopback, other systems only with TLS. */
        listen: Type.String({ pattern: '^(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9.-]+):\\d{1,5}$' }),
        tlsCert: Type.String(),
        tlsKey: Type.String(),
        bodyLimitBytes: Type.Integer({ minimum: 1024, maximum: 16 * 1024 * 1024 }),
        /** Client addresses (CIDR) allowed at all; empty: any. Per-account lists narrow it further. */
        allowedIps: Type.Array(Type.String()),
        /**
         * Reverse proxies (CIDR) whose X-Forwarded-For / -Proto / -Host are believed: the
         * client address in the allow-lists and records is then the one the proxy saw.
         * Empty (default): those headers are ignored, the peer address is the client.
         */
        trustedProxies: Type.Array(Type.String()),
      },
      { additionalProperties: false },
    ),
    paths: Type.Object(
      {
        data: Type.String({ minLength: 1 }),
        recordings: Type.String({ minLength: 1 }),
        /** Where sealed packages wait for delivery; empty: `<data>/exports`. */
        exports: Type.String(),
        /** Recordings layout pattern; empty: the catalog default. */
        layout: Type.String(),
        /** Time zone the recordings' file names are written in. */
        recordingsTimeZone: Type.String({ minLength: 1 }),
      },
      { additionalProperties: false },
    ),
    site: Type.Object(
      {
        /** Where the control centre is: day boundaries for alerts, dates in reports and request numbers. */
        timeZone: Type.String({ minLength: 1 }),
      },
      { additionalProperties: false },
    ),
    auth: Type.Object(
      {
        passwordMaxAgeDays: Type.Integer({ minimum: 1, maximum: 3650 }),
        lockoutThreshold: Type.Integer({ minimum: 1, maximum: 100 }),
        lockoutMinutes: Type.Integer({ minimum: 1, maximum: 1440 }),
        sessionIdleMinutes: Type.Integer({ minimum: 1, maximum: 1440 }),
        sessionMaxHours: Type.Integer({ minimum: 1, maximum: 168 }),
        /**
         * scrypt cost (log2 N) of account password hashes; 17 = 128 MiB, about 0.3-0.6 s
         * on the appliance. Below 17 only for tests (an explicit choice); older hashes
         * are rehashed at the next good login.
         */
        scryptLogN: Type.Integer({ minimum: 10, maximum: 20 }),
      },
      { additionalProperties: false },
    ),
    jobs: Type.Object(
      {
        concurrency: Type.Integer({ minimum: 1, maximum: 8 }),
        /** Pipeline profile to force; empty: the best this box can run. */
        profile: Type.String(),
        scanHz: Type.Number({ minimum: 1, maximum: 60 }),
        /** Attempts before a job interrupted by restarts is failed for good. */
        maxAttempts: Type.Integer({ minimum: 1, maximum: 10 }),
      },
      { additionalProperties: false },
    ),
    retention: Type.Object(
      {
        defaultExpiryDays: Type.Integer({ minimum: 1, maximum: 365 }),
        /** Hours a delivered package stays on the box for a second download. */
        deliveredGraceHours: Type.Integer({ minimum: 0, maximum: 24 * 30 }),
        accessLogYears: Type.Number({ minimum: 2 }),
        roleChangeYears: Type.Number({ minimum: 3 }),
        sweepSeconds: Type.Integer({ minimum: 1, maximum: 3600 }),
      },
      { additionalProperties: false },
    ),
    alerts: Type.Object(
      {
        /** One account's exports (renders started) or downloads in a day above these raise an alert. */
        exportsPerDay: Type.Integer({ minimum: 1 }),
        downloadsPerDay: Type.Integer({ minimum: 1 }),
        /** One account's refused requests in one minute above this raise an unusual-volume alert. */
        deniedPerMinute: Type.Integer({ minimum: 1 }),
      },
      { additionalProperties: false },
    ),
    /** Telemetry to the central console (docs/mqtt.md). No url: telemetry is off. */
    mqtt: Type.Object(
      {
        /** mqtt://host:1883 or mqtts://host:8883; empty: telemetry off. No password in it: use passwordFile. */
        url: Type.String({ pattern: '^(mqtts?://\\S+)?$' }),
        username: Type.String(),
        /** A file holding the broker password (first line); the password itself never goes in the settings. */
        passwordFile: Type.String(),
        /** PEM files: the CA that signed the broker's certificate; a client certificate and its key. */
        caFile: Type.String(),
        certFile: Type.String(),
        keyFile: Type.String(),
        /** Topic prefix; empty: veilport/<applianceId>. */
        baseTopic: Type.String({ pattern: '^([^#+/\\u0000]+(/[^#+/\\u0000]+)*)?$' }),
        metricsSeconds: Type.Integer({ minimum: 1, maximum: 3600 }),
        /** Retained state and audit head are republished this often (and on every change). */
        stateSeconds: Type.Integer({ minimum: 5, maximum: 86400 }),
        /** Most messages kept while the broker is away; beyond it the oldest go and an alert counts them. */
        outboxMax: Type.Integer({ minimum: 10, maximum: 1_000_000 }),
        /** Home Assistant MQTT discovery for the main sensors. */
        homeAssistant: Type.Boolean(),
        discoveryPrefix: Type.String({ minLength: 1 }),
        /** A volume (recordings, exports, data) with less free space than this raises a disk-low alert. */
        diskLowPercent: Type.Number({ minimum: 0, maximum: 100 }),
      },
      { additionalProperties: false },
    ),
    /** Per camera: fixed privacy zones in source pixels, masked in every export. */
    cameras: Type.Record(Type.String(), Type.Object({ privacyZones: Type.Array(Box) }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);

export type Settings = Static<typeof SettingsSchema>;

export const DEFAULT_SETTINGS: Settings = {
  server: { listen: '127.0.0.1:8080', tlsCert: '', tlsKey: '', bodyLimitBytes: 256 * 1024, allowedIps: [], trustedProxies: [] },
  paths: { data: '/var/lib/veilport', recordings: '/srv/recordings', exports: '', layout: '', recordingsTimeZone: 'UTC' },
  site: { timeZone: 'Asia/Seoul' },
  auth: { passwordMaxAgeDays: 90, lockoutThreshold: 5, lockoutMinutes: 15, sessionIdleMinutes: 15, sessionMaxHours: 12, scryptLogN: 17 },
  jobs: { concurrency: 1, profile: '', scanHz: 6, maxAttempts: 3 },
  retention: { defaultExpiryDays: 14, deliveredGraceHours: 72, accessLogYears: 2, roleChangeYears: 3, sweepSeconds: 60 },
  alerts: { exportsPerDay: 20, downloadsPerDay: 20, deniedPerMinute: 30 },
  mqtt: { url: '', username: '', passwordFile: '', caFile: '', certFile: '', keyFile: '', baseTopic: '', metricsSeconds: 30, stateSeconds: 300, outboxMax: 10_000, homeAssistant: false, discoveryPrefix: 'homeassistant', diskLowPercent: 10 },
  cameras: {},
};

const envName = (section: string, key: string) => `VEILPORT_${section}_${key.replace(/[A-Z]/g, (c) => '_' + c)}`.toUpperCase();

/** Reads one environment value as the type its default has. */
function fromEnv(name: string, raw: string, like: unknown): unknown {
  if (typeof like === 'number') {
    if (!/^-?\d+(\.\d+)?$/.test(raw.trim())) throw new VeilportError('BAD_INPUT', `settings: ${name}="${raw}": expected a number`);
    return Number(raw);
  }
  if (typeof like === 'boolean') {
    if (!/^(true|false|1|0)$/.test(raw)) throw new VeilportError('BAD_INPUT', `settings: ${name}="${raw}": expected true or false`);
    return raw === 'true' || raw === '1';
  }
  if (Array.isArray(like)) return raw.split(',').map((s) => s.trim()).filter(Boolean);
  return raw;
}

function readFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new VeilportError('BAD_INPUT', `settings file ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new VeilportError('BAD_INPUT', `settings file ${file} is not valid JSON: ${(e as Error).message}`);
  }
}

function merge(base: Record<string, unknown>, over: unknown, where: string): Record<string, unknown> {
  if (typeof over !== 'object' || over === null || Array.isArray(over)) throw new VeilportError('BAD_INPUT', `settings: ${where || 'the file'} must be a JSON object`);
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = base[k];
    const isSection = typeof b === 'object' && b !== null && !Array.isArray(b) && where === '';
    out[k] = isSection && k !== 'cameras' ? merge(b as Record<string, unknown>, v, k) : v;
  }
  return out;
}

/** The first schema violation as "section.key: what was expected". */
function check(schema: TSchema, value: unknown, source: string): void {
  const errors = Value.Errors(schema, value);
  // Prefer the error that names an unknown key over the bare "schema is false" that precedes it.
  const first = errors.find((e) => e.keyword === 'additionalProperties') ?? errors.find((e) => e.keyword !== 'boolean') ?? errors[0];
  if (!first) return;
  const extra = first.keyword === 'additionalProperties' ? (first.params as { additionalProperties?: string[] }).additionalProperties ?? [] : [];
  const path = first.instancePath.replace(/^\//, '').replaceAll('/', '.');
  const key = extra.length ? [path, extra[0]].filter(Boolean).join('.') : path || '(top level)';
  const why = extra.length ? 'unknown setting' : first.message;
  throw new VeilportError('BAD_INPUT', `settings${source}: ${key}: ${why}`, { key });
}

export interface SettingsSources {
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Flags and other overrides, by section. */
  overrides?: { [S in keyof Settings]?: Partial<Settings[S]> };
}

export function loadSettings(src: SettingsSources = {}): Settings {
  let value: Record<string, unknown> = structuredClone(DEFAULT_SETTINGS) as unknown as Record<string, unknown>;
  if (src.file) {
    value = merge(value, readFile(src.file), '');
    check(SettingsSchema, value, ` file ${src.file}`);
  }
  const env = src.env ?? {};
  for (const [section, keys] of Object.entries(DEFAULT_SETTINGS)) {
    if (section === 'cameras') continue;
    for (const [key, like] of Object.entries(keys as Record<string, unknown>)) {
      const name = envName(section, key);
      const raw = env[name];
      if (raw !== undefined) (value[section] as Record<string, unknown>)[key] = fromEnv(name, raw, like);
    }
  }
  check(SettingsSchema, value, ' (environment)');
  if (src.overrides) value = merge(value, src.overrides, '');
  check(SettingsSchema, value, '');
  const s = value as unknown as Settings;
  for (const camera of Object.keys(s.cameras)) {
    if (!CAMERA_NAME.test(camera)) throw new VeilportError('BAD_INPUT', `settings: cameras.${camera}: a camera name is one folder name of letters, digits, ".", "_" or "-"`, { key: `cameras.${camera}` });
  }
  for (const [i, cidr] of s.server.trustedProxies.entries()) {
    if (!isCidr(cidr)) throw new VeilportError('BAD_INPUT', `settings: server.trustedProxies[${i}]: "${cidr}" is not an IP address or CIDR (e.g. 10.20.0.5 or 10.20.0.0/24)`, { key: 'server.trustedProxies' });
  }
  if (Boolean(s.server.tlsCert) !== Boolean(s.server.tlsKey)) throw new VeilportError('BAD_INPUT', 'settings: server.tlsCert and server.tlsKey go together: set both or neither');
  if (Boolean(s.mqtt.certFile) !== Boolean(s.mqtt.keyFile)) throw new VeilportError('BAD_INPUT', 'settings: mqtt.certFile and mqtt.keyFile go together: set both or neither', { key: 'mqtt.certFile' });
  if (s.mqtt.url && URL.canParse(s.mqtt.url) && new URL(s.mqtt.url).password) {
    throw new VeilportError('BAD_INPUT', 'settings: mqtt.url: no password in the URL; put it in a file named by mqtt.passwordFile', { key: 'mqtt.url' });
  }
  for (const [key, zone] of [['paths.recordingsTimeZone', s.paths.recordingsTimeZone], ['site.timeZone', s.site.timeZone]] as const) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: zone });
    } catch {
      throw new VeilportError('BAD_INPUT', `settings: ${key}: "${zone}" is not an IANA time zone (e.g. Asia/Seoul, UTC)`, { key });
    }
  }
  return s;
}

export const envVariableFor = envName;

/** An IPv4/IPv6 address with an optional prefix length in range. */
function isCidr(v: string): boolean {
  const [addr, bits, ...rest] = v.split('/');
  const kind = isIP(addr ?? '');
  if (!kind || rest.length) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (kind === 4 ? 32 : 128);
}
