/**
 * The web edge, played as an attacker with app.inject (the real app, no port): bodies
 * that are not JSON, requests from other origins, a client claiming another address
 * through X-Forwarded-For, HSTS, /docs from a refused address; and the records of
 * attempts: failed logins whatever the id looked like, refusals aggregated with a
 * count, a half-bad account change that changes and records nothing.
 */
import t from 'tap';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { buildApp } from '../../src/api/app.js';
import { openCore } from '../../src/daemon/daemon.js';
import { testSettings } from './helpers.js';
import { boxDir } from '../helpers/box-dir.js';

type Core = Awaited<ReturnType<typeof openCore>>;
type App = Awaited<ReturnType<typeof buildApp>>;

async function box(t: Tap.Test, extra: Parameters<typeof testSettings>[2] = {}): Promise<{ core: Core; app: App; token: (id: string) => Promise<string> }> {
  const dir = boxDir('web');
  mkdirSync(join(dir, 'rec', 'lobby', '2026-03-01'), { recursive: true });
  const core = await openCore(testSettings(dir, join(dir, 'rec'), extra));
  const app = await buildApp(core);
  t.teardown(async () => {
    await app.close();
    await core.store.close();
  });
  for (const [id, role] of [['admin1', 'admin'], ['admin2', 'admin'], ['clerk1', 'clerk'], ['viewer1', 'viewer']] as const) {
    await core.accounts.create('console', { id, displayName: id, role, password: `Web-${role}-Pass-62`, mustChangePassword: false });
  }
  const token = async (id: string) => (await core.accounts.login(id, `Web-${core.accounts.get(id)!.role}-Pass-62`, '127.0.0.1')).token;
  return { core, app, token };
}

const REQUEST = {
  requester: { name: '김철수', type: 'police', organisation: '서울경찰청' },
  purpose: '수사', legalBasis: '형사소송법 제215조', cameras: ['lobby'],
  range: { from: '2026-03-01T09:00:00+09:00', to: '2026-03-01T09:10:00+09:00' },
};

