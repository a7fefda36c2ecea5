/**
 * AccountService on a real LMDB store with a clock the test controls: lockout, expiry,
 * sessions, IP allow-lists, bootstrap, last-admin protection, role history, personal
 * data at rest.
 */
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { readFileSync, readdirSync } from 'node:fs';
import { openStore, type Store } from '../../src/store/store.js';
import { loadOrCreateDataKey, type DataKey } from '../../src/store/data-key.js';
import { AccountService, type NewAccount } from '../../src/auth/accounts.js';
import { DEFAULT_AUTH_SETTINGS, type AuthSettings } from '../../src/auth/settings.js';
import { assertPasswordCurrent } from '../../src/auth/guard.js';
import { hashPassword } from '../../src/auth/passwords.js';
import { VeilportError } from '../../src/util/errors.js';
import { boxDir } from '../helpers/box-dir.js';

/** The VeilportError `p` rejects with; fails the test if it resolves. */
async function failure(p: Promise<unknown>): Promise<VeilportError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof VeilportError) return e;
    throw e;
  }
  throw new Error('expected a rejection, got success');
}

const FAST = { N: 2 ** 10, r: 8, p: 1 };
const START = '2026-03-02T00:00:00.000Z';
const MIN = 60_000;
const PW = 'Gk7#pQ2x-Lm';
const PW2 = 'Rv5%tY8n-Wq';
const IP = '10.0.0.5';

interface Env {
  dir: string;
  store: Store;
  key: DataKey;
  svc: AccountService;
  advance(ms: number): void;
  now(): Date;
  reopen(settings?: Partial<AuthSettings>): Promise<AccountService>;
}

async function setup(t: Test, settings: Partial<AuthSettings> = {}): Promise<Env> {
  const dir = boxDir('accounts');
  let time = Date.parse(START);
  const now = () => new Date(time);
  let store = openStore(dir);
  const key = await loadOrCreateDataKey(join(dir, 'keys'));
  const env: Env = {
    dir,
    store,
    key,
    svc: new AccountService(store, key, { ...DEFAULT_AUTH_SETTINGS, scrypt: FAST, ...settings }, now),
    advance: (ms) => (time += ms),
    now,
    async reopen(s = settings) {
      await store.close();
      store = openStore(dir);
      env.store = store;
      env.svc = new AccountService(store, key, { ...DEFAULT_AUTH_SETTINGS, scrypt: FAST, ...s }, now);
      return env.svc;
    },
  };
  t.teardown(() => env.store.close());
  return env;
}

/** An admin `boss` (via bootstrap) and a clerk `kim` who has already chosen their own password. */
async function withPeople(env: Env, kim: Partial<NewAccount> = {}): Promise<void> {
  const token = env.svc.issueBootstrapToken()!;
  await env.svc.bootstrap(token, { id: 'boss', displayName: 'Boss', password: 'Adm1n#Strong' });
  await env.svc.create('boss', { id: 'kim', displayName: 'Kim Clerk', role: 'clerk', password: PW, mustChangePassword: false, ...kim });
}

t.test('create, get, list: views carry neither hash nor personal data', async (t) => {
  const env = await setup(t);
  await withPeople(env, { phone: '010-2468-9753', birthDate: '1987-06-23', allowedIps: ['10.0.0.0/8'] });
  const v = env.svc.get('kim')!;
  t.same(v, {
    id: 'kim',
    displayName: 'Kim Clerk',
    role: 'clerk',
    allowedIps: ['10.0.0.0/8'],
    disabled: false,
    lockedUntil: null,
    passwordChangedAt: START,
    mustChangePassword: false,
    createdAt: START,
    createdBy: 'boss',
    lastLoginAt: null,
  });
  t.same(env.svc.list().map((a) => a.id), ['boss', 'kim']);
  t.equal(env.svc.get('nobody'), undefined);
  t.notMatch(JSON.stringify(env.svc.list()), /scrypt|2468|1987|phone|birth/i);
  t.same(env.svc.personal('kim'), { phone: '010-2468-9753', birthDate: '1987-06-23' }, 'admin can read them back');
});

