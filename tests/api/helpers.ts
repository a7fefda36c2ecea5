/**
 * A running daemon for API tests: real settings, real store, real footage, a real port.
 * `client(token)` speaks HTTP with fetch; `login` returns a token.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadSettings, type Settings } from '../../src/config/settings.js';
import { startDaemon, type Daemon } from '../../src/daemon/daemon.js';
import { composeClip, scene } from '../../src/samples/compose.js';
import { faceSprite } from '../../src/samples/faces.js';

export const PASSWORDS = {
  admin: 'Harbour-Lamp-73',
  clerk: 'Quiet#River58',
  approver: 'Granite-Owl-61',
  auditor: 'Maple!Stone29',
  viewer: 'Copper-Fern-47',
} as const;

/** One camera, "lobby", one 6 s segment at 2026-03-01 00:00:00 UTC: a subject walking low, another person high. */
export async function makeLobby(root: string, seconds = 6): Promise<void> {
  const day = join(root, 'lobby', '2026-03-01');
  mkdirSync(day, { recursive: true });
  const W = 640, H = 360;
  await composeClip({
    out: join(day, '00-00-00.mp4'), width: W, height: H, fps: 10, seconds, background: scene(W, H, 3),
    objects: [
      { sprite: await faceSprite(6, 64), from: { x: 40, y: 220 }, to: { x: 220, y: 240 }, label: 'subject' },
      { sprite: await faceSprite(2, 48), from: { x: 420, y: 40 }, to: { x: 520, y: 90 }, label: 'other' },
    ],
  });
}

export function testSettings(dir: string, recordings: string, extra: Parameters<typeof loadSettings>[0]['overrides'] = {}): Settings {
  return loadSettings({
    overrides: {
      ...extra,
      server: { listen: '127.0.0.1:0', ...(extra.server ?? {}) },
      paths: { data: join(dir, 'data'), recordings, ...(extra.paths ?? {}) },
      // A cheaper scrypt keeps logins quick in tests; the default (2^15) is measured in the auth tests.
      auth: { scryptLogN: 12, ...(extra.auth ?? {}) },
      retention: { sweepSeconds: 3600, ...(extra.retention ?? {}) },
    },
  });
}

export interface Running {
  daemon: Daemon;
  token: string;
  lines: string[];
}

export async function start(settings: Settings, now?: () => Date): Promise<Running> {
  const lines: string[] = [];
  const daemon = await startDaemon(settings, { say: (l) => lines.push(l), logLevel: 'silent', ...(now ? { now } : {}) });
  const token = /bootstrap token: (\S+)/.exec(lines.join('\n'))?.[1] ?? '';
  return { daemon, token, lines };
}

export interface Reply {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Headers;
  bytes: Uint8Array;
}

export function client(base: string, token?: string) {
  return async (method: string, path: string, body?: unknown): Promise<Reply> => {
    const res = await fetch(base + path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const bytes = new Uint8Array(await res.arrayBuffer());
    const type = res.headers.get('content-type') ?? '';
    const text = new TextDecoder().decode(bytes);
    return { status: res.status, headers: res.headers, bytes, body: type.includes('json') && text ? JSON.parse(text) : text };
  };
}

export async function login(base: string, id: string, password: string): Promise<string> {
  const r = await client(base)('POST', '/api/session', { id, password });
  if (r.status !== 200) throw new Error(`login ${id}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.token as string;
}

/** Creates the first admin and one account per other role; returns a token per role. */
export async function staff(base: string, bootstrapToken: string): Promise<Record<keyof typeof PASSWORDS, string>> {
  const anon = client(base);
  const b = await anon('POST', '/api/bootstrap', { token: bootstrapToken, id: 'admin1', displayName: '관리자', password: PASSWORDS.admin });
  if (b.status !== 201) throw new Error(`bootstrap: ${b.status} ${JSON.stringify(b.body)}`);
  const admin = await login(base, 'admin1', PASSWORDS.admin);
  const asAdmin = client(base, admin);
  const tokens = { admin } as Record<keyof typeof PASSWORDS, string>;
  for (const role of ['clerk', 'approver', 'auditor', 'viewer'] as const) {
    // The admin sets a temporary password; the person must replace it at first login.
    const temporary = `Temp-${role}-Word-83`;
    const r = await asAdmin('POST', '/api/accounts', { id: `${role}1`, displayName: role, role, password: temporary });
    if (r.status !== 201) throw new Error(`create ${role}: ${r.status} ${JSON.stringify(r.body)}`);
    const first = await login(base, `${role}1`, temporary);
    const changed = await client(base, first)('POST', '/api/session/password', { current: temporary, next: PASSWORDS[role] });
    if (changed.status !== 200) throw new Error(`password change ${role}: ${changed.status} ${JSON.stringify(changed.body)}`);
    tokens[role] = await login(base, `${role}1`, PASSWORDS[role]);
  }
  return tokens;
}

/** Polls a request until it reaches one of `states` (or fails the wait). */
export async function waitState(get: ReturnType<typeof client>, id: string, states: string[], timeoutMs = 180_000): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await get('GET', `/api/requests/${id}`);
    if (states.includes(r.body.state)) return r.body;
    if (r.body.state === 'failed' && !states.includes('failed')) throw new Error(`request ${id} failed: ${r.body.failure}`);
    if (Date.now() > until) throw new Error(`request ${id} stuck in ${r.body.state}`);
    await new Promise((res) => setTimeout(res, 250));
  }
}
