/**
 * `veilport user ...` through main(), in-process, on a real data directory with the
 * default scrypt cost; then the accounts it made are used through AccountService.
 */
import t from 'tap';
import { runCli as run } from '../helpers/cli.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../../src/store/store.js';
import { loadOrCreateDataKey } from '../../src/store/data-key.js';
import { AccountService } from '../../src/auth/accounts.js';
import { DEFAULT_AUTH_SETTINGS } from '../../src/auth/settings.js';
import { boxDir } from '../helpers/box-dir.js';


const dir = boxDir('cli');
const data = join(dir, 'data');
const pw = join(dir, 'pw.txt');
const weak = join(dir, 'weak.txt');
const tmp = join(dir, 'tmp.txt');
const birthday = join(dir, 'birthday.txt');
writeFileSync(pw, 'Gk7#pQ2x-Lm\n');
writeFileSync(weak, 'kim12345\n');
writeFileSync(tmp, 'Tmp#9q8w7e\n');
writeFileSync(birthday, 'Vp#q0908z\n');

async function withService<T>(fn: (s: AccountService) => Promise<T> | T): Promise<T> {
  const store = openStore(data);
  try {
    return await fn(new AccountService(store, await loadOrCreateDataKey(join(data, 'keys')), DEFAULT_AUTH_SETTINGS));
  } finally {
    await store.close();
  }
}

t.test('user add creates an account on the console', async (t) => {
  const r = await run(['user', 'add', '--data', data, '--user', 'kim', '--role', 'clerk', '--password-file', pw, '--name', 'Kim Clerk', '--phone', '010-2468-9753', '--birth-date', '1987-06-23']);
  t.equal(r.code, 0, r.err);
  t.match(r.out, /^created account kim \(clerk\); the password must be changed at the first sign-in/);
  const j = await run(['user', 'add', '--data', data, '--user', 'boss', '--role', 'admin', '--password-file', pw, '--allowed-ip', '127.0.0.0/8', '--allowed-ip', '::1', '--json']);
  t.equal(j.code, 0, j.err);
  t.match(JSON.parse(j.out), { id: 'boss', role: 'admin', displayName: 'boss', createdBy: 'console', allowedIps: ['127.0.0.0/8', '::1/128'], mustChangePassword: true });
  await withService(async (s) => {
    t.same(s.personal('kim'), { phone: '010-2468-9753', birthDate: '1987-06-23' });
    t.same(s.roleChanges().map((c) => [c.by, c.account, c.from, c.to]), [['console', 'kim', null, 'clerk'], ['console', 'boss', null, 'admin']]);
    const session = await s.login('kim', 'Gk7#pQ2x-Lm', '10.0.0.1');
    t.equal(session.mustChangePassword, true);
    t.equal(s.hasAdmin(), true);
  });
});

t.test('user add refuses bad input with a clear line', async (t) => {
  const weakRun = await run(['user', 'add', '--data', data, '--user', 'lee', '--role', 'viewer', '--password-file', weak]);
  t.equal(weakRun.code, 2);
  t.match(weakRun.err, /^veilport: error: password refused: .*three kinds/);
  const personal = await run(['user', 'add', '--data', data, '--user', 'lee', '--role', 'viewer', '--password-file', birthday, '--birth-date', '1990-09-08']);
  t.equal(personal.code, 2);
  t.match(personal.err, /birth date/);
  const dup = await run(['user', 'add', '--data', data, '--user', 'kim', '--role', 'viewer', '--password-file', pw, '--json']);
  t.equal(dup.code, 1);
  t.same(JSON.parse(dup.out), { ok: false, error: { code: 'CONFLICT', message: 'account "kim" already exists' } });
  const role = await run(['user', 'add', '--data', data, '--user', 'lee', '--role', 'superuser', '--password-file', pw]);
  t.equal(role.code, 2);
  t.match(role.err, /--role "superuser": expected one of viewer, clerk, approver, auditor, admin/);
  const noData = await run(['user', 'list']);
  t.equal(noData.code, 2);
  t.match(noData.err, /--data is required/);
  const sub = await run(['user', 'delete', '--data', data]);
  t.equal(sub.code, 2);
  t.match(sub.err, /unknown user subcommand "delete"/);
  const none = await run(['user', 'add', '--data', data, '--user', 'lee', '--role', 'viewer', '--password-file', join(dir, 'missing.txt')]);
  t.equal(none.code, 2);
  t.match(none.err, /--password-file .*missing\.txt: cannot read it/);
  t.equal((await run(['user', '--help'])).code, 0);
});

t.test('user list, unlock and reset-password', async (t) => {
  const list = await run(['user', 'list', '--data', data]);
  t.equal(list.code, 0);
  t.match(list.out, /^boss\s+admin\s+boss\s+\[enabled, must change password\] from 127\.0\.0\.0\/8 ::1\/128\nkim\s+clerk\s+Kim Clerk\s+\[enabled, must change password\]\n$/);
  t.notMatch(list.out, /2468|1987/, 'no personal data listed');

  await withService(async (s) => {
    for (let i = 0; i < 5; i++) await s.login('kim', 'Wrong#Pass1', '10.0.0.1').catch(() => {});
    t.ok(s.get('kim')!.lockedUntil);
  });
  const json = JSON.parse((await run(['user', 'list', '--data', data, '--json'])).out) as Array<{ id: string; lockedUntil: string | null }>;
  t.ok(json.find((a) => a.id === 'kim')!.lockedUntil, 'list shows the lock');
  const un = await run(['user', 'unlock', '--data', data, '--user', 'kim']);
  t.equal(un.code, 0, un.err);
  t.equal(un.out, 'unlocked kim\n');
  const missing = await run(['user', 'unlock', '--data', data, '--user', 'nobody']);
  t.equal(missing.code, 1);
  t.match(missing.err, /no account "nobody"/);

  const rp = await run(['user', 'reset-password', '--data', data, '--user', 'boss', '--password-file', tmp, '--json']);
  t.equal(rp.code, 0, rp.err);
  t.match(JSON.parse(rp.out), { id: 'boss', mustChangePassword: true, lockedUntil: null });
  await withService(async (s) => {
    await t.rejects(s.login('boss', 'Gk7#pQ2x-Lm', '127.0.0.1'), { code: 'UNAUTHENTICATED' }, 'old password gone');
    const session = await s.login('boss', 'Tmp#9q8w7e', '::ffff:127.0.0.1');
    t.equal(session.mustChangePassword, true);
    t.ok(await s.login('kim', 'Gk7#pQ2x-Lm', '10.0.0.1'), 'kim unlocked');
  });
});
