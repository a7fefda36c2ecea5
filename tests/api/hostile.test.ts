/**
 * Hostile and careless input over real HTTP: oversized bodies, wrong types, unknown
 * fields, path traversal, reversed or huge ranges, unknown cameras, bad JSON. Each gets
 * a 4xx in the documented error shape with a message naming what was wrong; never a 500.
 */
import t from 'tap';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { client, start, staff, testSettings, type Running } from './helpers.js';
import { boxDir } from '../helpers/box-dir.js';

const dir = boxDir('hostile');
const recordings = join(dir, 'rec');
mkdirSync(join(recordings, 'lobby', '2026-03-01'), { recursive: true });
let run: Running;
t.before(async () => {
  run = await start(testSettings(dir, recordings));
});
t.teardown(() => run?.daemon.close());

const good = {
  requester: { name: '김철수', type: 'police', organisation: '서울경찰청' },
  purpose: '수사 (investigation)',
  legalBasis: '개인정보 보호법 제18조 제2항 제7호',
  cameras: ['lobby'],
  range: { from: '2026-03-01T09:00:00+09:00', to: '2026-03-01T09:10:00+09:00' },
};

t.test('bad input: 4xx, clear message, nothing stored', async (t) => {
  const base = run.daemon.url;
  const tokens = await staff(base, run.token);
  const clerk = client(base, tokens.clerk);
  const cases: [string, string, string, unknown, number, RegExp][] = [
    ['oversized body', 'POST', '/api/requests', { ...good, purpose: 'x'.repeat(300 * 1024) }, 413, /body|large/i],
    ['not JSON', 'POST', '/api/requests', '{"requester":', 400, /JSON|body/i],
    ['wrong type', 'POST', '/api/requests', { ...good, cameras: 'lobby' }, 400, /cameras/],
    ['unknown field', 'POST', '/api/requests', { ...good, approvedBy: 'me' }, 400, /approvedBy/],
    ['missing field', 'POST', '/api/requests', { ...good, purpose: undefined }, 400, /purpose/],
    ['bad requester type', 'POST', '/api/requests', { ...good, requester: { ...good.requester, type: 'journalist' } }, 400, /type/],
    ['range ends before it starts', 'POST', '/api/requests', { ...good, range: { from: good.range.to, to: good.range.from } }, 400, /after "from"/],
    ['range without a zone', 'POST', '/api/requests', { ...good, range: { from: '2026-03-01 09:00', to: '2026-03-01 10:00' } }, 400, /range/],
    ['range too long', 'POST', '/api/requests', { ...good, range: { from: '2026-03-01T00:00:00Z', to: '2026-03-03T00:00:00Z' } }, 400, /24 hours/],
    ['range in the future', 'POST', '/api/requests', { ...good, range: { from: '2099-01-01T00:00:00Z', to: '2099-01-01T01:00:00Z' } }, 400, /future/],
    ['unknown camera', 'POST', '/api/requests', { ...good, cameras: ['cam99'] }, 400, /unknown camera "cam99"/],
    ['camera path traversal', 'POST', '/api/requests', { ...good, cameras: ['../../etc'] }, 400, /camera/],
    ['two cameras', 'POST', '/api/requests', { ...good, cameras: ['lobby', 'lobby'] }, 400, /cameras/],
    ['bad expiry', 'POST', '/api/requests', { ...good, expiresAfterDays: 0 }, 400, /expiresAfterDays/],
    ['traversal in a browse path', 'GET', '/api/cameras/..%2F..%2Fetc/recordings?from=2026-03-01T00:00:00Z&to=2026-03-01T01:00:00Z', undefined, 400, /camera/],
    ['browse an unknown camera', 'GET', '/api/cameras/nope/recordings?from=2026-03-01T00:00:00Z&to=2026-03-01T01:00:00Z', undefined, 404, /unknown camera/],
    ['browse a reversed range', 'GET', '/api/cameras/lobby/recordings?from=2026-03-01T01:00:00Z&to=2026-03-01T00:00:00Z', undefined, 400, /after "from"/],
    ['browse without dates', 'GET', '/api/cameras/lobby/recordings', undefined, 400, /from/],
    ['malformed request id', 'GET', '/api/requests/..%2F..%2Fdb', undefined, 400, /id/],
    ['unknown request', 'GET', '/api/requests/20260301-999', undefined, 404, /no request 20260301-999/],
    ['bad query value', 'GET', '/api/requests?limit=lots', undefined, 400, /limit/],
    ['unknown route', 'GET', '/api/nothing-here', undefined, 404, /no route/],
  ];
  for (const [what, method, path, body, status, message] of cases) {
    const r = await clerk(method, path, body);
    t.equal(r.status, status, `${what}: ${status} (${JSON.stringify(r.body).slice(0, 160)})`);
    t.equal(typeof r.body?.error?.code, 'string', `${what}: error has a code`);
    t.match(r.body?.error?.message, message, `${what}: message says what was wrong`);
  }
  const list = await clerk('GET', '/api/requests');
  t.same(list.body.requests, [], 'nothing was stored');
});

t.test('bad logins and sessions', async (t) => {
  const anon = client(run.daemon.url);
  const r = await anon('POST', '/api/session', { id: 'clerk1', password: 'wrong-password-1' });
  t.equal(r.status, 401);
  const unknown = await anon('POST', '/api/session', { id: 'ghost', password: 'wrong-password-1' });
  t.equal(unknown.status, 401);
  t.equal(unknown.body.error.message, r.body.error.message, 'an unknown id and a wrong password look the same');
  const forged = await client(run.daemon.url, 'not-a-real-token')('GET', '/api/status');
  t.equal(forged.status, 401);
});
