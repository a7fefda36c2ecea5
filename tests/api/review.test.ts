/**
 * The masking review over HTTP on a running daemon, real footage (two faces walking,
 * analysed for faces and motion) and real models: GET /tracks gives targets, groups and
 * the masking report of the current plan; merge groups and the person mask are checked
 * with errors that name the group and the track at fault; a merged group unmasked by one
 * member is visible as a whole in the saved decision, in /tracks, in the preview frame's
 * plan and in the sealed package; the ledger says the masking in one line.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifyPackage } from '../../src/seal/index.js';
import { client, makeLobby, start, staff, testSettings, waitState, type Running } from './helpers.js';
import { boxDir } from '../helpers/box-dir.js';

const dir = boxDir('review');
const recordings = join(dir, 'rec');
let run: Running;

t.before(async () => {
  await makeLobby(recordings);
  run = await start(testSettings(dir, recordings));
});
t.teardown(() => run?.daemon.close());

interface TrackView {
  id: number;
  target: string;
  group: number | null;
  ownerId?: number;
  unmasked: boolean;
  fromSeconds: number;
  toSeconds: number;
}

t.test('merge groups, person mask, masking report', async (t) => {
  const base = run.daemon.url;
  const tokens = await staff(base, run.token);
  const clerk = client(base, tokens.clerk);
  const approver = client(base, tokens.approver);
  const reg = await clerk('POST', '/api/requests', {
    requester: { name: '김민수', type: 'police', organisation: '서울경찰청' },
    purpose: '사건 수사',
    legalBasis: '개인정보 보호법 제18조 제2항 제7호',
    cameras: ['lobby'],
    range: { from: '2026-03-01T09:00:00+09:00', to: '2026-03-01T09:00:06+09:00' },
    expiresAfterDays: 1,
    targets: ['face', 'motion'],
  });
  t.equal(reg.status, 201, `registered${reg.status === 201 ? '' : `: ${JSON.stringify(reg.body)}`}`);
  const id = reg.body.id as string;
  t.same({ personMask: reg.body.review.personMask, groups: reg.body.review.groups }, { personMask: 'head', groups: [] }, 'a new request: persons by head, no groups');
  await clerk('POST', `/api/requests/${id}/receive`);
  t.equal((await approver('POST', `/api/requests/${id}/approve`)).status, 200);
  await waitState(clerk, id, ['review']);

  const got = await approver('GET', `/api/requests/${id}/tracks`);
  t.equal(got.status, 200, `tracks read${got.status === 200 ? '' : `: ${JSON.stringify(got.body)}`}`);
  const tracks = got.body.tracks as TrackView[];
  const faces = tracks.filter((x) => x.target === 'face');
  const motion = tracks.filter((x) => x.target === 'motion');
  t.comment(`tracks: ${tracks.length} (${faces.length} face, ${motion.length} motion); report frames ${got.body.report.frames}, masked share mean ${got.body.report.maskedShare.mean}, max ${got.body.report.maskedShare.max}; unexplained motion ${JSON.stringify(got.body.report.unexplainedMotion)}`);
  t.ok(faces.length >= 2, `at least two face tracks (${faces.length})`);
  t.ok(motion.length >= 1, `at least one unexplained-motion track (${motion.length})`);
  t.equal(got.body.personMask, 'head');
  t.same(got.body.groups, []);
  t.ok(tracks.every((x) => x.group === null && x.unmasked === false), 'nothing merged, nothing visible yet');
  const report = got.body.report;
  t.equal(report.tracks.length, tracks.length, 'the report covers every track');
  t.ok(report.tracks.every((x: { masked: boolean }) => x.masked), 'the report: every track masked by default');
  t.ok(report.maskedSharePerSecond.length >= 5 && report.maskedSharePerSecond.length <= 7, `one masked share per second (${report.maskedSharePerSecond.length}: ${report.maskedSharePerSecond.join(', ')})`);
  t.ok(report.maskedSharePerSecond.every((s: number) => s >= 0 && s <= 1), 'shares lie in [0, 1]');
  t.ok(report.maskedShare.max > 0, 'something is masked');

  const [a, b] = [faces[0]!.id, faces[1]!.id];
  const put = (body: unknown) => approver('PUT', `/api/requests/${id}/review`, body);
  const refused = async (body: unknown, re: RegExp, what: string) => {
    const r = await put(body);
    t.equal(r.status, 400, `${what}: 400`);
    t.match(r.body?.error?.message ?? '', re, `${what}: "${r.body?.error?.message}"`);
  };
  await refused({ groups: [[a, 9999]] }, /groups\[0\]: no track 9999 in this analysis/, 'an unknown id');
  await refused({ groups: [[a, b], [b, motion[0]!.id]] }, new RegExp(`groups: track ${b} is in groups\\[0\\] and groups\\[1\\]`), 'a track in two groups');
  await refused({ groups: [[a, motion[0]!.id]] }, new RegExp(`groups\\[0\\]: track ${a} is a face and track ${motion[0]!.id} a motion; only tracks of one target`), 'mixed targets');
  await refused({ groups: [[a]] }, /groups\[0\]: a merge group needs at least two tracks/, 'a group of one');
  await refused({ groups: [[a, a]] }, new RegExp(`groups\\[0\\]: track ${a} is listed twice`), 'a track twice in one group');
  await refused({ personMask: 'torso' }, /personMask/, 'an unknown person mask');
  t.same([got.body.report.degraded, got.body.acceptedDegraded], [[], []], 'a still camera: no degraded stretch, none accepted');
  await refused({ acceptedDegraded: [0] }, /acceptedDegraded\[0\]: no degraded stretch 0 in this analysis \(it has 0\)/, 'accepting a degraded stretch that does not exist');
  await refused({ groups: [['x', b]] }, /groups/, 'a group of text');
  await refused({ groups: [[a, b]], extra: 1 }, /additional|extra/, 'an unknown field');
  const unchanged = await approver('GET', `/api/requests/${id}`);
  t.same(unchanged.body.review.groups, [], 'refused changes are not saved');

  // Merge two face tracks and leave one member visible: the whole group is visible.
  const merged = await put({ groups: [[b, a]], unmasked: [b], personMask: 'body' });
  t.equal(merged.status, 200, `merge saved${merged.status === 200 ? '' : `: ${JSON.stringify(merged.body)}`}`);
  t.same(merged.body.review.groups, [[Math.min(a, b), Math.max(a, b)]], 'the group is saved (sorted)');
  t.same(merged.body.review.unmasked, [a, b].sort((x, y) => x - y), 'unmasking one member unmasks the group');
  t.equal(merged.body.review.personMask, 'body');
  t.match(merged.body.history.at(-1).note, new RegExp(`persons by body, 2 track\\(s\\) left visible, 1 merge group\\(s\\) \\(${Math.min(a, b)}\\+${Math.max(a, b)}\\)`), 'the change is recorded in the history');

  const after = await approver('GET', `/api/requests/${id}/tracks`);
  const byId = new Map((after.body.tracks as TrackView[]).map((x) => [x.id, x]));
  t.same([byId.get(a)!.group, byId.get(b)!.group], [0, 0], 'both tracks name their group');
  t.same([byId.get(a)!.unmasked, byId.get(b)!.unmasked], [true, true], 'both tracks visible in /tracks');
  t.equal(after.body.personMask, 'body');
  const reported = new Map((after.body.report.tracks as { id: number; masked: boolean }[]).map((x) => [x.id, x.masked]));
  t.same([reported.get(a), reported.get(b)], [false, false], 'the report of the current plan shows both visible');
  t.ok(after.body.report.maskedShare.mean < report.maskedShare.mean, `less is masked with the group visible (mean share ${after.body.report.maskedShare.mean} < ${report.maskedShare.mean})`);

  // The preview frame uses the same plan.
  const mid = (Math.max(faces[0]!.fromSeconds, faces[1]!.fromSeconds) + Math.min(faces[0]!.toSeconds, faces[1]!.toSeconds)) / 2;
  const frame = await approver('GET', `/api/requests/${id}/review/frame?t=${Math.max(0, Math.min(5.5, mid)).toFixed(2)}&masked=true`);
  t.equal(frame.status, 200);
  const shown = (frame.headers.get('x-veilport-visible-tracks') ?? '').split(',').filter(Boolean).map(Number);
  t.ok(shown.includes(a) && shown.includes(b), `the preview plan leaves both members visible (${shown.join(',')})`);

  // A later save that lists one member only still keeps the group whole.
  const again = await put({ unmasked: [a] });
  t.same(again.body.review.unmasked, [a, b].sort((x, y) => x - y), 'normalised again on every save');
  // Undo the merge, then mask both: the decision is per track again.
  const undone = await put({ groups: [], unmasked: [] });
  t.same([undone.body.review.groups, undone.body.review.unmasked], [[], []], 'merge undone, both masked');
  const dismiss = motion[0]!.id;
  const final = await put({ groups: [[a, b]], unmasked: [a, dismiss], personMask: 'head' });
  t.same(final.body.review.unmasked, [a, b, dismiss].sort((x, y) => x - y), 'merged again and one unexplained motion dismissed');

  t.equal((await approver('POST', `/api/requests/${id}/review/confirm`)).body.state, 'rendering');
  const sealed = await waitState(clerk, id, ['sealed']);
  const dl = await clerk('GET', `/api/requests/${id}/package`);
  const file = join(dir, 'review.vpkg');
  writeFileSync(file, dl.bytes);
  const verified = await verifyPackage(file, { trustedPublicKeys: [run.daemon.ctx.signer.publicKey] });
  const visibleInPackage = verified.manifest.masking.tracksUnmasked.map((x: { id: number }) => x.id).sort((x: number, y: number) => x - y);
  t.same(visibleInPackage, [a, b, dismiss].sort((x, y) => x - y), `the package leaves exactly the group and the dismissed motion visible (${visibleInPackage.join(',')})`);
  t.equal(verified.manifest.masking.personMask, 'head');
  t.ok(sealed.package.packageId);

  const auditor = client(base, tokens.auditor);
  const csv = await auditor('GET', '/api/ledger.csv');
  const line = (csv.body as string).split('\r\n').find((l) => l.startsWith(id)) ?? '';
  t.comment(`ledger CSV masking: ${/사람\([^,"]*[^"]*/.exec(line)?.[0]}`);
  t.match(line, /사람\(머리\) 0명 가림·0명 공개/, 'the CSV row says the persons (none in this footage)');
  t.match(line, new RegExp(`얼굴 ${faces.length - 2} 가림·1 공개`), 'the merged faces count once, visible');
  t.match(line, new RegExp(`설명되지 않은 움직임 ${motion.length - 1}건 가림, 1건 해제, 화면의 평균 \\d+(\\.\\d+)?%`), 'unexplained motion: masked, dismissed, share');
  t.match(line, /persons \(head\) 0 masked, 0 left visible/, 'and in English');
  const html = await auditor('GET', '/api/ledger/report');
  t.match(html.body, /class="masking">사람\(머리\)/, 'the printed report has the masking line');
});
