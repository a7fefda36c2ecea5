/**
 * Separation of duties and destruction on a running daemon with real footage:
 * a registrar later promoted to approver can take no approver step on their own request
 * (approve, reject, tracks, review, confirm, clip); an admin cannot act on requests nor
 * change their own role; destroying a request removes its package, analysis, track
 * thumbnails, review clip and password, the ledger says which, and their routes answer
 * 410; a destruction notice only for a delivered package without expiry. Startup
 * removes stale partial files and says so.
 */
import t from 'tap';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { client, login, makeLobby, start, staff, testSettings, waitState, type Running } from './helpers.js';
import { boxDir } from '../helpers/box-dir.js';

const dir = boxDir('duties-destruction');
const recordings = join(dir, 'rec');
const data = join(dir, 'data');
const stale = [join(data, 'review-cache', '0123abcd-640.mp4.partial'), join(data, 'exports', '20260301-009.vpkg.partial'), join(data, 'analyses', '0123abcd', 'analysis.json.tmp')];
let run: Running;

t.before(async () => {
  await makeLobby(recordings);
  for (const f of stale) {
    mkdirSync(join(f, '..'), { recursive: true });
    writeFileSync(f, 'left by a crash');
  }
  writeFileSync(join(data, 'review-cache', 'keep-640.mp4'), 'a finished clip stays');
  run = await start(testSettings(dir, recordings));
});
t.teardown(() => run?.daemon.close());

t.test('startup removes stale partial files and says so', async (t) => {
  for (const f of stale) t.notOk(existsSync(f), `${f.slice(data.length + 1)} removed`);
  t.ok(existsSync(join(data, 'review-cache', 'keep-640.mp4')), 'finished files are left alone');
  const said = run.lines.filter((l) => /stale file/.test(l));
  t.equal(said.length, 3, 'one console line per file');
  t.match(said.join('\n'), /removed a stale file left by an interrupted run: review-cache\/0123abcd-640\.mp4\.partial \(unfinished review clip, clear video\)/);
  for (const l of said) t.comment(l);
});

