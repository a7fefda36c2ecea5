/**
 * The whole legal procedure through HTTP on a running daemon, real footage and real
 * models: bootstrap, accounts, register, receive, approve (another account), analyse,
 * review (one track left visible, one manual region), render, password, download,
 * verify, expiry and destruction; the ledger and the access log hold every step.
 */
import t from 'tap';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifyPackage } from '../../src/seal/index.js';
import { client, login, makeLobby, PASSWORDS, start, staff, testSettings, waitState, type Running } from './helpers.js';
import { boxDir } from '../helpers/box-dir.js';

const dir = boxDir('procedure');
const recordings = join(dir, 'rec');
let offsetMs = 0;
let run: Running;

t.before(async () => {
  await makeLobby(recordings);
  run = await start(testSettings(dir, recordings), () => new Date(Date.now() + offsetMs));
});
t.teardown(() => run?.daemon.close());

t.test('bootstrap token is printed once, on the console, and is one-time', async (t) => {
  t.match(run.token, /\S{16,}/, 'a token was printed');
  t.notMatch(run.lines.join('\n'), /password/i, 'no default password is printed');
});

t.test('request to destruction', async (t) => {
  const base = run.daemon.url;
  const tokens = await staff(base, run.token);
  const again = await client(base)('POST', '/api/bootstrap', { token: run.token, id: 'admin2', displayName: 'x', password: 'Another-Pass-19' });
  t.equal(again.status >= 400 && again.status < 500, true, `the bootstrap token works once (${again.status})`);

  const clerk = client(base, tokens.clerk);
  const approver = client(base, tokens.approver);
  const viewer = client(base, tokens.viewer);

  const cams = await clerk('GET', '/api/cameras');
  t.same(cams.body.cameras, ['lobby']);
  const recs = await clerk('GET', '/api/cameras/lobby/recordings?from=2026-03-01T00:00:00Z&to=2026-03-01T00:00:10Z');
  t.equal(recs.status, 200);
  t.equal(recs.body.pieces.length, 1, 'one recorded piece');
  t.equal(recs.body.gaps.length, 1, 'the unrecorded tail is a gap');

  const reg = await clerk('POST', '/api/requests', {
    requester: { name: '홍길동', phone: '010-1234-5678', idNumber: '900101-1234567', organisation: null, type: 'subject' },
    purpose: '본인 영상 확인 (own footage)',
    legalBasis: '개인정보 보호법 제35조',
    documentNumber: 'DOC-2026-0301',
    cameras: ['lobby'],
    range: { from: '2026-03-01T09:00:00+09:00', to: '2026-03-01T09:00:06+09:00' },
    expiresAfterDays: 1,
    targets: ['face'],
  });
  t.equal(reg.status, 201, JSON.stringify(reg.body));
  const id = reg.body.id as string;
  t.match(id, /^\d{8}-\d{3}$/);
  t.equal(reg.body.requester.name, '홍길동', 'the clerk sees the personal data');

  const raw = [...run.daemon.ctx.store.db('requests').getRange()].map((e) => JSON.stringify(e.value)).join('');
  t.notMatch(raw, /홍길동|010-1234-5678|900101/, 'personal data is encrypted at rest');

  t.equal((await approver('POST', `/api/requests/${id}/approve`)).status, 409, 'cannot approve before reception');
  t.equal((await clerk('POST', `/api/requests/${id}/receive`)).body.state, 'received');
  t.equal((await clerk('POST', `/api/requests/${id}/approve`)).status, 403, 'a clerk cannot approve');
  const approved = await approver('POST', `/api/requests/${id}/approve`);
  t.equal(approved.status, 200, JSON.stringify(approved.body));
  t.equal(approved.body.approvedBy, 'approver1');

  const inReview = await waitState(clerk, id, ['review']);
  t.ok(inReview.analysisKey, 'analysis stored');
  const tracks = await approver('GET', `/api/requests/${id}/tracks`);
  t.equal(tracks.status, 200);
  t.ok(tracks.body.tracks.length >= 2, `${tracks.body.tracks.length} tracks`);
  // The subject walks along the bottom of the frame.
  const subject = tracks.body.tracks.find((tr: { points: { y: number }[] }) => tr.points.every((p) => p.y > 150));
  t.ok(subject, 'the subject track is found');
  const thumb = await approver('GET', `/api/requests/${id}/tracks/${subject.id}/thumbnail`);
  t.equal(thumb.status, 200);
  t.same([...thumb.bytes.subarray(1, 4)], [0x50, 0x4e, 0x47], 'thumbnail is a PNG');
  t.equal((await clerk('GET', `/api/requests/${id}/tracks`)).status, 403, 'a clerk does not review');

  const bad = await approver('PUT', `/api/requests/${id}/review`, { unmasked: [9999] });
  t.equal(bad.status, 400);
  t.match(bad.body.error.message, /no track 9999/);
  const review = await approver('PUT', `/api/requests/${id}/review`, { style: 'mosaic', unmasked: [subject.id], manualRegions: [{ x: 10, y: 10, w: 50, h: 40, fromSeconds: 1, toSeconds: 3 }] });
  t.equal(review.status, 200, JSON.stringify(review.body));
  t.same(review.body.review.unmasked, [subject.id]);
  t.equal((await approver('POST', `/api/requests/${id}/review/confirm`)).body.state, 'rendering');

  const sealed = await waitState(clerk, id, ['sealed']);
  t.ok(sealed.package.packageId, 'package recorded');
  t.notOk('password' in sealed.package, 'the password is not in the request view');

  const viewerStatus = await viewer('GET', '/api/status');
  t.equal(viewerStatus.status, 200);
  t.notMatch(JSON.stringify(viewerStatus.body), /홍길동|010-1234/, 'status carries no personal data');
  t.equal((await viewer('GET', `/api/requests/${id}`)).status, 403, 'a viewer sees no requests');

  const pw = await clerk('POST', `/api/requests/${id}/password`);
  t.match(pw.body.password, /^[0-9A-Z]{5}(-[0-9A-Z]{5}){3}$/);
  const dl = await clerk('GET', `/api/requests/${id}/package`);
  t.equal(dl.status, 200);
  t.equal(dl.headers.get('x-veilport-package-id'), sealed.package.packageId);
  const file = join(dir, 'downloaded.vpkg');
  writeFileSync(file, dl.bytes);
  const verified = await verifyPackage(file, { trustedPublicKeys: [run.daemon.ctx.signer.publicKey] });
  t.equal(verified.manifest.caseId, id, 'the package is authentic and names the request');
  t.same(verified.manifest.masking.tracksUnmasked.map((x: { id: number }) => x.id), [subject.id], 'the reviewed track is left visible');
  t.equal(verified.manifest.masking.manualRegions, 1);
  t.equal((await clerk('GET', `/api/requests/${id}`)).body.state, 'delivered');
  const player = await clerk('GET', '/api/player');
  t.equal(player.status, 200, 'the offline player is handed out beside the package');
  t.match(player.headers.get('content-disposition'), /veilport-player\.html/);
  t.match(player.body, Buffer.from(run.daemon.ctx.signer.publicKey).toString('hex'), "the player pins this appliance's key");

  // Two days later the package has expired: the sweep deletes it and the ledger records it.
  const onBox = join(run.daemon.ctx.workflow.exportsDir, `${id}.vpkg`);
  t.ok(existsSync(onBox), 'package on the box until expiry');
  offsetMs = 2 * 86_400_000;
  const swept = await run.daemon.ctx.workflow.sweep();
  t.same(swept.destroyed, [id]);
  t.notOk(existsSync(onBox), 'package deleted');
  // Two days on, every session has expired too: log in again.
  const clerk2 = client(base, await login(base, 'clerk1', PASSWORDS.clerk));
  const auditor2 = client(base, await login(base, 'auditor1', PASSWORDS.auditor));
  t.equal((await clerk('GET', `/api/requests/${id}`)).status, 401, 'the old session expired');
  const destroyed = await clerk2('GET', `/api/requests/${id}`);
  t.equal(destroyed.body.state, 'destroyed');
  t.equal(destroyed.body.destruction.reason, 'expired');
  t.equal((await clerk2('GET', `/api/requests/${id}/package`)).status, 410, 'no delivery after destruction (410: gone)');
  t.ok(destroyed.body.destruction.removed.includes('package password'), `expiry removes the derivatives too: ${destroyed.body.destruction.removed.join(', ')}`);

  const ledger = await auditor2('GET', '/api/ledger');
  t.equal(ledger.status, 200);
  t.equal(ledger.body.rows.length, 1);
  const states = destroyed.body.history.map((h: { to: string }) => h.to);
  t.same(states, ['registered', 'received', 'approved', 'analysing', 'review', 'review', 'rendering', 'sealed', 'delivered', 'destroyed'], 'the whole story in order');
  const csv = await auditor2('GET', '/api/ledger.csv');
  t.same([...csv.bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'CSV starts with a BOM for Excel');
  t.match(csv.body, new RegExp(id));
  const report = await auditor2('GET', '/api/ledger/report');
  t.match(report.headers.get('content-type'), /text\/html/);
  t.match(report.body, /관리대장/);

  const log = await auditor2('GET', '/api/access-log?limit=500');
  const actions = log.body.entries.map((e: { account: string; action: string; target: string }) => `${e.account} ${e.action} ${e.target}`);
  for (const want of [
    'clerk1 create request:' + id,
    'clerk1 modify request:' + id,
    'approver1 modify request:' + id,
    'approver1 view request:' + id + '/tracks',
    'approver1 export request:' + id,
    'clerk1 view request:' + id + '/password',
    'clerk1 download request:' + id + '/package',
    'clerk1 login account:clerk1',
    'admin1 create account:clerk1',
    'auditor1 download ledger.csv',
    'auditor1 print ledger/report',
  ]) t.ok(actions.includes(want), `access log has "${want}"`);
  t.notMatch(JSON.stringify(log.body), /홍길동|010-1234/, 'the access log holds no requester personal data');
  const verify = await auditor2('GET', '/api/audit/verify');
  t.equal(verify.body.ok, true, 'access log chain intact');
});
