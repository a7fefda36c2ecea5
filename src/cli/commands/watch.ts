/**
 * `veilport watch`: what a central console shows. Subscribes to a broker and prints a
 * live table of the fleet: each appliance, online/offline/stopped, free space, queue,
 * last export and last alert. Redraws in place on a terminal; otherwise prints the
 * table when it changes (at most once a second), or once after `--seconds N`.
 */
import { parseArgs } from 'node:util';
import type { MqttClient } from 'mqtt';
import { loadSettings } from '../../config/settings.js';
import { connectBroker, safeUrl, type BrokerSettings } from '../../telemetry/client.js';
import { VeilportError } from '../../util/errors.js';
import type { AlertPayload, MetricsPayload, StatePayload } from '../../telemetry/topics.js';

const HELP = `usage: veilport watch [--mqtt-url URL] [--base veilport/+] [--username NAME] [--password-file FILE]
                      [--ca-file FILE] [--cert-file FILE --key-file FILE] [--seconds N] [--json] [--config FILE]

Subscribes to the broker and shows every appliance under --base (an MQTT topic filter
without the last level; default veilport/+): online, disk free, queue, last export, last
alert. Broker settings default to the settings file / VEILPORT_MQTT_* (the mqtt section).
--seconds N   listen N seconds, print the table once and exit (scripts, cron)
--json        with --seconds: the rows as JSON`;

export interface FleetRow {
  appliance: string;
  topic: string;
  availability: string;
  recordingsFreeBytes: number | null;
  exportsFreeBytes: number | null;
  queued: number | null;
  running: number | null;
  lastExportAt: string | null;
  lastAlert: { kind: string; message: string; at: string } | null;
  seenAt: string;
}

const SUFFIXES = ['availability', 'state', 'metrics', 'alerts'] as const;

export class Fleet {
  readonly rows = new Map<string, FleetRow>();
  changed = false;

  /** Takes one message; false when it is not one of ours. */
  take(topic: string, text: string): boolean {
    const suffix = SUFFIXES.find((s) => topic.endsWith('/' + s));
    if (!suffix) return false;
    const base = topic.slice(0, -(suffix.length + 1));
    const row = this.rows.get(base) ?? { appliance: base.split('/').at(-1) ?? base, topic: base, availability: '?', recordingsFreeBytes: null, exportsFreeBytes: null, queued: null, running: null, lastExportAt: null, lastAlert: null, seenAt: '' };
    try {
      if (suffix === 'availability') row.availability = text.trim().slice(0, 16);
      else {
        const j = JSON.parse(text) as unknown;
        if (suffix === 'state') {
          const s = j as StatePayload;
          if (typeof s.applianceId === 'string') row.appliance = s.applianceId;
          row.queued = s.queue?.queued ?? null;
          row.running = s.queue?.running ?? null;
          row.lastExportAt = s.lastExportAt ?? null;
        } else if (suffix === 'metrics') {
          const m = j as MetricsPayload;
          row.recordingsFreeBytes = m.disks?.recordings?.freeBytes ?? null;
          row.exportsFreeBytes = m.disks?.exports?.freeBytes ?? null;
        } else {
          const a = j as AlertPayload;
          row.lastAlert = { kind: String(a.kind), message: String(a.message), at: String(a.at) };
        }
      }
    } catch {
      return false; // not JSON: someone else's topic that happens to end the same way
    }
    row.seenAt = new Date().toISOString();
    this.rows.set(base, row);
    this.changed = true;
    return true;
  }

  table(now = new Date()): string {
    const head = ['APPLIANCE', 'STATUS', 'REC FREE', 'EXP FREE', 'QUEUE', 'LAST EXPORT', 'LAST ALERT'];
    const body = [...this.rows.values()]
      .sort((a, b) => a.appliance.localeCompare(b.appliance))
      .map((r) => [
        r.appliance,
        r.availability,
        bytes(r.recordingsFreeBytes),
        bytes(r.exportsFreeBytes),
        r.queued === null ? '-' : `${r.queued + (r.running ?? 0)}${r.running ? ` (${r.running} running)` : ''}`,
        r.lastExportAt ? ago(r.lastExportAt, now) : '-',
        r.lastAlert ? `${ago(r.lastAlert.at, now)} ${r.lastAlert.kind}: ${r.lastAlert.message}`.slice(0, 60) : '-',
      ]);
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
    const online = [...this.rows.values()].filter((r) => r.availability === 'online').length;
    return [line(head), ...body.map(line), `${this.rows.size} appliance(s), ${online} online`].join('\n') + '\n';
  }
}