t.test('state-changing requests take JSON only, from this origin only', async (t) => {
  const { app, token } = await box(t);
  const clerk = await token('clerk1');
  const auth = { authorization: `Bearer ${clerk}` };
  const reg = await app.inject({ method: 'POST', url: '/api/requests', headers: auth, payload: REQUEST });
  t.equal(reg.statusCode, 201, reg.body);
  const id = reg.json().id as string;
  const own = 'http://localhost:80';
  const cases: [string, Record<string, string>, string | undefined, number, RegExp][] = [
    ['text/plain body', { 'content-type': 'text/plain' }, '{}', 415, /content-type "text\/plain" is not accepted/],
    ['text/plain, no body', { 'content-type': 'text/plain' }, undefined, 415, /content-type "text\/plain" is not accepted/],
    ['urlencoded form', { 'content-type': 'application/x-www-form-urlencoded' }, 'a=b', 415, /x-www-form-urlencoded/],
    ['multipart form', { 'content-type': 'multipart/form-data; boundary=x' }, '--x--', 415, /multipart\/form-data/],
    ['a body without a type', {}, '{}', 415, /needs content-type application\/json/],
    ['another origin', { origin: 'http://127.0.0.1:9999' }, undefined, 403, /cross-origin request refused: Origin http:\/\/127\.0\.0\.1:9999 is not this appliance \(http:\/\/localhost:80\)/],
    ['an opaque origin', { origin: 'null' }, undefined, 403, /Origin null is not this appliance/],
    ['same site, other origin', { 'sec-fetch-site': 'same-site' }, undefined, 403, /cross-site request refused.*same-site/],
    ['another site', { 'sec-fetch-site': 'cross-site' }, undefined, 403, /cross-site request refused.*cross-site/],
    ['another origin with a JSON body', { origin: 'http://evil.example', 'content-type': 'application/json' }, '{}', 403, /cross-origin/],
  ];
  for (const [what, headers, payload, status, message] of cases) {
    const r = await app.inject({ method: 'POST', url: `/api/requests/${id}/receive`, headers: { ...auth, ...headers }, ...(payload !== undefined ? { payload } : {}) });
    t.equal(r.statusCode, status, `${what}: ${status}`);
    t.match(r.json().error.message, message, `${what}: ${r.json().error.message}`);
  }
  t.equal((await app.inject({ method: 'POST', url: '/api/session', headers: { 'content-type': 'text/plain' }, payload: '{"id":"clerk1","password":"x"}' })).statusCode, 415, 'login takes JSON only too');
  t.equal((await app.inject({ method: 'POST', url: '/api/session', headers: { origin: 'http://evil.example' }, payload: { id: 'clerk1', password: 'x' } })).statusCode, 403, 'and only from this origin');
  const get = await app.inject({ method: 'GET', url: `/api/requests/${id}`, headers: auth });
  t.equal(get.json().state, 'registered', 'none of them moved the request');

  // What stays allowed: curl and scripts (no Origin, no Sec-Fetch-Site), the box's own pages, a typed URL.
  for (const [what, headers] of [['no Origin, no Sec-Fetch-Site (curl)', {}], ['same origin', { origin: own, 'sec-fetch-site': 'same-origin' }]] as const) {
    const r = await app.inject({ method: 'POST', url: '/api/requests', headers: { ...auth, ...headers }, payload: REQUEST });
    t.equal(r.statusCode, 201, `${what}: allowed`);
  }
  const typed = await app.inject({ method: 'GET', url: `/api/requests/${id}`, headers: { cookie: `veilport_session=${clerk}`, 'sec-fetch-site': 'none' } });
  t.equal(typed.statusCode, 200, 'a URL typed into the browser (Sec-Fetch-Site: none) with the cookie');
  const img = await app.inject({ method: 'GET', url: `/api/requests/${id}`, headers: { cookie: `veilport_session=${clerk}`, 'sec-fetch-site': 'same-site' } });
  t.equal(img.statusCode, 403, 'a GET with the cookie from another origin of the site (an image, a link) is refused');
  const bearerGet = await app.inject({ method: 'GET', url: `/api/requests/${id}`, headers: { ...auth, 'sec-fetch-site': 'cross-site' } });
  t.equal(bearerGet.statusCode, 200, 'a GET with a Bearer token is not a cookie riding along (a page cannot set that header without a preflight we never grant)');
  const ui = await app.inject({ method: 'GET', url: '/', headers: { cookie: `veilport_session=${clerk}`, 'sec-fetch-site': 'cross-site' } });
  t.not(ui.statusCode, 403, 'a link to the UI page from elsewhere still opens it (no data in it)');
  t.equal(get.headers['strict-transport-security'], undefined, 'no HSTS over plain HTTP');
});

t.test('/docs obeys the IP allow-list with the normal 403', async (t) => {
  const { app } = await box(t, { server: { allowedIps: ['10.0.0.0/8'] } });
  for (const url of ['/docs', '/docs/json', '/docs/static/index.html', '/api/health']) {
    const r = await app.inject({ method: 'GET', url, remoteAddress: '192.168.1.9' });
    t.equal(r.statusCode, 403, `${url} from 192.168.1.9: 403`);
    t.same(r.json(), { error: { code: 'FORBIDDEN', message: 'this appliance does not accept connections from 192.168.1.9' } }, `${url}: the one error shape`);
  }
  t.equal((await app.inject({ method: 'GET', url: '/docs/json', remoteAddress: '10.1.2.3' })).statusCode, 200, 'from an allowed address it is served');
});