t.test('create refuses bad input, naming the field or rule', async (t) => {
  const env = await setup(t);
  await withPeople(env);
  const base: NewAccount = { id: 'lee', displayName: 'Lee', role: 'viewer', password: PW };
  const bad: Array<[Partial<NewAccount>, RegExp, string]> = [
    [{ id: 'Lee' }, /account id "Lee" is not valid: use 3 to 32 lowercase letters, digits, "\.", "_" or "-", starting with a letter/, 'upper case id'],
    [{ id: 'le' }, /not valid/, 'too short'],
    [{ id: '1lee' }, /starting with a letter/, 'digit first'],
    [{ id: 'a'.repeat(33) }, /not valid/, 'too long'],
    [{ id: 'console' }, /reserved/, 'reserved id'],
    [{ role: 'root' as never }, /role "root" is not one of viewer, clerk, approver, auditor, admin/, 'role'],
    [{ displayName: '' }, /display name/, 'empty name'],
    [{ phone: 'call me' }, /phone must be/, 'phone'],
    [{ birthDate: '1987-02-30' }, /birth date must be a real past date/, 'impossible date'],
    [{ birthDate: '2030-01-01' }, /birth date/, 'future date'],
    [{ allowedIps: ['10.0.0.0/40'] }, /allowedIps: "10\.0\.0\.0\/40"/, 'cidr'],
    [{ password: 'lee12345' }, /password refused: .*needs three kinds/, 'password kinds'],
    [{ password: 'Zx9!lee#Q2' }, /password refused: the password contains the user id/, 'password user id'],
    [{ password: 'Vp#q0623z', birthDate: '1990-06-23' }, /birth date/, 'password birth date'],
  ];
  for (const [patch, msg, why] of bad) {
    await t.rejects(env.svc.create('boss', { ...base, ...patch }), { code: 'BAD_INPUT', message: msg }, why);
  }
  const e = await failure(env.svc.create('boss', { ...base, password: 'abcd1234' }));
  t.same(e.details.rules, ['kinds', 'sequence', 'common'], 'details list the rule codes (abcd1234 is also a well-known password)');
  t.equal(env.svc.get('lee'), undefined, 'nothing created');
  await env.svc.create('boss', base);
  await t.rejects(env.svc.create('boss', base), { code: 'CONFLICT', message: 'account "lee" already exists' });
  await t.rejects(env.svc.create('kim', { ...base, id: 'park' }), { code: 'FORBIDDEN' }, 'a clerk cannot create accounts');
  await t.rejects(env.svc.create('ghost', { ...base, id: 'park' }), { code: 'FORBIDDEN' }, 'an unknown actor cannot');
  t.equal((await env.svc.create('console', { ...base, id: 'park' })).createdBy, 'console');
});

t.test('a new account set up by an admin must change its password; the bootstrap admin need not', async (t) => {
  const env = await setup(t);
  await withPeople(env);
  const v = await env.svc.create('boss', { id: 'lee', displayName: 'Lee', role: 'viewer', password: PW });
  t.equal(v.mustChangePassword, true);
  const s = await env.svc.login('lee', PW, IP);
  t.equal(s.mustChangePassword, true);
  t.equal((await env.svc.login('boss', 'Adm1n#Strong', IP)).mustChangePassword, false);
});

t.test('lockout after 5 failures for 15 minutes, with the same answers for unknown ids', async (t) => {
  const env = await setup(t);
  await withPeople(env);
  const wrong: string[] = [];
  for (let i = 1; i <= 4; i++) {
    const e = await failure(env.svc.login('kim', 'Wrong#Pass1', IP));
    t.equal(e.code, 'UNAUTHENTICATED', `failure ${i}`);
    wrong.push(e.message);
  }
  t.same(wrong, Array(4).fill('wrong user id or password'));
  const fifth = await failure(env.svc.login('kim', 'Wrong#Pass1', IP));
  t.equal(fifth.code, 'LOCKED');
  t.match(fifth.message, /^wrong user id or password; too many failed attempts: the account is locked until \d\d:\d\d;/);
  const until = new Date(Date.parse(START) + 15 * MIN);
  t.equal(fifth.details.lockedUntil, until.toISOString());
  t.match(fifth.message, `${String(until.getHours()).padStart(2, '0')}:${String(until.getMinutes()).padStart(2, '0')}`);
  t.equal(env.svc.get('kim')!.lockedUntil, until.toISOString());

  await t.rejects(env.svc.login('kim', PW, IP), { code: 'LOCKED', message: /^too many failed attempts: the account is locked until/ }, 'the right password does not help while locked');
  env.advance(15 * MIN - 1);
  await t.rejects(env.svc.login('kim', PW, IP), { code: 'LOCKED' }, 'still locked a moment before 15 minutes');
  env.advance(1);
  const s = await env.svc.login('kim', PW, IP);
  t.equal(s.account.id, 'kim', 'unlocked after 15 minutes');
  t.equal(s.account.lockedUntil, null);

  // Unknown ids: same messages, same lockout.
  const ghost: string[] = [];
  for (let i = 1; i <= 5; i++) {
    const e = await failure(env.svc.login('nobody', 'Wrong#Pass1', IP));
    ghost.push(`${e.code} ${e.message}`);
  }
  t.same(ghost.slice(0, 4), Array(4).fill('UNAUTHENTICATED wrong user id or password'));
  t.match(ghost[4]!, /^LOCKED wrong user id or password; too many failed attempts: the account is locked until \d\d:\d\d;/);
  await t.rejects(env.svc.login('nobody', 'x', IP), { code: 'LOCKED', message: /^too many failed attempts/ });
});

