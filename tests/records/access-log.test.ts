/**
 * The access log on a real LMDB store: appending inside and outside the caller's
 * transaction, listing and counting, tampering done directly in the database (edit,
 * insert, delete, reorder, truncate, forged signatures, rollback) seen by verification
 * with the right kind and seq, pruning under a signed anchor, bad input, and the CLI.
 * An independent re-implementation of docs/access-log.md checks the format itself.
 */
import t, { type Test } from 'tap';
import { runCli as run } from '../helpers/cli.js';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { ed25519 } from '@noble/curves/ed25519.js';
import { openStore, type Store } from '../../src/store/store.js';
import { loadOrCreateSigningKey, applianceIdFor, type SigningKey } from '../../src/seal/index.js';
import { boxDir } from '../helpers/box-dir.js';
import {
  ACCESS_ACTIONS,
  AccessLog,
  GENESIS_HASH,
  encodeEntryFields,
  entryHash,
  headMessage,
  verifyAccessLog,
  type AccessEntry,
  type AccessEvent,
  type AuditReport,
  type SignedHead,
} from '../../src/records/access-log.js';

const T0 = Date.parse('2026-03-01T00:00:00.000Z');

interface Ctx {
  dir: string;
  store: Store;
  signer: SigningKey;
  log: AccessLog;
  clock: { ms: number };
  tamper: string[];
  reopen(): void;
}

async function setup(t: Test, checkpointEvery = 10): Promise<Ctx> {
  const dir = boxDir('access-log');
  const signer = await loadOrCreateSigningKey(join(dir, 'keys'));
  const clock = { ms: T0 };
  const tamper: string[] = [];
  const ctx = { dir, signer, clock, tamper } as Ctx;
  const open = () => {
    ctx.store = openStore(dir);
    ctx.log = new AccessLog(ctx.store, signer, { checkpointEvery, now: () => new Date(clock.ms), onTamper: (m) => tamper.push(m) });
  };
  open();
  ctx.reopen = open;
  t.teardown(() => ctx.store.close());
  return ctx;
}

const event = (i: number): AccessEvent => ({
  account: `u${i % 3}`,
  ip: `10.0.0.${(i % 250) + 1}`,
  action: (['view', 'search', 'export', 'download'] as const)[i % 4]!,
  target: `request:R-${i}`,
  result: 'ok',
});

function fill(c: Ctx, n: number, stepMs = 1000): AccessEntry[] {
  const out: AccessEntry[] = [];
  for (let i = 0; i < n; i++) {
    c.clock.ms += stepMs;
    out.push(c.log.append(event(out.length)));
  }
  return out;
}

const db = (c: Ctx) => c.store.db<AccessEntry, number>('accessLog');
const cps = (c: Ctx) => c.store.db<unknown, import('lmdb').Key>('checkpoints');
const verify = (c: Ctx, opts = {}): AuditReport => verifyAccessLog(c.store, c.signer.publicKey, opts);
const kinds = (r: AuditReport) => r.problems.map((p) => `${p.kind}@${p.seq}`);

