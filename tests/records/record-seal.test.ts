/**
 * The request records (the ledger's source) carry signed seals: requests written through
 * the workflow, by people and by the system, verify; then LMDB is edited directly, as
 * an attacker with the disk would (reviewedBy set, a decision's author changed, a record
 * inserted, a record deleted), and `veilport audit verify` names each record and fails.
 */
import t from 'tap';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { open } from 'lmdb';
import { openCore } from '../../src/daemon/daemon.js';
import { verifyRecordSeals } from '../../src/records/access-log.js';
import type { ExportRequest } from '../../src/workflow/types.js';
import type { Actor } from '../../src/workflow/permissions.js';
import { testSettings } from '../api/helpers.js';
import { runCli as run } from '../helpers/cli.js';
import { boxDir } from '../helpers/box-dir.js';

const dir = boxDir('record-seal');
const rec = join(dir, 'rec');
mkdirSync(join(rec, 'lobby'), { recursive: true });
const data = join(dir, 'data');
const clerk: Actor = { account: 'kim', role: 'clerk', ip: '192.0.2.7' };
const ids: string[] = [];

/** Edits the requests database with a bare LMDB handle (no Veilport code, no key). */
function offline(fn: (db: ReturnType<ReturnType<typeof open>['openDB']>) => void): void {
  const root = open({ path: join(data, 'db'), maxDbs: 32, encoding: 'msgpack' });
  const db = root.openDB({ name: 'requests', encoding: 'msgpack' });
  root.transactionSync(() => fn(db));
  void root.close();
}

t.before(async () => {
  const core = await openCore(testSettings(dir, rec));
  for (let i = 0; i < 3; i++) {
    const v = await core.workflow.register(clerk, {
      requester: { name: '홍길동', type: 'police', organisation: '마포경찰서' },
      purpose: 'criminal investigation',
      legalBasis: 'PIPA art. 18(2)7',
      cameras: ['lobby'],
      range: { from: '2026-03-01T00:00:00Z', to: '2026-03-01T00:10:00Z' },
      targets: ['face'],
    } as Parameters<typeof core.workflow.register>[1]);
    ids.push(v.id);
  }
  core.workflow.receive(clerk, ids[0]!);
  // A system step (no account, no access-log entry) is sealed as well.
  core.workflow.systemStep(ids[1]!, ['registered'], 'failed', (r) => {
    r.failure = 'test: a step of the job runner';
  }, 'test');
  const r = verifyRecordSeals(core.store, core.signer.publicKey);
  t.equal(r.ok, true, JSON.stringify(r.problems));
  t.equal(r.records, 3);
  t.equal(r.sealed, 3, 'every record matches its seal');
  await core.store.close();
});

t.test('records written through the workflow verify', async (t) => {
  const ok = await run(['audit', 'verify', '--data', data]);
  t.equal(ok.code, 0, ok.out + ok.err);
  t.match(ok.out, /^access log intact: /);
  t.match(ok.out, /  3 request records, each matching its signed seal\n/);
  t.comment(ok.out.trim());
});

t.test('an offline edit of reviewedBy in LMDB is detected', async (t) => {
  offline((db) => {
    const r = db.get(ids[0]!) as ExportRequest;
    db.putSync(ids[0]!, { ...r, review: { ...r.review, reviewedBy: 'mallory', reviewedAt: '2026-03-02T00:00:00.000Z' } });
  });
  const v = await run(['audit', 'verify', '--data', data]);
  t.equal(v.code, 1, 'audit verify fails');
  t.match(v.out, new RegExp(`^requests ${ids[0]}: edited: requests record ${ids[0]} was changed outside Veilport: its stored bytes no longer match its seal of \\S+Z$`, 'm'));
  t.match(v.err, /records NOT intact: 1 problem \(0 in \d+ access-log entries, 1 in 3 request records\)/);
  t.comment(v.out.trim());
  const j = await run(['audit', 'verify', '--data', data, '--json']);
  const report = JSON.parse(j.out);
  t.equal(report.ok, false);
  t.same(report.records.problems.map((p: { key: string; kind: string }) => `${p.kind}:${p.key}`), [`edited:${ids[0]}`]);
});

t.test('a decision re-attributed, a record inserted and one deleted offline are detected', async (t) => {
  offline((db) => {
    const r = db.get(ids[1]!) as ExportRequest;
    db.putSync(ids[1]!, { ...r, history: r.history.map((h) => ({ ...h, by: 'someone-else' })) });
    const copy = db.get(ids[2]!) as ExportRequest;
    db.putSync('20260301-999', { ...copy, id: '20260301-999' });
    db.removeSync(ids[2]!);
  });
  const v = await run(['audit', 'verify', '--data', data]);
  t.equal(v.code, 1);
  t.match(v.out, new RegExp(`^requests ${ids[1]}: edited: `, 'm'));
  t.match(v.out, /^requests 20260301-999: inserted: requests record 20260301-999 has no seal: written without the appliance key/m);
  t.match(v.out, new RegExp(`^requests ${ids[2]}: deleted: requests record ${ids[2]} \\(sealed \\S+\\) is missing: deleted offline$`, 'm'));
  t.comment(v.out.trim());
});