t.test('trustedProxies: off by default; when set, the client address the proxy saw is used by allow-lists and records', async (t) => {
  await t.test('default: X-Forwarded-For is ignored', async (t) => {
    const { core, app } = await box(t, { server: { allowedIps: ['127.0.0.1', '10.9.8.0/24'] } });
    const spoof = await app.inject({ method: 'GET', url: '/api/health', remoteAddress: '192.168.1.9', headers: { 'x-forwarded-for': '10.9.8.7' } });
    t.equal(spoof.statusCode, 403, 'a client cannot claim an allowed address');
    await app.inject({ method: 'POST', url: '/api/session', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': '10.9.8.7' }, payload: { id: 'clerk1', password: 'Wrong-Pass-000' } });
    t.equal(core.log.list({ action: 'login-failed', limit: 1 })[0]?.ip, '127.0.0.1', 'the record names the peer, not the claim');
  });
  await t.test('trustedProxies ["127.0.0.1"]', async (t) => {
    const { core, app } = await box(t, { server: { allowedIps: ['10.9.8.0/24'], trustedProxies: ['127.0.0.1'] } });
    const via = (xff?: string, from = '127.0.0.1') => app.inject({ method: 'GET', url: '/api/health', remoteAddress: from, headers: xff ? { 'x-forwarded-for': xff } : {} });
    t.equal((await via('10.9.8.7')).statusCode, 200, 'the proxy forwards a client from an allowed network: allowed');
    t.equal((await via('192.168.1.9')).statusCode, 403, 'a client from elsewhere through the proxy: refused');
    t.equal((await via()).statusCode, 403, 'the proxy itself is not in the allow-list');
    t.equal((await via('10.9.8.7', '192.168.5.5')).statusCode, 403, 'the same header from a host that is not a trusted proxy is ignored');
    await app.inject({ method: 'POST', url: '/api/session', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': '10.9.8.7' }, payload: { id: 'clerk1', password: 'Wrong-Pass-000' } });
    const e = core.log.list({ action: 'login-failed', limit: 1 })[0];
    t.equal(e?.ip, '10.9.8.7', `the access log records the real client (${e?.ip})`);
    const own = await app.inject({ method: 'POST', url: '/api/session', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': '10.9.8.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'veilport.example', origin: 'https://veilport.example' }, payload: { id: 'clerk1', password: 'Web-clerk-Pass-62' } });
    t.equal(own.statusCode, 200, 'behind the proxy, this appliance\'s origin is the one the proxy was asked for');
  });
  t.throws(() => testSettings(t.testdir(), '/tmp', { server: { trustedProxies: ['10.0.0.0/33'] } }), { code: 'BAD_INPUT', message: /server\.trustedProxies\[0\]: "10\.0\.0\.0\/33" is not an IP address or CIDR/ });
});

t.test('failed logins are always recorded: the id as login normalised it, the raw one escaped', async (t) => {
  const { core, app } = await box(t);
  const cases: [string, string | null, RegExp][] = [
    [' Clerk1 ', 'clerk1', /^UNAUTHENTICATED; typed " Clerk1 "$/],
    ['clerk1\t', 'clerk1', /^UNAUTHENTICATED; typed "clerk1\\t"$/],
    ['clerk1', 'clerk1', /^UNAUTHENTICATED$/],
    ['ghost', 'ghost', /^UNAUTHENTICATED$/],
    ['clerk1\u0085', null, /^UNAUTHENTICATED; typed "clerk1\\u0085"$/],
    ['   ', null, /^UNAUTHENTICATED; typed "   "$/],
    ['kim\u2028admin', null, /typed "kim\\u2028admin"/],
  ];
  // Names in assertion messages escaped: a raw U+2028 would break the TAP line.
  const show = (v: string) => JSON.stringify(v).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  for (const [id, account, detail] of cases) {
    const before = core.log.head().length;
    const r = await app.inject({ method: 'POST', url: '/api/session', payload: { id, password: 'Wrong-Pass-000' } });
    t.equal(r.statusCode, 401, `${show(id)}: 401 like any wrong password (${r.json().error.message})`);
    const e = core.log.list({ limit: 1 })[0]!;
    t.equal(core.log.head().length, before + 1, `${show(id)}: one entry`);
    t.same([e.action, e.account, e.result], ['login-failed', account, 'denied'], `${show(id)}: recorded against ${account}`);
    t.match(e.detail, detail, `detail: ${e.detail}`);
  }
  t.equal(core.accounts.get('clerk1')!.lockedUntil, null, 'not locked yet');
  for (let i = 0; i < 5; i++) await app.inject({ method: 'POST', url: '/api/session', payload: { id: ' CLERK1', password: 'Wrong-Pass-000' } });
  t.not(core.accounts.get('clerk1')!.lockedUntil, null, 'the whitespace guesses count towards the lockout of clerk1');
  const locked = core.log.list({ action: 'login-failed', limit: 1 })[0]!;
  t.same([locked.account, locked.detail], ['clerk1', 'LOCKED; typed " CLERK1"'], 'and a lockout is recorded too');
});

t.test('refusals are aggregated per account, route and minute, and raise the unusual-volume alert', async (t) => {
  const { core, app, token } = await box(t, { alerts: { deniedPerMinute: 50 } });
  const viewer = await token('viewer1');
  const head = core.log.head().length;
  const N = 130;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const r = await app.inject({ method: 'GET', url: i % 2 ? '/api/ledger' : '/api/access-log', headers: { authorization: `Bearer ${viewer}` } });
    if (r.statusCode !== 403) t.fail(`request ${i}: ${r.statusCode}`);
  }
  const ms = performance.now() - t0;
  t.equal(core.log.head().length, head, 'nothing is written per refusal');
  const alerts = core.bus.recentAlerts.filter((a) => a.kind === 'unusual-volume' && a.account === 'viewer1');
  t.equal(alerts.length, 1, `one unusual-volume alert: ${alerts[0]?.message}`);
  app.denials.flush(true);
  const entries = core.log.list({ account: 'viewer1', limit: 100 });
  const counts = new Map<string, number>();
  for (const e of entries) counts.set(e.target, (counts.get(e.target) ?? 0) + Number(/^refused (\d+) time/.exec(e.detail ?? '')?.[1]));
  t.ok(entries.length >= 2 && entries.length <= 4, `${entries.length} entries for ${N} refusals (one per route and minute)`);
  t.same(Object.fromEntries(counts), { 'GET /api/ledger': N / 2, 'GET /api/access-log': N / 2 }, 'the counts add up');
  t.match(entries[0]!.detail, /^refused \d+ time\(s\) in the minute \d{4}-\d\d-\d\dT\d\d:\d\dZ: the viewer role may not use GET \/api\/(ledger|access-log)$/);
  t.comment(`${N} refusals in ${ms.toFixed(0)} ms -> ${entries.length} access-log entries; ${entries.map((e) => `${e.target}: ${e.detail}`).join(' | ')}`);
});

t.test('an account change is one transaction with one record: a good role with a bad allowedIps changes nothing', async (t) => {
  const { core, app, token } = await box(t);
  const admin = { authorization: `Bearer ${await token('admin1')}` };
  const head = core.log.head().length;
  const roleChanges = core.accounts.roleChanges().length;
  const bad = await app.inject({ method: 'PATCH', url: '/api/accounts/clerk1', headers: admin, payload: { role: 'approver', allowedIps: ['10.0.0.0/99'] } });
  t.equal(bad.statusCode, 400, `refused: ${bad.json().error.message}`);
  t.match(bad.json().error.message, /allowedIps/);
  t.equal(core.accounts.get('clerk1')!.role, 'clerk', 'the role did not change');
  t.equal(core.accounts.roleChanges().length, roleChanges, 'no role change in the history');
  t.equal(core.log.head().length, head, 'and no access-log entry');
  const good = await app.inject({ method: 'PATCH', url: '/api/accounts/clerk1', headers: admin, payload: { role: 'auditor', allowedIps: ['127.0.0.1'] } });
  t.equal(good.statusCode, 200, good.body);
  const added = core.log.list({ limit: 10 }).filter((e) => e.seq > head);
  t.equal(added.length, 1, 'a good change: one record');
  t.same([added[0]!.action, added[0]!.target, added[0]!.detail], ['modify', 'account:clerk1', 'role auditor, allowedIps 127.0.0.1']);
  const self = await app.inject({ method: 'PATCH', url: '/api/accounts/admin1', headers: admin, payload: { role: 'approver' } });
  t.equal(self.statusCode, 403, `an admin cannot make themselves approver: ${self.json().error.message}`);
  t.equal(core.accounts.get('admin1')!.role, 'admin');
});