/** docs/access-log.md, re-implemented with node:crypto and @noble/curves only. */
function independentEntryHash(e: AccessEntry): string {
  const field = (v: string | null | undefined) => {
    if (v === null || v === undefined) return Buffer.of(0);
    const b = Buffer.from(v, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return Buffer.concat([Buffer.of(1), len, b]);
  };
  const h = createHash('sha256');
  h.update('veilport access-log entry v1\n');
  h.update(Buffer.from(e.prev, 'hex'));
  for (const v of [String(e.seq), e.at, e.account, e.ip, e.action, e.target, e.result, e.detail]) h.update(field(v));
  return h.digest('hex');
}
/** Format 1 (legacy): heads and checkpoints signed alike. */
function independentHeadOk(h: SignedHead, publicKey: Uint8Array): boolean {
  const msg = Buffer.from(`veilport access-log head v1\n${h.applianceId}\n${h.length}\n${h.hash}\n${h.at}`, 'utf8');
  return ed25519.verify(Buffer.from(h.signature, 'hex'), msg, publicKey);
}
/** Format 2: the head and a checkpoint are signed in their own contexts. */
function independentSignedOk(h: SignedHead, publicKey: Uint8Array, role: 'head' | 'checkpoint'): boolean {
  const msg = Buffer.from(`veilport access-log ${role} v2\n${h.applianceId}\n${h.length}\n${h.hash}\n${h.at}`, 'utf8');
  return h.v === 2 && ed25519.verify(Buffer.from(h.signature, 'hex'), msg, publicKey);
}

t.test('append chains entries; list and count filter them; the format is what the docs say', async (t) => {
  const c = await setup(t);
  t.same(c.log.head(), { length: 0, hash: GENESIS_HASH }, 'empty log');
  t.ok(independentSignedOk(c.log.signedHead(), c.signer.publicKey, 'head'), 'an empty log still has a signed (genesis) head');
  const es = fill(c, 25);
  c.clock.ms += 1000;
  const withDetail = c.log.append({ account: null, ip: '2001:db8::7', action: 'login-failed', target: '', result: 'failed', detail: 'unknown name' });
  t.equal(withDetail.account, null);
  t.equal(es[0]!.seq, 1);
  t.equal(es[0]!.prev, GENESIS_HASH);
  for (let i = 1; i < es.length; i++) t.equal(es[i]!.prev, es[i - 1]!.hash, `entry ${i + 1} chains to ${i}`);
  t.equal(es[0]!.at, '2026-03-01T00:00:01.000Z', 'ISO UTC with ms');
  for (const e of [...es, withDetail]) t.equal(independentEntryHash(e), e.hash, `hash of ${e.seq} re-computed from the docs`);
  t.same(c.log.head(), { length: 26, hash: withDetail.hash });

  const sh = c.log.signedHead();
  t.match(sh, { applianceId: c.signer.applianceId, length: 26, hash: withDetail.hash });
  t.ok(independentSignedOk(sh, c.signer.publicKey, 'head'), 'signed head verifies with @noble from the documented message');
  t.ok(independentSignedOk(cps(c).get(['access-cp', 20]) as SignedHead, c.signer.publicKey, 'checkpoint'), 'checkpoint at 20 too, in its own context');
  t.notOk(independentSignedOk(cps(c).get(['access-cp', 20]) as SignedHead, c.signer.publicKey, 'head'), 'a checkpoint is no head');
  t.notOk(independentSignedOk(sh, c.signer.publicKey, 'checkpoint'), 'a head is no checkpoint');
  t.equal(cps(c).get(['access-cp', 25]), undefined, 'no checkpoint between multiples of N');

  const all = c.log.list({});
  t.same(all.map((e) => e.seq), Array.from({ length: 26 }, (_, i) => 26 - i), 'newest first');
  t.same(c.log.list({ account: 'u1', action: 'search' }).map((e) => e.seq), [14, 2], 'account and action');
  t.same(c.log.list({ limit: 3 }).map((e) => e.seq), [26, 25, 24]);
  t.same(c.log.list({ limit: 3, beforeSeq: 24 }).map((e) => e.seq), [23, 22, 21], 'paging with beforeSeq');
  // seq n is at T0 + n s; from inclusive, to exclusive, with a zone.
  t.same(c.log.list({ from: '2026-03-01T09:00:05+09:00', to: '2026-03-01T00:00:08Z' }).map((e) => e.seq), [7, 6, 5], 'time range');
  t.same(c.log.list({ to: '2026-03-01T00:00:08Z', beforeSeq: 4 }).map((e) => e.seq), [3, 2, 1], 'to and beforeSeq together');
  t.same(c.log.list({ from: '2026-03-02T00:00:00Z' }), [], 'nothing after');

  // exports by u2: i%4==2 and i%3==2 -> i = 2, 14 (seq 3, 15); downloads by u2: i%4==3, i%3==2 -> i = 11, 23 (seq 12, 24).
  t.equal(c.log.count({ account: 'u2', actions: ['export', 'download'], since: new Date(T0) }), 4);
  t.equal(c.log.count({ account: 'u2', actions: ['export', 'download'], since: new Date(T0 + 13_000) }), 2, 'only since');
  t.equal(c.log.count({ account: 'u2', actions: ['export'], since: new Date(T0), result: 'denied' }), 0, 'result filter');

  const r = verify(c);
  t.same(r, { ok: true, length: 26, head: withDetail.hash, checkpoints: 2, problems: [], entries: 26, anchor: null, signedHead: { length: 26, hash: withDetail.hash, at: withDetail.at }, witness: null, notes: [`no witness file at ${join(c.dir, 'access-witness.json')} (written after the first append of this version; until then a rollback to an older copy of the database is only visible against published heads)`] });
  c.log.flushWitness();
  const w = verify(c);
  t.equal(w.ok, true);
  t.same(w.witness, { file: join(c.dir, 'access-witness.json'), length: 26, hash: withDetail.hash, at: sh.at }, 'the witness holds the signed head');

  // Durable: a fresh environment sees everything.
  await c.store.close();
  c.reopen();
  t.same(c.log.head(), { length: 26, hash: withDetail.hash }, 'survives closing and reopening');
  t.equal(verify(c).ok, true);
});

t.test('time never runs backwards along the chain', async (t) => {
  const c = await setup(t);
  fill(c, 2);
  const before = c.log.list({ limit: 1 })[0]!.at;
  c.clock.ms -= 3_600_000; // the clock steps back an hour
  const e = c.log.append(event(0));
  t.equal(e.at, before, 'keeps the previous time while the clock is behind');
  c.clock.ms += 7_200_000;
  t.ok(c.log.append(event(1)).at > before, 'moves on once the clock is past it');
  t.equal(verify(c).ok, true);
});

t.test('append inside the caller\'s transaction commits or rolls back with it', async (t) => {
  const c = await setup(t);
  const requests = c.store.db<{ state: string }, string>('requests');
  fill(c, 3);
  const h3 = c.log.head();

  const e = c.store.transaction(() => {
    requests.putSync('R-1', { state: 'approved' });
    const a = c.log.append({ account: 'u1', ip: '10.0.0.1', action: 'modify', target: 'request:R-1', result: 'ok' });
    const b = c.log.append({ account: 'u1', ip: '10.0.0.1', action: 'view', target: 'request:R-1', result: 'ok' });
    t.equal(b.prev, a.hash, 'a second append in the same transaction sees the first');
    return b;
  });
  t.equal(e.seq, 5);
  t.same(requests.get('R-1'), { state: 'approved' }, 'the caller\'s write committed');
  t.equal(db(c).get(4)?.action, 'modify', 'and the log entry with it');

  t.throws(() =>
    c.store.transaction(() => {
      requests.putSync('R-2', { state: 'approved' });
      c.log.append({ account: 'u1', ip: '10.0.0.1', action: 'modify', target: 'request:R-2', result: 'ok' });
      throw new Error('the request update failed');
    }),
  /the request update failed/);
  t.equal(requests.get('R-2'), undefined, 'the caller\'s write rolled back');
  t.equal(db(c).get(6), undefined, 'and the log entry with it');
  t.equal(c.log.head().length, 5, 'head unchanged by the rolled-back append');
  t.equal(c.log.signedHead().length, 5, 'signed head too');
  const next = c.log.append(event(9));
  t.equal(next.seq, 6, 'the next append takes the free seq');
  t.equal(next.prev, e.hash);
  t.not(h3.hash, next.prev);
  t.same(c.tamper, [], 'no false alarm');
  t.equal(verify(c).ok, true, 'and the chain verifies');

  // An append outside any transaction is committed when it returns: another process sees it at once.
  c.clock.ms += 1000;
  const outside = c.log.append(event(10));
  const script = `import { open } from 'lmdb';
const root = open({ path: process.argv[1], maxDbs: 32, readOnly: true });
const e = root.openDB({ name: 'accessLog' }).get(Number(process.argv[2]));
process.stdout.write(e ? e.hash : 'missing');`;
  const seen = execFileSync(process.execPath, ['--input-type=module', '-e', script, join(c.dir, 'db'), String(outside.seq)], { encoding: 'utf8' });
  t.equal(seen, outside.hash, 'another process reads the entry right after append returns');
});

t.test('verification finds each kind of tampering, naming the seq', async (t) => {
  const cases: Array<{ name: string; tamper: (c: Ctx, es: AccessEntry[]) => void; expect: string[]; opts?: object }> = [
    {
      name: 'a field edited in place',
      tamper: (c, es) => db(c).putSync(7, { ...es[6]!, action: 'view' }),
      expect: ['edited@7'],
    },
    {
      name: 'a field edited and the entry re-hashed',
      tamper: (c, es) => {
        const { hash: _h, ...body } = { ...es[6]!, target: 'request:R-other' };
        db(c).putSync(7, { ...body, hash: entryHash(body) });
      },
      expect: ['edited@7'],
    },
    {
      name: 'an entry inserted between two (non-integer key)',
      tamper: (c, es) => db(c).putSync(7.5, { ...es[6]!, seq: 7 }),
      expect: ['inserted@8'],
    },
    {
      name: 'an entry appended without the key',
      tamper: (c, es) => {
        const body = { ...event(99), seq: 31, at: '2026-03-01T00:00:31.500Z', prev: es[29]!.hash };
        db(c).putSync(31, { ...body, hash: entryHash(body) });
      },
      expect: ['inserted@31'],
    },
    {
      name: 'an entry inserted and the rest renumbered',
      tamper: (c, es) => {
        for (let s = 30; s >= 12; s--) db(c).putSync(s + 1, es[s - 1]!);
        const body = { ...event(99), seq: 12, at: es[11]!.at, prev: es[10]!.hash };
        db(c).putSync(12, { ...body, hash: entryHash(body) });
      },
      expect: ['inserted@12'],
    },
    {
      name: 'an entry inserted, the rest renumbered and re-hashed',
      tamper: (c, es) => {
        const fake = { ...event(99), seq: 12, at: es[11]!.at };
        const rest = [fake, ...es.slice(11)].map((e, i) => ({ ...e, seq: 12 + i }));
        let prev = es[10]!.hash;
        for (const e of rest) {
          const body = { seq: e.seq, at: e.at, account: e.account, ip: e.ip, action: e.action, target: e.target, result: e.result, prev };
          prev = entryHash(body);
          db(c).putSync(e.seq, { ...body, hash: prev });
        }
      },
      expect: ['inserted@11'],
    },
    {
      name: 'an entry deleted in the middle',
      tamper: (c) => db(c).removeSync(15),
      expect: ['deleted@15'],
    },
    {
      name: 'an entry deleted and the rest renumbered',
      tamper: (c, es) => {
        for (let s = 15; s < 30; s++) db(c).putSync(s, es[s]!);
        db(c).removeSync(30);
      },
      expect: ['deleted@15'],
    },
    {
      name: 'two entries swapped',
      tamper: (c, es) => {
        db(c).putSync(5, es[5]!);
        db(c).putSync(6, es[4]!);
      },
      expect: ['reordered@5', 'reordered@6'],
    },
    {
      name: 'the tail truncated',
      tamper: (c) => [28, 29, 30].forEach((s) => db(c).removeSync(s)),
      expect: ['truncated@28'],
    },
    {
      name: 'the tail truncated and the signed head deleted',
      tamper: (c) => {
        for (let s = 22; s <= 30; s++) db(c).removeSync(s);
        cps(c).removeSync('access-head');
      },
      expect: ['bad-checkpoint@21', 'truncated@22'],
    },
    {
      name: 'a checkpoint with a changed hash',
      tamper: (c) => {
        const cp = cps(c).get(['access-cp', 20]) as SignedHead;
        cps(c).putSync(['access-cp', 20], { ...cp, hash: 'ab'.repeat(32) });
      },
      expect: ['bad-checkpoint@20'],
    },
    {
      name: 'a checkpoint signed with another key',
      tamper: (c) => {
        const sk = ed25519.utils.randomSecretKey();
        const body = { applianceId: c.signer.applianceId, length: 20, hash: 'cd'.repeat(32), at: '2026-03-01T00:00:20.000Z' };
        cps(c).putSync(['access-cp', 20], { ...body, signature: Buffer.from(ed25519.sign(headMessage(body), sk)).toString('hex') });
      },
      expect: ['bad-checkpoint@20'],
    },
    {
      name: 'the signed head\'s signature altered',
      tamper: (c) => {
        const h = cps(c).get('access-head') as SignedHead;
        cps(c).putSync('access-head', { ...h, signature: (h.signature[0] === '0' ? '1' : '0') + h.signature.slice(1) });
      },
      expect: ['bad-checkpoint@30'],
    },
  ];
  for (const k of cases) {
    await t.test(k.name, async (t) => {
      const c = await setup(t);
      const es = fill(c, 30);
      t.equal(verify(c).ok, true, 'intact before');
      k.tamper(c, es);
      const r = verify(c, k.opts);
      t.equal(r.ok, false, 'not ok after');
      t.same(kinds(r), k.expect, r.problems.map((p) => `${p.kind}@${p.seq}: ${p.message}`).join('\n'));
      for (const p of r.problems) t.match(p.message, /\S/, 'says why');
    });
  }
});

const problemsText = (r: AuditReport) => r.problems.map((p) => `${p.kind}@${p.seq}: ${p.message}`).join('\n');

t.test('the cut back to a checkpoint (issue 14) is detected, with or without the witness', async (t) => {
  const c = await setup(t, 100);
  fill(c, 250);
  c.log.flushWitness();
  t.equal(verify(c).ok, true, 'intact before');
  // The attack: remove every entry after checkpoint 200 and install that checkpoint as the head.
  for (let s = 201; s <= 250; s++) db(c).removeSync(s);
  cps(c).putSync('access-head', cps(c).get(['access-cp', 200]));
  const r = verify(c);
  t.equal(r.ok, false, 'not intact');
  t.same(kinds(r), ['bad-checkpoint@200', 'truncated@201'], problemsText(r));
  t.match(r.problems[0]!.message, /the signed head is a checkpoint \(seq 200, signed in the checkpoint context\) put in the head's place: the log was cut back to seq 200/);
  t.match(r.problems[1]!.message, /ends at seq 200 but the witness file's head of .* covers 250: 50 entries were removed from the end \(or the database was rolled back/);
  t.comment(problemsText(r));
  // Without the witness file (deleted too), the checkpoint still cannot pass for the head.
  rmSync(join(c.dir, 'access-witness.json'));
  const nw = verify(c);
  t.same(kinds(nw), ['bad-checkpoint@200'], problemsText(nw));
  await c.store.close();
  const cli = await run(['audit', 'verify', '--data', c.dir]);
  t.equal(cli.code, 1);
  t.match(cli.out, /^seq 200: bad-checkpoint: the signed head is a checkpoint/m);
  t.match(cli.err, /NOT intact/);
  t.comment(cli.out.trim());
  c.reopen();
});

t.test('a rollback to an older head is caught on the box by the witness', async (t) => {
  const c = await setup(t);
  fill(c, 120);
  const oldHead = cps(c).get('access-head') as SignedHead; // an attacker keeps a copy of this
  fill(c, 30);
  c.log.flushWitness();
  for (let s = 121; s <= 150; s++) db(c).removeSync(s);
  for (const s of [130, 140, 150]) cps(c).removeSync(['access-cp', s]);
  cps(c).putSync('access-head', oldHead);
  const r = verify(c);
  t.same(kinds(r), ['bad-checkpoint@120', 'truncated@121'], problemsText(r));
  t.match(r.problems[0]!.message, /signed head \(seq 120, .*\) is behind a later signed checkpoint, expected head or witness \(seq 150\).*rolled back/);
  t.match(r.problems[1]!.message, /ends at seq 120 but the witness file's head of .* covers 150: 30 entries were removed from the end \(or the database was rolled back to an older copy\)/);
  t.comment(problemsText(r));
  await c.store.close();
  const cli = await run(['audit', 'verify', '--data', c.dir]);
  t.equal(cli.code, 1, 'veilport audit verify fails');
  t.match(cli.out, /^seq 121: truncated: .*witness/m);
  c.reopen();
  // The daemon notices too, keeps the witness's head as evidence and never moves the witness back.
  c.clock.ms += 1000;
  c.log.append(event(1));
  c.log.flushWitness();
  t.match(c.tamper.join('\n'), /the database was rolled back: its signed head is seq 121 but the witness .* recorded seq 150/);
  t.ok(cps(c).get(['access-cp', 150]), "the witness's head is kept in the database");
  t.equal(verifyAccessLog(c.store, c.signer.publicKey, { witness: false }).ok, false, 'evidence survives the witness file too');
  const again = verify(c);
  t.equal(again.witness?.length, 150, 'the witness stayed at 150');
});

t.test('database and witness rolled back together pass on the box; the published head catches it', async (t) => {
  const c = await setup(t);
  fill(c, 25);
  c.log.flushWitness();
  const { readFileSync, writeFileSync } = await import('node:fs');
  const wfile = join(c.dir, 'access-witness.json');
  const oldWitness = readFileSync(wfile);
  const oldHead = cps(c).get('access-head') as SignedHead; // an attacker keeps a copy of both
  const published = c.log.signedHead();
  fill(c, 5);
  c.log.flushWitness();
  const central = c.log.signedHead(); // what the broker last received
  for (let s = 26; s <= 30; s++) db(c).removeSync(s);
  cps(c).removeSync(['access-cp', 30]);
  cps(c).putSync('access-head', oldHead);
  writeFileSync(wfile, oldWitness);
  t.equal(verify(c).ok, true, 'locally undetectable: documented in docs/access-log.md');
  const r = verify(c, { expectHeads: [{ length: published.length, hash: published.hash }, { length: central.length, hash: central.hash }] });
  t.same(kinds(r), ['bad-checkpoint@25', 'truncated@26'], problemsText(r));
  t.match(r.problems[0]!.message, /signed head \(seq 25.*is behind .*seq 30.*rolled back/);
  t.match(r.problems[1]!.message, /ends at seq 25 but the expected head 30:.* covers 30: 5 entries were removed/);
  const other = verify(c, { expectHeads: [{ length: 10, hash: 'ef'.repeat(32) }] });
  t.same(kinds(other), ['edited@1'], 'a chain that does not pass through a known head');
});

t.test('a format-1 head, a forged witness and a head signed as a checkpoint are refused', async (t) => {
  const c = await setup(t);
  fill(c, 12);
  c.log.flushWitness();
  const h = cps(c).get('access-head') as SignedHead;
  const { v: _v, signature: _s, ...body } = h;
  const sk = (await import('node:fs')).readFileSync(join(c.dir, 'keys', 'appliance-key.json'), 'utf8');
  const secret = Buffer.from(JSON.parse(sk).secretKey as string, 'hex');
  cps(c).putSync('access-head', { ...body, signature: Buffer.from(ed25519.sign(headMessage(body), secret)).toString('hex') });
  const legacy = verify(c);
  t.same(kinds(legacy), ['bad-checkpoint@12'], problemsText(legacy));
  t.match(legacy.problems[0]!.message, /format 1, signed like a checkpoint/);
  cps(c).putSync('access-head', h);
  t.equal(verify(c).ok, true, 'the format-2 head back in place: intact');
  (await import('node:fs')).writeFileSync(join(c.dir, 'access-witness.json'), JSON.stringify({ format: 'veilport-access-witness/1', head: { ...h, length: 99 } }));
  const forged = verify(c);
  t.same(kinds(forged), ['bad-checkpoint@0'], problemsText(forged));
  t.match(forged.problems[0]!.message, /witness file .* does not verify as a signed head/);
});

t.test('append after tampering keeps the evidence and reports it', async (t) => {
  const c = await setup(t);
  fill(c, 15);
  for (const s of [13, 14, 15]) db(c).removeSync(s);
  const e = c.log.append(event(1));
  t.equal(e.seq, 13, 'the log goes on');
  t.equal(c.tamper.length, 1);
  t.match(c.tamper[0], /ends at seq 12 .* signed head says seq 15/);
  t.ok(cps(c).get(['access-cp', 15]), 'the old signed head is kept as a checkpoint');
  const r = verify(c);
  t.same(kinds(r), ['bad-checkpoint@13', 'truncated@14'], 'the truncation is still found');
  t.match(r.problems[1]!.message, /ends at seq 13 but its signed checkpoint of .* covers 15/);
});

t.test('prune keeps 2 years, signs an anchor and the rest still verifies', async (t) => {
  const c = await setup(t, 4);
  const day = 86_400_000;
  fill(c, 12, 100 * day); // about 3.3 years, one entry every 100 days
  const last = c.log.head();
  const now = new Date(c.clock.ms);
  const twoYears = new Date(now);
  twoYears.setUTCFullYear(now.getUTCFullYear() - 2);

  t.throws(() => c.log.prune(new Date(now.getTime() - 30 * day)), { code: 'BAD_INPUT', message: /kept at least 2 years/ }, 'refuses to cut into the last 2 years');
  t.equal(c.log.head().length, 12);

  const removed = c.log.prune(twoYears);
  const kept = c.log.list({ limit: 100 });
  t.equal(removed + kept.length, 12);
  t.ok(removed >= 4, `removed ${removed}`);
  t.ok(kept.every((e) => e.at >= twoYears.toISOString()), 'nothing younger than 2 years removed');
  t.ok(kept.at(-1)!.at < new Date(twoYears.getTime() + 100 * day).toISOString(), 'everything older removed');
  const r = verify(c);
  t.same({ ok: r.ok, length: r.length, head: r.head, entries: r.entries, anchorSeq: r.anchor?.seq }, { ok: true, length: 12, head: last.hash, entries: kept.length, anchorSeq: removed });
  t.equal(c.log.prune(twoYears), 0, 'pruning again removes nothing');

  c.clock.ms += day;
  c.log.append(event(3));
  t.equal(verify(c).ok, true, 'appending after pruning verifies');

  const anchor = cps(c).get('access-anchor') as Record<string, unknown>;
  cps(c).putSync('access-anchor', { ...anchor, seq: (anchor['seq'] as number) - 1 });
  t.same(kinds(verify(c)).slice(0, 1), [`bad-checkpoint@${removed - 1}`], 'a changed anchor does not verify');
  cps(c).removeSync('access-anchor');
  t.same(kinds(verify(c)), [`deleted@1`], 'without the anchor the pruned entries count as deleted');
  cps(c).putSync('access-anchor', anchor);
  t.equal(verify(c).ok, true);

  // Everything may go (below the minimum only when told); the head is unchanged.
  const head = c.log.head();
  c.log.prune(new Date(c.clock.ms + day), { belowMinimumRetention: true });
  t.same(c.log.list({}), []);
  t.same(c.log.head(), head, 'head = the anchor when no entry is left');
  t.equal(verify(c).ok, true);
  const after = c.log.append(event(4));
  t.equal(after.seq, head.length + 1);
  t.equal(after.prev, head.hash);
  t.equal(verify(c).ok, true);
});

t.test('prune refuses to sign over tampering, and a pruned entry put back is found', async (t) => {
  const c = await setup(t, 4);
  const day = 86_400_000;
  const es = fill(c, 12, 100 * day);
  const cutoff = new Date(c.clock.ms);
  cutoff.setUTCFullYear(cutoff.getUTCFullYear() - 2);
  db(c).putSync(2, { ...es[1]!, account: 'someone-else' });
  t.throws(() => c.log.prune(cutoff), { code: 'AUDIT_BROKEN', message: /seq 2: edited/ });
  t.equal(db(c).get(1)?.seq, 1, 'nothing removed');
  db(c).putSync(2, es[1]!);
  const n = c.log.prune(cutoff);
  t.ok(n >= 2);
  db(c).putSync(1, es[0]!);
  t.same(kinds(verify(c)), ['inserted@1']);
});

t.test('bad input is refused naming the field', async (t) => {
  const c = await setup(t);
  const ok: AccessEvent = { account: 'u1', ip: '192.168.1.20', action: 'export', target: 'request:R-1', result: 'ok' };
  const bad: Array<[string, unknown, RegExp]> = [
    ['unknown action', { ...ok, action: 'steal' }, /^access event: action "steal" is not one of view, search/],
    ['empty account for login', { ...ok, action: 'login', target: '', account: '' }, /^access event: account must not be empty/],
    ['no account for view', { ...ok, action: 'view', account: null }, /^access event: account is required for "view"/],
    ['account with spaces around', { ...ok, account: ' u1' }, /^access event: account must not start or end/],
    ['bad ip', { ...ok, ip: '10.0.0.300' }, /^access event: ip "10.0.0.300" is not an IPv4\/IPv6 address/],
    ['missing ip', { ...ok, ip: undefined }, /^access event: ip/],
    ['line break in target', { ...ok, target: 'request:R-1\nseq 99 forged' }, /^access event: target must not contain control characters/],
    ['empty target for export', { ...ok, target: ' ' }, /^access event: target must not be empty/],
    ['long target', { ...ok, target: 'x'.repeat(513) }, /^access event: target is 513 characters long/],
    ['unknown result', { ...ok, result: 'maybe' }, /^access event: result "maybe" is not one of ok, denied, failed/],
    ['detail not a string', { ...ok, detail: 42 }, /^access event: detail must be a string/],
    ['unknown field', { ...ok, requesterName: 'Kim' }, /^access event: requesterName is not a field/],
    ['not an object', null, /^access event: expected an object/],
  ];
  for (const [name, e, message] of bad) t.throws(() => c.log.append(e as AccessEvent), { code: 'BAD_INPUT', message }, name);
  t.equal(c.log.head().length, 0, 'nothing appended');
  t.equal(c.log.append({ account: null, ip: '::1', action: 'login-failed', target: '', result: 'failed' }).seq, 1, 'login-failed may have no account');
  t.equal(c.log.append({ account: 'u1', ip: 'local', action: 'logout', target: '', result: 'ok' }).seq, 2, 'console actions are "local"');
  t.throws(() => c.log.list({ action: 'steal' as 'view' }), { code: 'BAD_INPUT', message: /action "steal"/ });
  t.throws(() => c.log.list({ from: 'yesterday' }), { code: 'BAD_INPUT', message: /from "yesterday"/ });
  t.throws(() => c.log.list({ limit: 0 }), { code: 'BAD_INPUT', message: /limit/ });
  t.throws(() => c.log.count({ account: 'u1', actions: ['steal' as 'view'], since: new Date() }), { code: 'BAD_INPUT', message: /actions/ });
  t.throws(() => c.log.prune(new Date('nope')), { code: 'BAD_INPUT', message: /olderThan/ });
  t.throws(() => new AccessLog(c.store, c.signer, { checkpointEvery: 0 }), { code: 'BAD_INPUT', message: /checkpointEvery/ });
  t.equal(ACCESS_ACTIONS.length, 11);
});


t.test('veilport audit verify and list', async (t) => {
  const c = await setup(t);
  const es = fill(c, 23);
  // Closing the store writes the witness the last appends scheduled.
  await c.store.close();

  const ok = await run(['audit', 'verify', '--data', c.dir]);
  t.equal(ok.code, 0, ok.err);
  t.equal(ok.out, `access log intact: 23 entries, head ${es[22]!.hash}, 2 signed checkpoints\n  witness ${join(c.dir, 'access-witness.json')}: seq 23 of 2026-03-01T00:00:23.000Z, on the chain\n`);
  const j = await run(['audit', 'verify', '--data', c.dir, '--json']);
  t.equal(j.code, 0);
  t.match(JSON.parse(j.out), { ok: true, length: 23, head: es[22]!.hash, checkpoints: 2, problems: [] });

  const wrongKey = Buffer.from(ed25519.getPublicKey(ed25519.utils.randomSecretKey())).toString('hex');
  const wk = await run(['audit', 'verify', '--data', c.dir, '--public-key', wrongKey]);
  t.equal(wk.code, 1, 'signatures by a key we do not trust');
  t.match(wk.out, /^seq 10: bad-checkpoint: .*not a trusted appliance key/m);
  const pk = await run(['audit', 'verify', '--data', c.dir, '--public-key', Buffer.from(c.signer.publicKey).toString('hex'), '--expect-head', `23:${es[22]!.hash}`]);
  t.equal(pk.code, 0, pk.out + pk.err);

  const l = await run(['audit', 'list', '--data', c.dir, '--account', 'u2', '--action', 'export', '--limit', '1']);
  t.equal(l.code, 0, l.err);
  t.match(l.out, /^\s+15  2026-03-01T00:00:15\.000Z  u2\s+10\.0\.0\.15\s+export\s+ok\s+request:R-14\n\(more: --before 15\)\n$/);
  const lj = await run(['audit', 'list', '--data', c.dir, '--from', '2026-03-01T00:00:22Z', '--json']);
  t.same(JSON.parse(lj.out).map((e: AccessEntry) => e.seq), [23, 22]);

  const d = await run(['audit', 'dump', '--data', c.dir]);
  t.equal(d.code, 0, d.err);
  const recs = d.out.trim().split('\n').map((l) => JSON.parse(l) as { record: string; key?: unknown } & Record<string, unknown>);
  t.same(recs.map((r) => r.record), [...Array(23).fill('entry'), 'checkpoint', 'checkpoint', 'head'], 'dump: entries in seq order, checkpoints, head');
  t.same(recs.slice(0, 23).map(({ record: _r, key: _k, ...e }) => e), es, 'dump holds the entries as stored');
  t.same(recs[23]!.key, ['access-cp', 10]);

  c.reopen();
  db(c).putSync(9, { ...es[8]!, result: 'denied' });
  db(c).removeSync(23);
  await c.store.close();
  const broken = await run(['audit', 'verify', '--data', c.dir]);
  t.equal(broken.code, 1);
  t.equal(broken.out.split('\n').filter(Boolean).length, 2, 'one line per problem');
  t.match(broken.out, /^seq 9: edited: entry 9 was edited/m);
  t.match(broken.out, /^seq 23: truncated: /m);
  t.match(broken.err, /NOT intact: 2 problems/);
  const bj = await run(['audit', 'verify', '--data', c.dir, '--json']);
  t.equal(bj.code, 1);
  t.same(JSON.parse(bj.out).problems.map((p: { kind: string; seq: number }) => `${p.kind}@${p.seq}`), ['edited@9', 'truncated@23']);

  t.equal((await run(['audit', 'verify'])).code, 2, 'no --data');
  t.equal((await run(['audit', 'verify', '--data', join(c.dir, 'nowhere')])).code, 2, 'no database there');
  t.equal((await run(['audit', 'frobnicate', '--data', c.dir])).code, 2, 'unknown subcommand');
  t.equal((await run(['audit', 'list', '--data', c.dir, '--action', 'steal'])).code, 2, 'unknown action');
  t.equal((await run(['audit', 'verify', '--data', c.dir, '--expect-head', '5:xyz'])).code, 2, 'malformed head');
  rmSync(join(c.dir, 'keys'), { recursive: true });
  const nk = await run(['audit', 'verify', '--data', c.dir]);
  t.equal(nk.code, 2, 'no key: never a new one');
  t.match(nk.err, /no appliance key in .*--public-key/);
  c.reopen(); // for teardown
});

t.test('the test vectors in docs/access-log.md', async (t) => {
  const e1 = { seq: 1, at: '2026-03-01T00:00:01.000Z', account: 'u-0042', ip: '192.0.2.10', action: 'export' as const, target: 'request:R-2026-0012', result: 'ok' as const, prev: GENESIS_HASH };
  t.equal(
    Buffer.from(encodeEntryFields(e1)).toString('hex'),
    '0100000001310100000018323032362d30332d30315430303a30303a30312e3030305a0100000006752d30303432010000000a3139322e302e322e313001000000066578706f72740100000013726571756573743a522d323032362d3030313201000000026f6b00',
  );
  const h1 = entryHash(e1);
  t.equal(h1, 'ebd75dd5c1ed6bae693b2d3ea9968a0104b02ab5928d320c3d2f8581a4f0da9b');
  const e2 = { seq: 2, at: '2026-03-01T00:00:02.500Z', account: null, ip: '2001:db8::7', action: 'login-failed' as const, target: '', result: 'failed' as const, detail: '잠금 전 3회째', prev: h1 };
  t.equal(entryHash(e2), '1b3ca99bfa1ce14626ceb8628176011ef570fe53ea31f3c19c1d087f2f4f5341');
  const pk = ed25519.getPublicKey(new Uint8Array(32).fill(1));
  t.equal(Buffer.from(pk).toString('hex'), '8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c');
  const body = { applianceId: applianceIdFor(pk), length: 2, hash: entryHash(e2), at: '2026-03-01T00:00:02.501Z' };
  t.equal(body.applianceId, 'vp-gr2q7gf5lh6pzfdn');
  t.equal(Buffer.from(headMessage(body)).toString('utf8'), 'veilport access-log head v1\nvp-gr2q7gf5lh6pzfdn\n2\n1b3ca99bfa1ce14626ceb8628176011ef570fe53ea31f3c19c1d087f2f4f5341\n2026-03-01T00:00:02.501Z');
  const sig = 'd169adb22a20166b281a436acc13cd750a33cf9204fa0e5a83a1570a018d1a1fe650398918c08a5491c306e4abe853a6ff15f40080b3e0cb256c1204aa67c807';
  t.equal(Buffer.from(ed25519.sign(headMessage(body), new Uint8Array(32).fill(1))).toString('hex'), sig);
  t.ok(independentHeadOk({ ...body, signature: sig }, pk));
});

t.test('after a key rotation the old signatures verify with the old public key', async (t) => {
  const c = await setup(t);
  fill(c, 12);
  const next = await loadOrCreateSigningKey(join(c.dir, 'keys-2'));
  const rotated = new AccessLog(c.store, next, { checkpointEvery: 10, now: () => new Date(c.clock.ms), previousPublicKeys: [c.signer.publicKey] });
  c.clock.ms += 1000;
  rotated.append(event(1));
  t.equal(rotated.signedHead().applianceId, next.applianceId, 'the head is signed with the new key from now on');
  // (The witness is left out: which key signed it depends on when its background write ran.)
  t.same(kinds(verifyAccessLog(c.store, next.publicKey, { witness: false })), ['bad-checkpoint@10'], 'the old checkpoint needs the old key');
  t.equal(verifyAccessLog(c.store, [next.publicKey, c.signer.publicKey]).ok, true, 'both keys: intact');
  rotated.flushWitness();
  t.equal(verifyAccessLog(c.store, [next.publicKey, c.signer.publicKey]).witness?.length, 13, 'the new key writes the witness');
});

t.test('applianceIdFor ties the head to the key', async (t) => {
  const c = await setup(t);
  fill(c, 1);
  t.equal(c.log.signedHead().applianceId, applianceIdFor(c.signer.publicKey));
});