t.test('failures survive a restart, old failures expire, and an admin can unlock', async (t) => {
  const env = await setup(t);
  await withPeople(env);
  for (let i = 0; i < 3; i++) await t.rejects(env.svc.login('kim', 'Wrong#Pass1', IP), { code: 'UNAUTHENTICATED' });
  await env.reopen();
  await t.rejects(env.svc.login('kim', 'Wrong#Pass1', IP), { code: 'UNAUTHENTICATED' }, '4th after restart');
  await t.rejects(env.svc.login('kim', 'Wrong#Pass1', IP), { code: 'LOCKED' }, '5th after restart locks: the count was durable');
  t.ok(env.svc.get('kim')!.lockedUntil);
  t.throws(() => env.svc.unlock('kim', 'kim'), { code: 'FORBIDDEN' }, 'only admins unlock');
  t.equal(env.svc.unlock('boss', 'kim').lockedUntil, null);
  t.ok(await env.svc.login('kim', PW, IP));

  // Four failures, a pause longer than the lockout window, four more: no lock.
  for (let i = 0; i < 4; i++) await t.rejects(env.svc.login('kim', 'Wrong#Pass1', IP), { code: 'UNAUTHENTICATED' });
  env.advance(16 * MIN);
  for (let i = 0; i < 4; i++) await t.rejects(env.svc.login('kim', 'Wrong#Pass1', IP), { code: 'UNAUTHENTICATED' });
  t.ok(await env.svc.login(' Kim', PW, IP), 'a good login resets the count (ids are case-insensitive at login)');
  for (let i = 0; i < 4; i++) await t.rejects(env.svc.login('kim', 'Wrong#Pass1', IP), { code: 'UNAUTHENTICATED' });
  await t.rejects(env.svc.login('kim', 'Wrong#Pass1', IP), { code: 'LOCKED' });
});

t.test('parallel guesses get no more tries than the threshold', async (t) => {
  const env = await setup(t);
  await withPeople(env);
  const results = await Promise.allSettled(Array.from({ length: 12 }, () => env.svc.login('kim', 'Wrong#Pass1', IP)));
  const messages = results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'ok'));
  const checked = messages.filter((m) => m.startsWith('wrong user id or password'));
  t.equal(checked.length, 5, 'exactly five passwords were checked');
  t.equal(messages.filter((m) => m.startsWith('too many failed attempts')).length, 7);

  // The right password as the 12th of a parallel burst is refused: the lock came first.
  env.svc.unlock('boss', 'kim');
  const burst = await Promise.allSettled([...Array.from({ length: 11 }, () => 'Wrong#Pass1'), PW].map((p) => env.svc.login('kim', p, IP)));
  t.equal(burst.filter((r) => r.status === 'fulfilled').length, 0, 'no guess in the burst got in');
  t.match((burst[11] as PromiseRejectedResult).reason, { code: 'LOCKED' });
});

t.test('configurable threshold and lock time', async (t) => {
  const env = await setup(t, { lockoutThreshold: 2, lockoutMinutes: 1 });
  await withPeople(env);
  await t.rejects(env.svc.login('kim', 'Wrong#Pass1', IP), { code: 'UNAUTHENTICATED' });
  await t.rejects(env.svc.login('kim', 'Wrong#Pass1', IP), { code: 'LOCKED' });
  env.advance(MIN);
  t.ok(await env.svc.login('kim', PW, IP));
});

t.test('unknown ids take about as long as wrong passwords (the hash runs on them too)', async (t) => {
  const env = await setup(t, { scrypt: { N: 2 ** 13, r: 8, p: 1 }, lockoutThreshold: 100 });
  await withPeople(env);
  // The account's hash must have the same cost as the decoy.
  await env.svc.resetPassword('boss', 'kim', PW);
  const time = async (id: string) => {
    const t0 = performance.now();
    await env.svc.login(id, 'Wrong#Pass1', IP).catch(() => {});
    return performance.now() - t0;
  };
  await time('kim');
  await time('nobody');
  let known = 0;
  let unknown = 0;
  for (let i = 0; i < 5; i++) {
    known += await time('kim');
    unknown += await time(`nobody${i}`);
  }
  t.ok(unknown > known * 0.5 && unknown < known * 2, `unknown ${unknown.toFixed(0)} ms vs known ${known.toFixed(0)} ms`);
});