t.test('duties and destruction', async (t) => {
  const base = run.daemon.url;
  const tokens = await staff(base, run.token);
  const admin = client(base, tokens.admin);
  const approver = client(base, tokens.approver);
  // A second clerk, for the hand-over once clerk1 has been made approver.
  t.equal((await admin('POST', '/api/accounts', { id: 'clerk2', displayName: '박주무관', role: 'clerk', password: 'Temp-Hand-Word-83' })).status, 201);
  const first = await login(base, 'clerk2', 'Temp-Hand-Word-83');
  await client(base, first)('POST', '/api/session/password', { current: 'Temp-Hand-Word-83', next: 'Lantern#Bay-64' });
  const clerk2 = client(base, await login(base, 'clerk2', 'Lantern#Bay-64'));
  const clerk1 = client(base, tokens.clerk);

  const register = async (to: string, expiresAfterDays: number | null) => {
    const r = await clerk1('POST', '/api/requests', {
      requester: { name: '김철수', type: 'court', organisation: '서울중앙지방법원' },
      purpose: '재판 증거 (court evidence)', legalBasis: '민사소송법 제344조', cameras: ['lobby'],
      range: { from: '2026-03-01T00:00:00Z', to }, expiresAfterDays, targets: ['face'],
    });
    t.equal(r.status, 201, JSON.stringify(r.body).slice(0, 200));
    t.equal((await clerk1('POST', `/api/requests/${r.body.id}/receive`)).status, 200);
    return r.body.id as string;
  };
  const A = await register('2026-03-01T00:00:04Z', null); // court submission: no expiry
  const B = await register('2026-03-01T00:00:03Z', 7); // expires
  const C = await register('2026-03-01T00:00:02Z', null);

  // The registrar is made approver (by an admin: the role table allows it).
  const promoted = await admin('PATCH', '/api/accounts/clerk1', { role: 'approver' });
  t.equal(promoted.body.role, 'approver', 'clerk1 is now an approver');
  const duty = /^separation of duties: clerk1 (registered|received) request \d{8}-\d{3} and may not .+ it, whatever role the account has now$/;
  const refused = async (what: string, r: Promise<{ status: number; body: any }>) => { // eslint-disable-line @typescript-eslint/no-explicit-any
    const res = await r;
    t.equal(res.status, 403, `${what}: 403`);
    t.match(res.body?.error?.message, duty, `${what}: ${res.body?.error?.message}`);
  };
  await refused('approve own request', clerk1('POST', `/api/requests/${A}/approve`));
  await refused('reject own request', clerk1('POST', `/api/requests/${C}/reject`, { reason: '제가 접수한 것' }));

  for (const id of [A, B, C]) t.equal((await approver('POST', `/api/requests/${id}/approve`)).status, 200, `approver1 approves ${id}`);
  for (const id of [A, B]) await waitState(approver, id, ['review']);
  await refused('tracks of own request', clerk1('GET', `/api/requests/${A}/tracks`));
  await refused('a thumbnail of own request', clerk1('GET', `/api/requests/${A}/tracks/1/thumbnail`));
  await refused('the review clip of own request', clerk1('GET', `/api/requests/${A}/review/clip`));
  await refused('a review frame of own request', clerk1('GET', `/api/requests/${A}/review/frame?t=1&masked=false`));
  await refused('masking review of own request', clerk1('PUT', `/api/requests/${A}/review`, { style: 'blur', unmasked: [] }));
  await refused('confirm the masking of own request (unmask every track)', clerk1('POST', `/api/requests/${A}/review/confirm`));
  t.equal((await approver('GET', `/api/requests/${A}`)).body.state, 'review', 'the request is still waiting for review');
  t.equal((await approver('GET', `/api/requests/${A}`)).body.review.reviewedBy, null, 'and nobody reviewed it');

  // An admin acts neither as clerk nor as approver, and cannot make themselves one.
  for (const [m, p, b] of [['POST', '/api/requests', {}], ['POST', `/api/requests/${C}/receive`], ['POST', `/api/requests/${A}/approve`], ['PUT', `/api/requests/${A}/review`, {}], ['POST', `/api/requests/${A}/review/confirm`], ['POST', `/api/requests/${A}/password`]] as const) {
    t.equal((await admin(m, p, b)).status, 403, `admin ${m} ${p}: 403`);
  }
  // With a second admin, so that "the last admin" is not what stops it.
  t.equal((await admin('POST', '/api/accounts', { id: 'admin2', displayName: '부관리자', role: 'admin', password: 'Temp-Hand-Word-84' })).status, 201);
  const self = await admin('PATCH', '/api/accounts/admin1', { role: 'approver' });
  t.equal(self.status, 403, `admin makes themselves approver: ${self.body.error.message}`);
  t.match(self.body.error.message, /may not change their own role/);

  // The refusals are in the access log, counted per route.
  run.daemon.app.denials.flush(true);
  const denied = run.daemon.ctx.log.list({ account: 'clerk1', limit: 50 }).filter((e) => e.result === 'denied');
  t.ok(denied.length >= 7, `${denied.length} refusal entries for clerk1`);
  t.ok(denied.some((e) => e.target === 'POST /api/requests/:id/review/confirm' && /separation of duties/.test(e.detail ?? '')), 'the refused confirm is recorded with its reason');

  // The review material exists on the box before destruction.
  const tracks = await approver('GET', `/api/requests/${A}/tracks`);
  t.equal(tracks.status, 200);
  const trackId = tracks.body.tracks[0]?.id as number;
  t.ok(trackId, `${tracks.body.tracks.length} track(s) found`);
  t.equal((await approver('GET', `/api/requests/${A}/tracks/${trackId}/thumbnail`)).status, 200);
  const clip = await approver('GET', `/api/requests/${A}/review/clip`);
  t.equal(clip.status, 200, `review clip: ${clip.bytes.length} bytes`);
  const key = run.daemon.ctx.workflow.load(A).analysisKey!;
  const analysisDir = join(data, 'analyses', key);
  const thumbs = readdirSync(analysisDir).filter((f) => f.endsWith('.png'));
  t.ok(thumbs.length >= 1, `${thumbs.length} thumbnail file(s) in analyses/${key}`);
  t.ok(existsSync(join(data, 'review-cache', `${key}-640.mp4`)), 'the 640 px clear review clip is cached');

  for (const id of [A, B]) {
    t.equal((await approver('POST', `/api/requests/${id}/review/confirm`)).status, 200);
    await waitState(approver, id, ['sealed']);
  }
  const notice = (id: string) => clerk2('POST', `/api/requests/${id}/destruction-notice`, { noticeRef: '서울중앙지법 2026-파기-77' });
  const early = await notice(A);
  t.equal(early.status, 409, `a notice before delivery: ${early.body.error.message}`);
  t.match(early.body.error.message, /once the package was delivered/);
  for (const id of [A, B]) {
    t.equal((await clerk2('POST', `/api/requests/${id}/password`)).status, 200, `password of ${id} revealed to clerk2`);
    t.equal((await clerk2('GET', `/api/requests/${id}/package`)).status, 200, `${id} downloaded`);
  }
  const withExpiry = await notice(B);
  t.equal(withExpiry.status, 409, `a notice for a package that expires: ${withExpiry.body.error.message}`);
  t.match(withExpiry.body.error.message, /only for packages without expiry/);

  const done = await notice(A);
  t.equal(done.status, 200, JSON.stringify(done.body).slice(0, 300));
  t.equal(done.body.state, 'destroyed');
  t.same(done.body.destruction.removed, ['sealed package on the box', `analysis (tracks) with ${thumbs.length} track thumbnail(s)`, 'review clip (640 px, clear)', 'package password'], 'the ledger says what was removed');
  t.match(done.body.history.at(-1).note, /^destruction notice 서울중앙지법 2026-파기-77; removed: sealed package on the box, analysis \(tracks\) with \d+ track thumbnail\(s\), review clip \(640 px, clear\), package password$/);
  t.comment(`history: ${done.body.history.at(-1).note}`);
  t.notOk(existsSync(analysisDir), 'the analysis folder with its thumbnails is gone');
  t.notOk(existsSync(join(data, 'review-cache', `${key}-640.mp4`)), 'the review clip is gone');
  t.notOk(existsSync(join(run.daemon.ctx.workflow.exportsDir, `${A}.vpkg`)), 'the package is gone');
  t.equal(run.daemon.ctx.workflow.load(A).package!.password, null, 'the stored password is gone');

  const gone: [string, ReturnType<typeof client>, string, string][] = [
    ['tracks', approver, 'GET', `/api/requests/${A}/tracks`],
    ['thumbnail', approver, 'GET', `/api/requests/${A}/tracks/${trackId}/thumbnail`],
    ['review clip', approver, 'GET', `/api/requests/${A}/review/clip`],
    ['review frame', approver, 'GET', `/api/requests/${A}/review/frame?t=1&masked=false`],
    ['password', clerk2, 'POST', `/api/requests/${A}/password`],
    ['package', clerk2, 'GET', `/api/requests/${A}/package`],
  ];
  for (const [what, who, method, path] of gone) {
    const r = await who(method, path);
    t.equal(r.status, 410, `${what} after destruction: 410`);
    t.match(r.body?.error, { code: 'GONE', message: new RegExp(`^request ${A} was destroyed on \\S+ \\(destruction notice 서울중앙지법 2026-파기-77\\); its .+ no longer exists on this box$`) }, `${what}: ${r.body?.error?.message}`);
  }
  t.equal((await notice(A)).status, 410, 'a second notice: 410');
  t.equal((await clerk2('GET', `/api/requests/${A}`)).status, 200, 'the record itself stays (the ledger)');
  const bKey = run.daemon.ctx.workflow.load(B).analysisKey!;
  t.ok(existsSync(join(data, 'analyses', bKey)), 'the other request keeps its analysis');
});
