/**
 * The route-by-role matrix: every registered route, called by every role (and by
 * nobody), must answer 403 exactly when the permission table says no, 401 without a
 * session, and never 500. Routes are read from the app itself, so a new route without
 * an access rule fails here.
 */
import t from 'tap';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { buildApp } from '../../src/api/app.js';
import { openCore } from '../../src/daemon/daemon.js';
import { PERMISSIONS } from '../../src/workflow/permissions.js';
import { ROLES, type Role } from '../../src/workflow/types.js';
import { testSettings } from './helpers.js';
import { boxDir } from '../helpers/box-dir.js';

const dir = boxDir('roles');
const recordings = join(dir, 'rec');
mkdirSync(join(recordings, 'lobby'), { recursive: true });

t.test('every route, every role', async (t) => {
  const core = await openCore(testSettings(dir, recordings));
  const app = await buildApp(core);
  t.teardown(async () => {
    await app.close();
    await core.store.close();
  });
  const tokens = {} as Record<Role, string>;
  const signIn = async (role: Role) => {
    tokens[role] = (await core.accounts.login(`${role}x`, `Matrix-${role}-Pass-91`, '127.0.0.1')).token;
  };
  for (const role of ROLES) {
    await core.accounts.create('console', { id: `${role}x`, displayName: role, role, password: `Matrix-${role}-Pass-91`, mustChangePassword: false });
    await signIn(role);
  }

  const routes = app.routeRules.filter((r) => !r.url.startsWith('/docs'));
  t.ok(routes.length >= 30, `${routes.length} routes`);
  for (const r of routes) t.not(r.permission, undefined, `${r.method} ${r.url} declares who may call it`);

  const fill = (url: string) =>
    url.replace(':id', url.startsWith('/api/jobs') ? '00000000-0000-4000-8000-000000000000' : url.startsWith('/api/accounts') ? 'nobody' : '20260301-001').replace(':track', '1').replace(':camera', 'lobby');
  for (const r of routes) {
    const url = fill(r.url);
    const call = (token?: string) => app.inject({ method: r.method as 'GET', url, headers: token ? { authorization: `Bearer ${token}` } : {}, ...(r.method === 'GET' || r.method === 'DELETE' ? {} : { payload: {} }) });
    if (r.permission === null) continue;
    const anon = await call();
    t.equal(anon.statusCode, 401, `${r.method} ${r.url} without a session: 401`);
    for (const role of ROLES) {
      const res = await call(tokens[role]);
      const may = (PERMISSIONS[r.permission!] as readonly Role[]).includes(role);
      t.not(res.statusCode, 500, `${r.method} ${r.url} as ${role}: never 500 (${res.body.slice(0, 200)})`);
      if (may) t.not(res.statusCode, 403, `${r.method} ${r.url} as ${role}: allowed (${res.statusCode} ${res.body.slice(0, 120)})`);
      else t.equal(res.statusCode, 403, `${r.method} ${r.url} as ${role}: forbidden`);
      if (r.method === 'DELETE' && r.url === '/api/session') await signIn(role); // that was a logout
    }
  }

  const docs = await app.inject({ method: 'GET', url: '/docs/json' });
  t.equal(docs.statusCode, 200, 'OpenAPI description served without login');
  const spec = JSON.parse(docs.body) as { openapi: string; paths: Record<string, unknown> };
  t.match(spec.openapi, /^3\./);
  for (const r of routes) t.ok(spec.paths[r.url.replace(/:(\w+)/g, '{$1}')], `${r.url} is described`);

  // Refusals are counted per account, route and minute and written when the minute is over (or now).
  app.denials.flush(true);
  const denied = core.log.list({ limit: 5000 }).filter((e) => e.result === 'denied');
  t.ok(denied.length > 0, `refusals are in the access log (${denied.length})`);
  t.ok(denied.every((e) => /^refused \d+ time\(s\) in the minute /.test(e.detail ?? '')), 'each with its count and minute');
});
