/**
 * The other paths of the procedure: batch mode without review and without expiry
 * (court), closed by a destruction notice; rejection; a failed analysis that says why,
 * raises an alert and succeeds on retry; the unusual-volume alert; cancelling a job.
 */
import t from 'tap';
import { renameSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { client, login, makeLobby, PASSWORDS, start, staff, testSettings, waitState, type Running } from './helpers.js';
import type { AlertEvent } from '../../src/workflow/events.js';
import { boxDir } from '../helpers/box-dir.js';

const dir = boxDir('variants');
const recordings = join(dir, 'rec');
let run: Running;
let offsetMs = 0;
const alerts: AlertEvent[] = [];

t.before(async () => {
  await makeLobby(recordings);
  run = await start(testSettings(dir, recordings, { alerts: { exportsPerDay: 5, downloadsPerDay: 1 } }), () => new Date(Date.now() + offsetMs));
  run.daemon.ctx.bus.on('alert', (a) => alerts.push(a));
});
t.teardown(() => run?.daemon.close());

const base = {
  requester: { name: '박민수', type: 'court' as const, organisation: '서울중앙지방법원' },
  purpose: '재판 증거 제출 (court evidence)',
  legalBasis: '민사소송법 제344조',
  documentNumber: '2026가합1234',
  cameras: ['lobby'],
  range: { from: '2026-03-01T00:00:00Z', to: '2026-03-01T00:00:05Z' },
  targets: ['face'],
};

t.test('variants', async (t) => {
  const url = run.daemon.url;
  const tokens = await staff(url, run.token);
  const clerk = client(url, tokens.clerk);
  const approver = client(url, tokens.approver);
  const walk = async (body: object) => {
    const id = (await clerk('POST', '/api/requests', body)).body.id as string;
    await clerk('POST', `/api/requests/${id}/receive`);
    const a = await approver('POST', `/api/requests/${id}/approve`);
    t.equal(a.status, 200, JSON.stringify(a.body));
    return id;
  };

  t.test('batch, no expiry, destruction notice', async (t) => {
    const id = await walk({ ...base, batch: true, expiresAfterDays: null });
    const sealed = await waitState(clerk, id, ['sealed']);
    t.notOk(sealed.history.some((h: { to: string }) => h.to === 'review'), 'batch mode skips review');
    t.equal(sealed.package.expiresAt, null, 'no expiry');
    const pkg = await clerk('GET', `/api/requests/${id}/package`);
    t.equal(pkg.status, 200);
    const swept = await run.daemon.ctx.workflow.sweep();
    t.same(swept.destroyed, [], 'a package without expiry is not destroyed by time');
    t.equal((await clerk('POST', `/api/requests/${id}/destruction-notice`, { noticeRef: '' })).status, 400, 'the notice needs its reference');
    const done = await clerk('POST', `/api/requests/${id}/destruction-notice`, { noticeRef: '서울중앙지법 2026-파기-77' });
    t.equal(done.status, 200, JSON.stringify(done.body));
    t.equal(done.body.state, 'destroyed');
    t.equal(done.body.destruction.noticeRef, '서울중앙지법 2026-파기-77');
    t.notOk(existsSync(join(run.daemon.ctx.workflow.exportsDir, `${id}.vpkg`)), 'the box copy is deleted');
  });

  t.test('rejection', async (t) => {
    const id = (await clerk('POST', '/api/requests', base)).body.id as string;
    await clerk('POST', `/api/requests/${id}/receive`);
    t.equal((await approver('POST', `/api/requests/${id}/reject`, {})).status, 400, 'a rejection needs a reason');
    const r = await approver('POST', `/api/requests/${id}/reject`, { reason: '제3자 사생활 침해 우려 (third-party privacy)' });
    t.equal(r.body.state, 'rejected');
    t.equal(r.body.history.at(-1).note, '제3자 사생활 침해 우려 (third-party privacy)');
    t.equal((await approver('POST', `/api/requests/${id}/approve`)).status, 409, 'a rejected request cannot be approved');
  });

  t.test('a failed analysis says why, alerts, and succeeds on retry', async (t) => {
    const seg = join(recordings, 'lobby', '2026-03-01', '00-00-00.mp4');
    renameSync(seg, seg + '.away');
    const id = await walk(base);
    const failed = await waitState(clerk, id, ['failed']);
    t.match(failed.failure, /analyse failed: .*no recordings|analyse failed/, `failure recorded: ${failed.failure}`);
    t.ok(alerts.some((a) => a.kind === 'job-failed' && a.requestId === id), 'job-failed alert');
    renameSync(seg + '.away', seg);
    t.equal((await clerk('POST', `/api/requests/${id}/retry`)).status, 200);
    await waitState(clerk, id, ['review']);
  });

  t.test('unusual download volume raises an alert', async (t) => {
    const id = await walk({ ...base, batch: true });
    await waitState(clerk, id, ['sealed']);
    await clerk('GET', `/api/requests/${id}/package`);
    await clerk('GET', `/api/requests/${id}/package`);
    const a = alerts.find((x) => x.kind === 'unusual-volume');
    t.ok(a, 'alert raised');
    t.match(a?.message, /clerk1 made \d+ downloads today \(threshold 1\)/);

    // Delivered: the box keeps its copy for the grace period (72 h), then deletes it; the
    // recipient's copy lives on until its expiry (14 days), so the request stays delivered.
    const onBox = join(run.daemon.ctx.workflow.exportsDir, `${id}.vpkg`);
    offsetMs = 71 * 3600_000;
    t.same((await run.daemon.ctx.workflow.sweep()).removed, [], 'kept within the grace period');
    offsetMs = 73 * 3600_000;
    t.same((await run.daemon.ctx.workflow.sweep()).removed, [id], 'removed after it');
    offsetMs = 0;
    t.notOk(existsSync(onBox), 'the box copy is gone');
    const r = run.daemon.ctx.workflow.load(id);
    t.equal(r.state, 'delivered');
    t.ok(r.package?.removedAt, 'removal recorded');
    t.equal((await clerk('GET', `/api/requests/${id}/package`)).status, 409, 'cannot be downloaded again');
  });

  t.test('separation of duties survives a role change', async (t) => {
    const id = (await clerk('POST', '/api/requests', base)).body.id as string;
    await clerk('POST', `/api/requests/${id}/receive`);
    const admin = client(url, tokens.admin);
    t.equal((await admin('PATCH', '/api/accounts/clerk1', { role: 'approver' })).status, 200);
    const promoted = client(url, await login(url, 'clerk1', PASSWORDS.clerk));
    const r = await promoted('POST', `/api/requests/${id}/approve`);
    t.equal(r.status, 403);
    t.match(r.body.error.message, /separation of duties: clerk1 registered request/);
    t.equal((await admin('PATCH', '/api/accounts/clerk1', { role: 'clerk' })).status, 200);
    const changes = (await admin('GET', '/api/role-changes?account=clerk1')).body.changes as { from: string | null; to: string }[];
    t.same(changes.map((c) => `${c.from}->${c.to}`), ['null->clerk', 'clerk->approver', 'approver->clerk'], 'grants and changes recorded');
  });

  t.test('cancel a queued job', async (t) => {
    // One job at a time: the second request's analysis waits behind the first.
    const first = await walk({ ...base, range: { from: '2026-03-01T00:00:00Z', to: '2026-03-01T00:00:06Z' } });
    const id = await walk({ ...base, range: { from: '2026-03-01T00:00:01Z', to: '2026-03-01T00:00:06Z' } });
    const jobs = (await clerk('GET', '/api/jobs')).body.jobs as { id: string; requestId: string; state: string }[];
    const job = jobs.find((j) => j.requestId === id && j.state === 'queued')!;
    t.ok(job, 'second job queued');
    t.equal((await clerk('POST', `/api/jobs/${job.id}/cancel`)).status, 200);
    const failed = await waitState(clerk, id, ['failed']);
    t.match(failed.failure, /cancelled/);
    t.equal((await clerk('POST', `/api/jobs/${job.id}/cancel`)).status, 409, 'a cancelled job cannot be cancelled again');
    await waitState(clerk, first, ['review']);
  });
});