t.test('expiry after 90 days forces a password change; the flag lifts after it', async (t) => {
  const env = await setup(t);
  await withPeople(env);
  const fresh = await env.svc.login('kim', PW, IP);
  t.equal(fresh.mustChangePassword, false);
  t.doesNotThrow(() => assertPasswordCurrent(fresh));
  env.advance(90 * 24 * 60 * MIN - MIN);
  t.equal((await env.svc.login('kim', PW, IP)).mustChangePassword, false, 'a minute before 90 days');
  env.advance(MIN);
  const s = await env.svc.login('kim', PW, IP);
  t.equal(s.mustChangePassword, true, 'login succeeds, flagged');
  t.equal(s.account.mustChangePassword, true);
  t.throws(() => assertPasswordCurrent(s), { code: 'PASSWORD_EXPIRED' });
  t.equal(env.svc.authenticate(s.token, IP).mustChangePassword, true, 'the flag is on every request');

  await t.rejects(env.svc.changePassword('kim', PW, PW), { code: 'BAD_INPUT', message: /must differ from the current one/, details: { rules: ['reuse'] } });
  await t.rejects(env.svc.changePassword('kim', PW, 'kim-short'), { code: 'BAD_INPUT', details: { field: 'password' } });
  await t.rejects(env.svc.changePassword('kim', 'Wrong#Pass1', PW2), { code: 'UNAUTHENTICATED', message: 'wrong user id or password' });
  const v = await env.svc.changePassword('kim', PW, PW2, s.token);
  t.equal(v.mustChangePassword, false);
  t.equal(v.passwordChangedAt, env.now().toISOString());
  t.equal(env.svc.authenticate(s.token, IP).mustChangePassword, false, 'the same session may now do everything');
  await t.rejects(env.svc.login('kim', PW, IP), { code: 'UNAUTHENTICATED' }, 'old password gone');
  t.ok(await env.svc.login('kim', PW2, IP));
});

t.test('changing the password with the session token ends the account\'s other sessions', async (t) => {
  const env = await setup(t);
  await withPeople(env);
  const a = await env.svc.login('kim', PW, IP);
  const b = await env.svc.login('kim', PW, IP);
  await env.svc.changePassword('kim', PW, PW2, a.token);
  t.ok(env.svc.authenticate(a.token, IP));
  t.throws(() => env.svc.authenticate(b.token, IP), { code: 'UNAUTHENTICATED' });
});

t.test('configurable expiry', async (t) => {
  const env = await setup(t, { passwordMaxAgeDays: 30 });
  await withPeople(env);
  env.advance(30 * 24 * 60 * MIN);
  t.equal((await env.svc.login('kim', PW, IP)).mustChangePassword, true);
});

t.test('reset by an admin: temporary password, must change, lockout cleared, sessions ended', async (t) => {
  const env = await setup(t);
  await withPeople(env, { phone: '010-2468-9753' });
  const s = await env.svc.login('kim', PW, IP);
  for (let i = 0; i < 5; i++) await env.svc.login('kim', 'Wrong#Pass1', IP).catch(() => {});
  t.ok(env.svc.get('kim')!.lockedUntil);
  await t.rejects(env.svc.resetPassword('boss', 'kim', 'Tmp#2468xy'), { code: 'BAD_INPUT', message: /phone/ }, 'rules use the sealed phone number');
  await t.rejects(env.svc.resetPassword('kim', 'kim', 'Tmp#9q8w7e'), { code: 'FORBIDDEN' });
  await t.rejects(env.svc.resetPassword('boss', 'nobody', 'Tmp#9q8w7e'), { code: 'NOT_FOUND' });
  const v = await env.svc.resetPassword('boss', 'kim', 'Tmp#9q8w7e');
  t.equal(v.mustChangePassword, true);
  t.equal(v.lockedUntil, null);
  t.throws(() => env.svc.authenticate(s.token, IP), { code: 'UNAUTHENTICATED' }, 'old sessions ended');
  const s2 = await env.svc.login('kim', 'Tmp#9q8w7e', IP);
  t.equal(s2.mustChangePassword, true);
});

