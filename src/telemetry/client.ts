/**
 * The MQTT connection (mqtt.js): broker URL, username with the password read from a
 * file, CA and client certificate for mqtts, a last will on `<base>/availability`, and
 * reconnection every few seconds for as long as the daemon runs. Used by the daemon's
 * telemetry and by `veilport watch`.
 */
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { VeilportError } from '../util/errors.js';

export interface BrokerSettings {
  url: string;
  username?: string;
  passwordFile?: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

export interface ConnectOptions {
  clientId: string;
  will?: { topic: string; payload: string; qos: 0 | 1; retain: boolean };
  /** Reconnect attempts this often (default 2000 ms). */
  reconnectMs?: number;
  /** A persistent session (the broker keeps subscriptions and queued QoS 1 messages). */
  persistentSession?: boolean;
}

function readPem(what: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new VeilportError('BAD_INPUT', `mqtt: cannot read the ${what} ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** mqtt.js options from the settings; reads the password, CA and client certificate files. */
export function clientOptions(b: BrokerSettings, o: ConnectOptions): IClientOptions {
  let url: URL;
  try {
    url = new URL(b.url);
  } catch {
    throw new VeilportError('BAD_INPUT', `mqtt: "${b.url}" is not a URL (mqtt://host:1883 or mqtts://host:8883)`);
  }
  if (url.protocol !== 'mqtt:' && url.protocol !== 'mqtts:') throw new VeilportError('BAD_INPUT', `mqtt: ${url.protocol} is not supported; use mqtt:// or mqtts://`);
  const opts: IClientOptions = {
    clientId: o.clientId,
    protocolVersion: 4,
    clean: !o.persistentSession,
    keepalive: 30,
    connectTimeout: 10_000,
    reconnectPeriod: o.reconnectMs ?? 2000,
    // QoS 0 messages are for now or never: not queued while offline.
    queueQoSZero: false,
    resubscribe: true,
  };
  const username = b.username || decodeURIComponent(url.username);
  if (username) opts.username = username;
  if (b.passwordFile) {
    const text = readPem('password file', b.passwordFile).toString('utf8');
    opts.password = text.split(/\r?\n/)[0]!;
  }
  if (b.caFile) opts.ca = [readPem('CA file', b.caFile)];
  if (b.certFile) opts.cert = readPem('client certificate', b.certFile);
  if (b.keyFile) opts.key = readPem('client key', b.keyFile);
  if (url.protocol === 'mqtts:') opts.rejectUnauthorized = true;
  if (o.will) opts.will = { topic: o.will.topic, payload: Buffer.from(o.will.payload), qos: o.will.qos, retain: o.will.retain };
  return opts;
}

/** Connects (in the background: the client keeps trying until it is ended). */
export function connectBroker(b: BrokerSettings, o: ConnectOptions): MqttClient {
  const opts = clientOptions(b, o);
  const url = new URL(b.url);
  url.username = '';
  url.password = '';
  return mqtt.connect(url.toString(), opts);
}

/** Publishes and waits for the broker's acknowledgement (QoS 1) or the write (QoS 0), at most `timeoutMs`. */
export function publishAsync(client: MqttClient, topic: string, payload: string, opts: { qos: 0 | 1; retain: boolean }, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no acknowledgement for ${topic} within ${timeoutMs} ms`)), timeoutMs);
    client.publish(topic, payload, opts, (err) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    });
  });
}

/** The URL without credentials, for messages. */
export function safeUrl(u: string): string {
  try {
    const url = new URL(u);
    url.username = '';
    url.password = '';
    return url.toString().replace(/\/$/, '');
  } catch {
    return '(invalid URL)';
  }
}