function bytes(n: number | null): string {
  if (n === null) return '-';
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v >= 100 || u === 0 ? Math.round(v) : v.toFixed(1)} ${units[u]}`;
}

function ago(iso: string, now: Date): string {
  const s = Math.round((now.getTime() - Date.parse(iso)) / 1000);
  if (!Number.isFinite(s)) return '?';
  if (s < 90) return `${Math.max(0, s)}s ago`;
  if (s < 5400) return `${Math.round(s / 60)}m ago`;
  if (s < 129_600) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

export async function watchCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'mqtt-url': { type: 'string' },
      base: { type: 'string' },
      username: { type: 'string' },
      'password-file': { type: 'string' },
      'ca-file': { type: 'string' },
      'cert-file': { type: 'string' },
      'key-file': { type: 'string' },
      seconds: { type: 'string' },
      json: { type: 'boolean' },
      config: { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const m = loadSettings({ ...(values.config ? { file: values.config } : {}), env: process.env }).mqtt;
  const broker: BrokerSettings = {
    url: values['mqtt-url'] ?? m.url,
    username: values.username ?? m.username,
    passwordFile: values['password-file'] ?? m.passwordFile,
    caFile: values['ca-file'] ?? m.caFile,
    certFile: values['cert-file'] ?? m.certFile,
    keyFile: values['key-file'] ?? m.keyFile,
  };
  if (!broker.url) throw new VeilportError('BAD_INPUT', 'watch: which broker? give --mqtt-url URL (or mqtt.url in the settings, VEILPORT_MQTT_URL)');
  const base = (values.base ?? 'veilport/+').replace(/\/+$/, '');
  if (!base || base.includes('#')) throw new VeilportError('BAD_INPUT', `watch: --base "${base}" must be a topic filter without "#" (e.g. veilport/+)`);
  const seconds = values.seconds === undefined ? null : Number(values.seconds);
  if (seconds !== null && !(seconds > 0 && seconds <= 86_400)) throw new VeilportError('BAD_INPUT', `watch: --seconds "${values.seconds}" must be a number of seconds (0 < N <= 86400)`);
  if (values.json && seconds === null) throw new VeilportError('BAD_INPUT', 'watch: --json needs --seconds N');

  const fleet = new Fleet();
  const client: MqttClient = connectBroker(broker, { clientId: `veilport-watch-${process.pid}-${Math.random().toString(16).slice(2, 8)}` });
  const err = (line: string) => process.stderr.write(`veilport: watch: ${line}\n`);
  let lastError = '';
  client.on('error', (e) => {
    if (e.message !== lastError) err(`${safeUrl(broker.url)}: ${e.message}`);
    lastError = e.message;
  });
  client.on('connect', () => {
    lastError = '';
    client.subscribe(SUFFIXES.map((s) => `${base}/${s}`), { qos: 1 }, (e) => {
      if (e) err(`subscribe: ${e.message}`);
    });
  });
  client.on('message', (topic, payload) => {
    fleet.take(topic, payload.toString('utf8'));
  });

  const tty = process.stdout.isTTY && seconds === null;
  const draw = () => {
    if (!fleet.changed && !tty) return;
    fleet.changed = false;
    process.stdout.write((tty ? '\x1b[H\x1b[2J' : '') + fleet.table());
  };
  await new Promise<void>((done) => {
    const tick = seconds === null ? setInterval(draw, 1000) : null;
    const finish = () => {
      if (tick) clearInterval(tick);
      done();
    };
    if (seconds !== null) setTimeout(finish, seconds * 1000);
    process.once('SIGINT', finish);
    process.once('SIGTERM', finish);
  });
  await client.endAsync(true).catch(() => {});
  if (seconds !== null) {
    if (values.json) process.stdout.write(JSON.stringify({ appliances: [...fleet.rows.values()] }, null, 2) + '\n');
    else process.stdout.write(fleet.table());
  }
  return fleet.rows.size > 0 || seconds === null ? 0 : 1;
}