t.test('sessions: idle timeout, touched by use, absolute limit, logout', async (t) => {
  const env = await setup(t);
  await withPeople(env);
  const s = await env.svc.login('kim', PW, IP);
  t.match(s.token, /^[A-Za-z0-9_-]{43}$/);
  t.equal(s.expiresAt, new Date(Date.parse(START) + 15 * MIN).toISOString());
  env.advance(14 * MIN);
  const a = env.svc.authenticate(s.token, IP);
  t.equal(a.account.id, 'kim');
  t.equal(a.expiresAt, new Date(env.now().getTime() + 15 * MIN).toISOString(), 'use moves the idle end');
  env.advance(14 * MIN);
  t.ok(env.svc.authenticate(s.token, IP), '28 minutes after login, 14 after last use');
  env.advance(15 * MIN);
  t.throws(() => env.svc.authenticate(s.token, IP), { code: 'UNAUTHENTICATED', message: /after 15 minutes without activity/ });
  t.throws(() => env.svc.authenticate(s.token, IP), { code: 'UNAUTHENTICATED', message: /not signed in/ }, 'and it is gone');

  // Absolute limit: used every 10 minutes, it still ends 12 hours after login.
  const l = await env.svc.login('kim', PW, IP);
  let n = 0;
  for (; n < 100; n++) {
    env.advance(10 * MIN);
    try {
      env.svc.authenticate(l.token, IP);
    } catch (e) {
      t.match(e, { code: 'UNAUTHENTICATED', message: /limit of 12 hours/ });
      break;
    }
  }
  t.equal(n, 71, 'ended at 12 hours (72nd use)');

  const o = await env.svc.login('kim', PW, IP);
  env.svc.logout(o.token);
  t.throws(() => env.svc.authenticate(o.token, IP), { code: 'UNAUTHENTICATED' });
  for (const bad of ['', 'x', o.token.slice(0, -1) + (o.token.endsWith('A') ? 'B' : 'A')]) {
    t.throws(() => env.svc.authenticate(bad, IP), { code: 'UNAUTHENTICATED' }, JSON.stringify(bad));
  }
});

t.test('sessions: configurable limits; the idle timer survives a restart', async (t) => {
  const env = await setup(t, { sessionIdleMinutes: 5, sessionMaxHours: 1 });
  await withPeople(env);
  const s = await env.svc.login('kim', PW, IP);
  env.advance(4 * MIN);
  env.svc.authenticate(s.token, IP);
  await env.reopen();
  env.advance(4 * MIN);
  t.ok(env.svc.authenticate(s.token, IP), 'last use was persisted');
  env.advance(5 * MIN);
  t.throws(() => env.svc.authenticate(s.token, IP), { code: 'UNAUTHENTICATED', message: /5 minutes/ });
});

t.test('session tokens are stored hashed', async (t) => {
  const env = await setup(t);
  await withPeople(env);
  const s = await env.svc.login('kim', PW, IP);
  const keys = [...env.store.db<unknown, string>('sessions').getKeys()] as string[];
  t.equal(keys.length, 1);
  t.match(keys[0], /^[0-9a-f]{64}$/);
  t.notOk(keys.includes(s.token));
  await env.store.close();
  const raw = readFileSync(join(env.dir, 'db', 'data.mdb'));
  t.equal(raw.indexOf(Buffer.from(s.token)), -1, 'token not in the database file');
  t.not(raw.indexOf(Buffer.from(keys[0]!)), -1, 'its hash is (the search works)');
  await env.reopen();
});

t.test('disabled accounts: no login, sessions end, and the change is recorded', async (t) => {
  const env = await setup(t);
  await withPeople(env);
  const s = await env.svc.login('kim', PW, IP);
  env.svc.setDisabled('boss', 'kim', true);
  t.throws(() => env.svc.authenticate(s.token, IP), { code: 'UNAUTHENTICATED' });
  await t.rejects(env.svc.login('kim', PW, IP), { code: 'FORBIDDEN', message: 'account "kim" is disabled; ask an administrator' });
  await t.rejects(env.svc.login('kim', 'Wrong#Pass1', IP), { code: 'UNAUTHENTICATED', message: 'wrong user id or password' }, 'a wrong password does not learn it is disabled');
  env.svc.setDisabled('boss', 'kim', false);
  t.ok(await env.svc.login('kim', PW, IP));
  t.same(env.svc.roleChanges({ account: 'kim' }).map((c) => c.event), ['granted', 'disabled', 'enabled']);
});

