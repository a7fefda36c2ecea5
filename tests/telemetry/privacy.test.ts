/**
 * A console subscribed to `#` during a full export (register, receive, approve,
 * analyse, review, render, deliver, destruction notice, an unusual-volume alert) sees
 * job progress, request events and alerts, and never the requester's name, phone, ID
 * number, organisation, document number or purpose. Then `/metrics` counts the jobs
 * and their durations, and every payload validates against its documented schema.
 */
import t from 'tap';
import { join } from 'node:path';
import { client, makeLobby, start, staff, testSettings, waitState } from '../api/helpers.js';
import { baseTopicFor } from '../../src/telemetry/telemetry.js';
import { Capture, startBroker, validators, type Broker } from './broker.js';
import { boxDir } from '../helpers/box-dir.js';

const dir = boxDir('privacy');
const recordings = join(dir, 'rec');
let broker: Broker;

t.before(async () => {
  broker = await startBroker(join(dir, 'broker'));
  await makeLobby(recordings, 4);
});
t.teardown(async () => {
  await broker?.stop();
});

const REQUESTER = { name: '김철수', phone: '010-9876-5432', idNumber: '850315-2345678', organisation: '강남경찰서 수사과', type: 'police' as const };
const DOCUMENT = '수사협조-2026-0777';
const PURPOSE = '뺑소니 사건 수사 (hit-and-run investigation)';
/** Anything that would identify the requester, in the forms it could take. */
const FORBIDDEN = [REQUESTER.name, REQUESTER.phone, REQUESTER.phone.replaceAll('-', ''), REQUESTER.idNumber, REQUESTER.idNumber.replace('-', ''), '850315', REQUESTER.organisation, '강남경찰서', DOCUMENT, '0777', PURPOSE, '뺑소니'];

