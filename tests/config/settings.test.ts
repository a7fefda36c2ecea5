/** Settings: defaults, file, environment and flags in order; every mistake named by its key. */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_SETTINGS, envVariableFor, loadSettings } from '../../src/config/settings.js';

const dir = t.testdir();
const file = (name: string, body: string) => {
  const p = join(dir, name);
  writeFileSync(p, body);
  return p;
};

t.test('layers: defaults < file < environment < flags', async (t) => {
  t.same(loadSettings(), DEFAULT_SETTINGS, 'embedded defaults');
  const f = file('a.json', JSON.stringify({ server: { listen: '0.0.0.0:9000' }, auth: { lockoutMinutes: 30 }, cameras: { lobby: { privacyZones: [{ x: 0, y: 0, w: 10, h: 10 }] } } }));
  const s = loadSettings({ file: f, env: { VEILPORT_AUTH_LOCKOUT_MINUTES: '45', VEILPORT_SERVER_ALLOWED_IPS: '10.0.0.0/8, 127.0.0.1' }, overrides: { server: { listen: '127.0.0.1:7000' } } });
  t.equal(s.server.listen, '127.0.0.1:7000', 'flag wins');
  t.equal(s.auth.lockoutMinutes, 45, 'environment wins over the file');
  t.same(s.server.allowedIps, ['10.0.0.0/8', '127.0.0.1'], 'lists from the environment are comma separated');
  t.equal(s.auth.lockoutThreshold, 5, 'untouched keys keep their defaults');
  t.equal(s.cameras.lobby?.privacyZones.length, 1);
  t.equal(envVariableFor('auth', 'sessionIdleMinutes'), 'VEILPORT_AUTH_SESSION_IDLE_MINUTES');
});

t.test('each mistake is named', async (t) => {
  const cases: [string, Parameters<typeof loadSettings>[0], RegExp][] = [
    ['unknown key in a file', { file: file('b.json', '{"auth":{"lockoutMinuets":3}}') }, /auth\.lockoutMinuets: unknown setting/],
    ['unknown section', { file: file('c.json', '{"mqtt-typo":{}}') }, /mqtt-typo: unknown setting/],
    ['wrong type', { file: file('d.json', '{"jobs":{"concurrency":"two"}}') }, /jobs\.concurrency/],
    ['out of range', { overrides: { auth: { lockoutThreshold: 0 } } }, /auth\.lockoutThreshold: must be >= 1/],
    ['not JSON', { file: file('e.json', '{server:') }, /not valid JSON/],
    ['missing file', { file: join(dir, 'nope.json') }, /cannot be read \(ENOENT\)/],
    ['bad environment number', { env: { VEILPORT_JOBS_CONCURRENCY: 'many' } }, /VEILPORT_JOBS_CONCURRENCY="many": expected a number/],
    ['bad time zone', { overrides: { site: { timeZone: 'Mars/Olympus' } } }, /site\.timeZone: "Mars\/Olympus" is not an IANA time zone/],
    ['half a TLS pair', { overrides: { server: { tlsCert: '/etc/cert.pem' } } }, /tlsCert and server\.tlsKey go together/],
    ['bad listen', { overrides: { server: { listen: 'everywhere' } } }, /server\.listen/],
    ['bad camera name', { file: file('f.json', '{"cameras":{"../x":{"privacyZones":[]}}}') }, /cameras/],
  ];
  for (const [what, src, message] of cases) t.throws(() => loadSettings(src), { code: 'BAD_INPUT', message }, what);
});

t.test('security defaults: no trusted proxy, account scrypt 2^17, refusals alert above 30 a minute', async (t) => {
  const s = loadSettings({});
  t.same(s.server.trustedProxies, [], 'X-Forwarded-* believed from nobody unless configured');
  t.ok(s.auth.scryptLogN >= 17, `account scrypt N = 2^${s.auth.scryptLogN}`);
  t.equal(s.alerts.deniedPerMinute, 30);
  t.same(loadSettings({ env: { VEILPORT_SERVER_TRUSTED_PROXIES: '10.20.0.5, fd00::/8' } }).server.trustedProxies, ['10.20.0.5', 'fd00::/8'], 'settable from the environment');
  for (const bad of ['10.20.0.300', '10.0.0.0/33', 'proxy.example', 'fd00::/129']) {
    t.throws(() => loadSettings({ overrides: { server: { trustedProxies: [bad] } } }), { code: 'BAD_INPUT', message: new RegExp(`server\\.trustedProxies\\[0\\]: "${bad.replace(/[./]/g, '\\$&')}" is not an IP address or CIDR`) }, `${bad} refused`);
  }
});