t.test('IP allow-list: global and per account, IPv4, IPv6 and mapped IPv4', async (t) => {
  const env = await setup(t, { allowedIps: ['10.0.0.0/8', '127.0.0.0/8', 'fd00::/8'] });
  await withPeople(env, { allowedIps: ['127.0.0.0/8', 'fd00:1::/32'] });
  await t.rejects(env.svc.login('kim', PW, '192.168.1.2'), { code: 'FORBIDDEN', message: 'access from 192.168.1.2 is not allowed on this appliance (IP allow-list)' });
  await t.rejects(env.svc.login('nobody', PW, '192.168.1.2'), { code: 'FORBIDDEN' }, 'before any account lookup');
  await t.rejects(env.svc.login('kim', PW, '2001:db8::1'), { code: 'FORBIDDEN' });
  await t.rejects(env.svc.login('kim', PW, '10.1.2.3'), { code: 'FORBIDDEN', message: 'account "kim" may not sign in from 10.1.2.3 (its IP allow-list)' }, 'global allows, account does not');
  await t.rejects(env.svc.login('kim', 'Wrong#Pass1', '10.1.2.3'), { code: 'UNAUTHENTICATED' }, 'the account list is only revealed to the right password');
  const s = await env.svc.login('kim', PW, '::ffff:127.0.0.1');
  t.ok(s, 'mapped IPv4 matches 127.0.0.0/8');
  t.ok(await env.svc.login('kim', PW, 'fd00:1::9'), 'IPv6 in both lists');
  await t.rejects(env.svc.login('kim', PW, 'fd00:2::9'), { code: 'FORBIDDEN' }, 'IPv6 in the global list only');
  t.ok(await env.svc.login('boss', 'Adm1n#Strong', '10.1.2.3'), 'an account without a list: the global one applies');
  t.ok(env.svc.authenticate(s.token, '127.0.0.1'));
  t.throws(() => env.svc.authenticate(s.token, '10.1.2.3'), { code: 'FORBIDDEN' }, 'checked on every request');

  t.same(env.svc.setAllowedIps('boss', 'kim', ['10.1.2.3']).allowedIps, ['10.1.2.3/32']);
  t.ok(await env.svc.login('kim', PW, '::ffff:10.1.2.3'));
  t.throws(() => env.svc.setAllowedIps('boss', 'kim', ['10.1.2.3/99']), { code: 'BAD_INPUT', message: /allowedIps: "10\.1\.2\.3\/99"/ });
  t.throws(() => env.svc.setAllowedIps('kim', 'kim', []), { code: 'FORBIDDEN' });

  env.svc.updateSettings({ ...env.svc.getSettings(), allowedIps: ['192.168.0.0/16'] });
  await t.rejects(env.svc.login('boss', 'Adm1n#Strong', '10.1.2.3'), { code: 'FORBIDDEN' }, 'new settings apply');
  t.throws(() => env.svc.updateSettings({ ...env.svc.getSettings(), allowedIps: ['nope'] }), { code: 'BAD_INPUT' });
});

t.test('bootstrap: one-time token, replaced by a new one, burnt by use', async (t) => {
  const env = await setup(t);
  t.equal(env.svc.hasAdmin(), false);
  const first = env.svc.issueBootstrapToken()!;
  t.match(first, /^[0-9A-Z]{5}(-[0-9A-Z]{5}){3}$/);
  const token = env.svc.issueBootstrapToken()!;
  t.not(token, first);
  const admin = { id: 'boss', displayName: 'Boss', password: 'Adm1n#Strong' };
  await t.rejects(env.svc.bootstrap(first, admin), { code: 'UNAUTHENTICATED', message: /setup token is wrong or no longer valid/ }, 'the replaced token');
  await t.rejects(env.svc.bootstrap('AAAAA-AAAAA-AAAAA-AAAAA', admin), { code: 'UNAUTHENTICATED' });
  await t.rejects(env.svc.bootstrap(token, { ...admin, password: 'boss1234' }), { code: 'BAD_INPUT' }, 'password rules apply');
  t.equal(env.svc.hasAdmin(), false);

  await env.store.close();
  const raw = readFileSync(join(env.dir, 'db', 'data.mdb'));
  t.equal(raw.indexOf(Buffer.from(token.replace(/-/g, ''))), -1, 'token not stored in clear');
  t.equal(raw.indexOf(Buffer.from(token)), -1);
  await env.reopen();

  const typed = ` ${token.toLowerCase().replace(/-/g, ' ')} `;
  const v = await env.svc.bootstrap(typed, admin);
  t.match(v, { id: 'boss', role: 'admin', createdBy: 'bootstrap', mustChangePassword: false });
  t.equal(env.svc.hasAdmin(), true);
  await t.rejects(env.svc.bootstrap(token, { ...admin, id: 'boss2' }), { code: 'CONFLICT' }, 'cannot be used twice');
  t.equal(env.svc.issueBootstrapToken(), null, 'no token once an admin exists');
  t.ok(await env.svc.login('boss', 'Adm1n#Strong', IP));
  t.same(env.svc.roleChanges(), [{ at: START, by: 'bootstrap', account: 'boss', from: null, to: 'admin', event: 'granted' }]);
});

t.test('parallel bootstraps create one admin', async (t) => {
  const env = await setup(t);
  const token = env.svc.issueBootstrapToken()!;
  const r = await Promise.allSettled(['one', 'two', 'three'].map((id) => env.svc.bootstrap(token, { id: `boss${id}`, displayName: id, password: 'Adm1n#Strong' })));
  t.equal(r.filter((x) => x.status === 'fulfilled').length, 1);
  t.equal(env.svc.list().length, 1);
});