t.test('no personal data in any payload during a full export', async (t) => {
  const cap = await Capture.open(broker, '#');
  t.teardown(() => cap.close());
  const settings = testSettings(dir, recordings, {
    mqtt: { url: broker.url, username: broker.user.username, passwordFile: broker.user.passwordFile, metricsSeconds: 1, homeAssistant: true },
    alerts: { exportsPerDay: 20, downloadsPerDay: 1 },
  });
  const run = await start(settings);
  t.teardown(() => run.daemon.close());
  const base = baseTopicFor(settings, run.daemon.ctx.signer.applianceId);
  const url = run.daemon.url;
  const tokens = await staff(url, run.token);
  const clerk = client(url, tokens.clerk);
  const approver = client(url, tokens.approver);

  const reg = await clerk('POST', '/api/requests', {
    requester: REQUESTER,
    purpose: PURPOSE,
    legalBasis: '개인정보 보호법 제18조 제2항 제7호',
    documentNumber: DOCUMENT,
    cameras: ['lobby'],
    range: { from: '2026-03-01T00:00:00Z', to: '2026-03-01T00:00:04Z' },
    expiresAfterDays: null,
    targets: ['face'],
  });
  t.equal(reg.status, 201, reg.status === 201 ? 'registered' : JSON.stringify(reg.body));
  const id = reg.body.id as string;
  await clerk('POST', `/api/requests/${id}/receive`);
  t.equal((await approver('POST', `/api/requests/${id}/approve`)).status, 200, 'approved');
  await waitState(clerk, id, ['review']);
  t.equal((await approver('POST', `/api/requests/${id}/review/confirm`)).status, 200, 'review confirmed');
  await waitState(clerk, id, ['sealed']);
  await clerk('POST', `/api/requests/${id}/password`);
  t.equal((await clerk('GET', `/api/requests/${id}/package`)).status, 200, 'downloaded');
  t.equal((await clerk('GET', `/api/requests/${id}/package`)).status, 200, 'a second download (above the daily limit of 1: an alert)');
  const notice = await clerk('POST', `/api/requests/${id}/destruction-notice`, { noticeRef: '강남서-파기-2026-12' });
  t.equal(notice.body.state, 'destroyed', 'destruction notice recorded');

  await cap.until((s) => s.some((m) => m.topic === `${base}/events` && JSON.parse(m.text).to === 'destroyed'), 10_000, 'the destroyed event');
  await cap.until((s) => s.some((m) => m.topic === `${base}/alerts` && JSON.parse(m.text).kind === 'unusual-volume'), 10_000, 'the alert');
  await cap.until((s) => s.some((m) => m.topic === `${base}/metrics`), 10_000, 'metrics');

  const events = cap.on('events').map((m) => JSON.parse(m.text));
  t.same(events.map((e) => e.to), ['registered', 'received', 'approved', 'analysing', 'review', 'rendering', 'sealed', 'delivered', 'destroyed'], 'every state change of the request, in order');
  t.ok(events.every((e) => e.requestId === id), 'named by the request id');
  const jobs = cap.seen.filter((m) => m.topic.startsWith(`${base}/jobs/`)).map((m) => JSON.parse(m.text));
  const outcomes = jobs.filter((j) => j.seq !== undefined).map((j) => `${j.kind}:${j.state}`);
  t.same(outcomes, ['analyse:queued', 'analyse:running', 'analyse:done', 'render:queued', 'render:running', 'render:done'].filter((o) => outcomes.includes(o)), 'job state changes in order');
  t.ok(outcomes.includes('analyse:done') && outcomes.includes('render:done'), 'both jobs report their outcome');
  t.ok(jobs.filter((j) => j.state === 'done').every((j) => j.durationSeconds > 0), 'with their durations');

  const payloads = cap.seen.map((m) => `${m.topic} ${m.text}`);
  t.ok(payloads.length > 20, `${payloads.length} payloads captured`);
  const leaks = payloads.filter((p) => FORBIDDEN.some((f) => p.includes(f)));
  t.same(leaks, [], 'no requester name, phone, ID number, organisation, document number or purpose in any payload');

  const metrics = await (await fetch(url + '/metrics')).text();
  t.match(metrics, /^veilport_jobs_finished_total\{kind="analyse",outcome="done"\} 1$/m, '/metrics: the analysis counted');
  t.match(metrics, /^veilport_jobs_finished_total\{kind="render",outcome="done"\} 1$/m, '/metrics: the render counted');
  t.match(metrics, /^veilport_job_duration_seconds_count\{kind="render",outcome="done"\} 1$/m, '/metrics: its duration in the histogram');
  t.match(metrics, /^veilport_job_duration_seconds_bucket\{kind="render",outcome="done",le="\+Inf"\} 1$/m, '/metrics: +Inf bucket');
  t.match(metrics, /^veilport_requests\{state="destroyed"\} 1$/m, '/metrics: request states');
  t.match(metrics, /^veilport_alerts_total\{kind="unusual-volume"\} 1$/m, '/metrics: alerts');
  t.match(metrics, /^veilport_last_export_timestamp_seconds \d+(\.\d+)?$/m, '/metrics: last export');
  t.notOk(FORBIDDEN.some((f) => metrics.includes(f)), '/metrics holds no personal data either');
  // Every sample line is "name{labels} value" (the text format 0.0.4).
  const bad = metrics.split('\n').filter((l) => l && !l.startsWith('#') && !/^[a-z_:][a-z0-9_:]*(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? (-?[0-9.e+]+|\+Inf|NaN)$/.test(l));
  t.same(bad, [], 'well-formed exposition lines');

  const check = validators();
  const failures = cap.seen.map((s) => ({ s, r: check(s) })).filter((x) => x.r.errors).map((x) => `${x.s.topic}: ${x.r.errors}: ${x.s.text.slice(0, 160)}`);
  t.same(failures, [], 'every payload validates against its documented schema');
  t.ok(cap.seen.some((m) => m.topic.includes('/jobs/') && !m.text.includes('"seq"')), 'progress updates seen too');
});