t.test('the last enabled admin cannot be demoted or disabled', async (t) => {
  const env = await setup(t);
  await withPeople(env);
  t.throws(() => env.svc.setRole('boss', 'boss', 'clerk'), { code: 'CONFLICT', message: '"boss" is the last enabled admin; make another account admin first' });
  t.throws(() => env.svc.setDisabled('boss', 'boss', true), { code: 'CONFLICT' });
  t.throws(() => env.svc.setRole('console', 'boss', 'auditor'), { code: 'CONFLICT' }, 'not even from the console');
  t.throws(() => env.svc.setRole('kim', 'kim', 'admin'), { code: 'FORBIDDEN', message: /"kim" may not manage accounts/ }, 'no self-promotion');
  t.equal(env.svc.setRole('boss', 'kim', 'admin').role, 'admin');
  t.equal(env.svc.setRole('kim', 'boss', 'auditor').role, 'auditor', 'with a second admin, the first can go');
  t.throws(() => env.svc.setRole('boss', 'kim', 'clerk'), { code: 'FORBIDDEN' }, 'an auditor is no longer an admin');
  t.throws(() => env.svc.setRole('kim', 'kim', 'clerk'), { code: 'CONFLICT' });
  t.throws(() => env.svc.setRole('kim', 'boss', 'root' as never), { code: 'BAD_INPUT' });
  t.throws(() => env.svc.setRole('kim', 'nobody', 'clerk'), { code: 'NOT_FOUND', message: 'no account "nobody"' });
});

t.test('role changes are recorded (who, when, from, to) and kept 3 years', async (t) => {
  const env = await setup(t);
  await withPeople(env);
  env.advance(MIN);
  env.svc.setRole('boss', 'kim', 'approver');
  env.svc.setRole('boss', 'kim', 'approver'); // no change, no record
  env.advance(MIN);
  env.svc.setRole('console', 'kim', 'auditor');
  const at = (m: number) => new Date(Date.parse(START) + m * MIN).toISOString();
  t.same(env.svc.roleChanges({ account: 'kim' }), [
    { at: START, by: 'boss', account: 'kim', from: null, to: 'clerk', event: 'granted' },
    { at: at(1), by: 'boss', account: 'kim', from: 'clerk', to: 'approver', event: 'changed' },
    { at: at(2), by: 'console', account: 'kim', from: 'approver', to: 'auditor', event: 'changed' },
  ]);
  t.same(env.svc.roleChanges({ since: at(1) }).map((c) => c.to), ['approver', 'auditor']);
  t.equal(env.svc.roleChanges().length, 4, 'boss and kim');

  // Survives a restart.
  await env.reopen();
  t.equal(env.svc.roleChanges().length, 4);

  // Retention: 2 years later nothing may go, even when asked; after 3 years the old ones may.
  env.advance(2 * 365 * 24 * 60 * MIN);
  t.equal(env.svc.pruneRoleChanges(env.now()), 0, 'younger than 3 years: kept');
  env.advance(366 * 24 * 60 * MIN);
  t.equal(env.svc.pruneRoleChanges(new Date(Date.parse(START) + 90 * 1000)), 3, 'only those before the date asked');
  t.same(env.svc.roleChanges().map((c) => c.to), ['auditor']);
  t.equal(env.svc.pruneRoleChanges(env.now(), { keepYears: 0 }), 1, 'when told explicitly');
});

t.test('phone and birth date are not in the database file in clear', async (t) => {
  const env = await setup(t);
  await withPeople(env, { phone: '010-2468-9753', birthDate: '1987-06-23' });
  await env.store.close();
  const files = readdirSync(join(env.dir, 'db'));
  t.ok(files.includes('data.mdb'));
  const raw = Buffer.concat(files.map((f) => readFileSync(join(env.dir, 'db', f))));
  t.not(raw.indexOf(Buffer.from('Kim Clerk')), -1, 'the display name is found: the search works');
  for (const s of ['010-2468-9753', '01024681357', '24689753', '1987-06-23', '19870623', PW]) {
    t.equal(raw.indexOf(Buffer.from(s)), -1, `${s} not in clear`);
  }
  await env.reopen();
  t.same(env.svc.personal('kim'), { phone: '010-2468-9753', birthDate: '1987-06-23' });
});

t.test('a hash made with older parameters still verifies and is upgraded at login', async (t) => {
  const env = await setup(t);
  await withPeople(env);
  const accounts = env.store.db<{ passwordHash: string }, string>('accounts');
  const old = await hashPassword(PW, { N: 2 ** 11, r: 8, p: 1 });
  env.store.transaction(() => accounts.putSync('kim', { ...accounts.get('kim')!, passwordHash: old }));
  t.ok(await env.svc.login('kim', PW, IP));
  t.match(accounts.get('kim')!.passwordHash, /^\$scrypt\$N=1024,r=8,p=1\$/);
  t.ok(await env.svc.login('kim', PW, IP), 'the upgraded hash verifies');
});

t.test('settings are checked', async (t) => {
  const env = await setup(t);
  const make = (s: Partial<AuthSettings>) => () => new AccountService(env.store, env.key, { ...DEFAULT_AUTH_SETTINGS, ...s });
  t.throws(make({ lockoutThreshold: 0 }), { code: 'BAD_INPUT', message: /lockoutThreshold/ });
  t.throws(make({ sessionIdleMinutes: -1 }), { code: 'BAD_INPUT', message: /sessionIdleMinutes/ });
  t.throws(make({ scrypt: { N: 1000, r: 8, p: 1 } }), { code: 'BAD_INPUT', message: /power of two/ });
  t.throws(make({ allowedIps: ['10.0.0.0/33'] }), { code: 'BAD_INPUT', message: /10\.0\.0\.0\/33/ });
  t.same(DEFAULT_AUTH_SETTINGS, { passwordMaxAgeDays: 90, lockoutThreshold: 5, lockoutMinutes: 15, sessionIdleMinutes: 15, sessionMaxHours: 12, allowedIps: [], scrypt: { N: 2 ** 17, r: 8, p: 1 } });
});

t.test('the default account hash cost is scrypt N = 2^17; a hash at the old default (2^15) is rehashed at the next good login', async (t) => {
  t.ok(DEFAULT_AUTH_SETTINGS.scrypt.N >= 2 ** 17, `default N = 2^${Math.log2(DEFAULT_AUTH_SETTINGS.scrypt.N)}`);
  const env = await setup(t, { scrypt: DEFAULT_AUTH_SETTINGS.scrypt });
  await withPeople(env);
  const accounts = env.store.db<{ passwordHash: string }, string>('accounts');
  t.match(accounts.get('kim')!.passwordHash, /^\$scrypt\$N=131072,r=8,p=1\$/, 'a new account is hashed at the default');
  const old = await hashPassword(PW, { N: 2 ** 15, r: 8, p: 1 });
  env.store.transaction(() => accounts.putSync('kim', { ...accounts.get('kim')!, passwordHash: old }));
  const t0 = performance.now();
  t.ok(await env.svc.login('kim', PW, IP), 'the old hash still verifies');
  const ms = performance.now() - t0;
  t.match(accounts.get('kim')!.passwordHash, /^\$scrypt\$N=131072,r=8,p=1\$/, 'and is replaced by one at 2^17');
  const t1 = performance.now();
  t.ok(await env.svc.login('kim', PW, IP), 'the new hash verifies');
  t.comment(`login with rehash 2^15 -> 2^17: ${ms.toFixed(0)} ms; login at 2^17: ${(performance.now() - t1).toFixed(0)} ms`);
});

t.test('several account changes are one transaction: a good role with a bad allow-list changes nothing', async (t) => {
  const env = await setup(t);
  await withPeople(env);
  const before = env.svc.get('kim')!;
  const changes = env.svc.roleChanges().length;
  t.throws(() => env.svc.changeAccount('boss', 'kim', { role: 'approver', allowedIps: ['10.1.2.3/99'] }), { code: 'BAD_INPUT', message: /allowedIps/ });
  t.same(env.svc.get('kim'), before, 'role and allow-list unchanged');
  t.equal(env.svc.roleChanges().length, changes, 'no role change recorded');
  // The same with a failure found only inside the transaction (the last admin).
  t.throws(() => env.svc.changeAccount('boss', 'boss', { allowedIps: ['10.0.0.0/8'], disabled: true }), { code: 'CONFLICT' });
  t.same(env.svc.get('boss')!.allowedIps, [], 'the allow-list of the refused change was not kept');
  const v = env.svc.changeAccount('boss', 'kim', { role: 'approver', allowedIps: ['10.1.2.3'], disabled: true });
  t.same([v.role, v.allowedIps, v.disabled], ['approver', ['10.1.2.3/32'], true], 'all three at once');
  t.same(env.svc.roleChanges().slice(changes).map((c) => c.event), ['changed', 'disabled']);
});

t.test('nobody changes their own role (an admin cannot make themselves clerk or approver)', async (t) => {
  const env = await setup(t);
  await withPeople(env);
  await env.svc.create('boss', { id: 'second', displayName: 'Second admin', role: 'admin', password: PW2, mustChangePassword: false });
  t.throws(() => env.svc.setRole('boss', 'boss', 'approver'), { code: 'FORBIDDEN', message: '"boss" may not change their own role; another admin (or the console) has to' });
  t.throws(() => env.svc.changeAccount('boss', 'boss', { role: 'clerk' }), { code: 'FORBIDDEN', message: /own role/ });
  t.equal(env.svc.get('boss')!.role, 'admin');
  t.equal(env.svc.setRole('second', 'boss', 'auditor').role, 'auditor', 'another admin may');
});
