/**
 * The access log (접속기록): every action of every account on personal data or footage,
 * one entry per action, in a SHA-256 hash chain whose head is signed with the appliance
 * key on every append and kept as a checkpoint every `checkpointEvery` entries.
 * `verifyAccessLog` (access-verify.ts) finds edited, inserted, deleted, reordered and
 * truncated entries and forged signatures. Format and threat model: docs/access-log.md.
 *
 * Storage: `accessLog` database, key = seq (number), value = the AccessEntry;
 * `checkpoints` database, keys "access-head", "access-anchor" and ["access-cp", seq].
 *
 * `append` is synchronous and durable. It runs in `store.transaction`, so called inside
 * a caller's transaction it becomes part of it (commits or rolls back with the caller's
 * other writes); called outside, it commits (and fsyncs) before it returns. The head is
 * always read from the database inside that transaction, never cached, so a rolled-back
 * caller transaction cannot leave a stale head behind.
 */
import type { Database, Key } from 'lmdb';
import { isIP } from 'node:net';
import type { KeyObject } from 'node:crypto';
import type { Store } from '../store/store.js';
import type { SigningKey } from '../seal/signing-key.js';
import { VeilportError } from '../util/errors.js';
import {
  ACCESS_ACTIONS,
  ACCESS_RESULTS,
  ANCHOR_KEY,
  CHECKPOINT_RANGE,
  GENESIS_HASH,
  HEAD_KEY,
  anchorMessage,
  checkpointKey,
  checkpointMessage,
  entryHash,
  headMessageV2,
  isHash,
  privateKeyObject,
  publicKeyObject,
  signBytes,
  verifyBytes,
  type AccessAction,
  type AccessEntry,
  type AccessEvent,
  type SignedAnchor,
  type SignedHead,
} from './access-format.js';
import { verifyAccessLog, type AuditProblem } from './access-verify.js';
import { defaultWitnessPath, readWitness, writeWitness } from './access-witness.js';
import { RecordSealer, type SealedDatabase } from './record-seal.js';

export {
  ACCESS_ACTIONS,
  ACCESS_RESULTS,
  GENESIS_HASH,
  entryHash,
  encodeEntryFields,
  headMessage,
  headMessageV2,
  checkpointMessage,
  anchorMessage,
  type AccessAction,
  type AccessResult,
  type AccessEvent,
  type AccessEntry,
  type SignedHead,
  type SignedAnchor,
} from './access-format.js';
export { verifyAccessLog, type AuditProblem, type AuditReport, type VerifyAccessLogOptions } from './access-verify.js';
export { defaultWitnessPath, WITNESS_FILE } from './access-witness.js';
export { verifyRecordSeals, type SealReport, type SealProblem } from './record-seal.js';

/** Access-log entries are kept at least this long (PIPA enforcement decree art. 30 / seed 002 art. 13). */
export const MIN_RETENTION_YEARS = 2;
export const DEFAULT_CHECKPOINT_EVERY = 100;
const MAX_LIST = 10_000;
const PRUNE_BATCH = 5_000;

export interface AccessLogOptions {
  /** A signed checkpoint is kept for good every this many entries (default 100). */
  checkpointEvery?: number;
  now?: () => Date;
  /**
   * Called (inside the append's transaction; must not throw) when append finds the log
   * does not end where its signed head says: someone changed the database behind our
   * back. The old signed head is kept as a checkpoint, so verification still shows it.
   */
  onTamper?: (message: string) => void;
  /** Public keys from before a key rotation: prune verifies old checkpoints with them. */
  previousPublicKeys?: Uint8Array[];
  /**
   * The witness file (default `<data>/access-witness.json`; null: none): a copy of the
   * signed head outside the database, written shortly after each commit and never moved
   * backwards, so a database rolled back to an older copy is caught on the box.
   */
  witnessFile?: string | null;
}

/** Appends within this long share one witness write (it fsyncs: not once per entry under load). */
const WITNESS_DELAY_MS = 100;

export interface AccessListQuery {
  /** Inclusive lower bound on `at` (ISO with a zone). */
  from?: string;
  /** Exclusive upper bound on `at` (ISO with a zone). */
  to?: string;
  account?: string;
  action?: AccessAction;
  /** Most entries returned (default 100, at most 10000). */
  limit?: number;
  /** Only entries with seq below this (paging: pass the last seq you got). */
  beforeSeq?: number;
}

export interface AccessCountQuery {
  account: string;
  actions: AccessAction[];
  since: Date;
  /** Only entries with this result (default: any). */
  result?: AccessEvent['result'];
}

export interface PruneOptions {
  /** Prune entries younger than the 2-year minimum too. Only for a documented, deliberate decision. */
  belowMinimumRetention?: boolean;
}

const bad = (field: string, message: string, value?: unknown) =>
  new VeilportError('BAD_INPUT', `access event: ${field} ${message}`, value === undefined ? { field } : { field, value: String(value).slice(0, 80) });

// Control characters (C0, DEL, C1) and line/paragraph separators: they would let one
// entry masquerade as several on a console or in a CSV.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const EVENT_FIELDS = new Set(['account', 'ip', 'action', 'target', 'result', 'detail']);
const NO_TARGET: ReadonlySet<AccessAction> = new Set(['login', 'logout', 'login-failed']);

function checkText(field: string, v: unknown, max: number, allowEmpty: boolean): string {
  if (typeof v !== 'string') throw bad(field, `must be a string (got ${v === null ? 'null' : typeof v})`);
  if (!allowEmpty && v.trim() === '') throw bad(field, 'must not be empty');
  if (v.length > max) throw bad(field, `is ${v.length} characters long; at most ${max}`);
  if (CONTROL.test(v)) throw bad(field, 'must not contain control characters or line breaks');
  return v;
}

/** Checks an event and returns a clean copy holding only the known fields. */
export function validateAccessEvent(e: unknown): AccessEvent {
  if (typeof e !== 'object' || e === null || Array.isArray(e)) throw new VeilportError('BAD_INPUT', 'access event: expected an object', { field: 'event' });
  const o = e as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!EVENT_FIELDS.has(k)) throw bad(k, 'is not a field of an access event (account, ip, action, target, result, detail)');
  const action = o['action'];
  if (typeof action !== 'string' || !(ACCESS_ACTIONS as readonly string[]).includes(action)) {
    throw bad('action', `"${String(action)}" is not one of ${ACCESS_ACTIONS.join(', ')}`, action);
  }
  const a = action as AccessAction;
  const result = o['result'];
  if (typeof result !== 'string' || !(ACCESS_RESULTS as readonly string[]).includes(result)) {
    throw bad('result', `"${String(result)}" is not one of ${ACCESS_RESULTS.join(', ')}`, result);
  }
  let account: string | null;
  if (o['account'] === null || o['account'] === undefined) {
    if (a !== 'login-failed') throw bad('account', `is required for "${a}" (null only for login-failed with a name that is no account)`);
    account = null;
  } else {
    account = checkText('account', o['account'], 128, false);
    if (account !== account.trim()) throw bad('account', 'must not start or end with spaces');
  }
  const ip = o['ip'];
  if (typeof ip !== 'string' || (ip !== 'local' && isIP(ip) === 0)) throw bad('ip', `"${String(ip)}" is not an IPv4/IPv6 address or "local"`, ip);
  const target = checkText('target', o['target'], 512, NO_TARGET.has(a));
  const out: AccessEvent = { account, ip, action: a, target, result: result as AccessEvent['result'] };
  if (o['detail'] !== undefined) out.detail = checkText('detail', o['detail'], 1024, true);
  return out;
}

function isoOption(name: string, s: unknown): string {
  if (typeof s !== 'string' || !/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(s) || Number.isNaN(new Date(s).getTime())) {
    throw new VeilportError('BAD_INPUT', `access log query: ${name} "${String(s)}" is not an ISO time with a zone (e.g. 2026-03-01T09:00:00+09:00)`, { field: name });
  }
  return new Date(s).toISOString();
}

function addYearsUtc(d: Date, years: number): Date {
  const r = new Date(d.getTime());
  r.setUTCFullYear(r.getUTCFullYear() + years);
  return r;
}

interface Tip {
  seq: number;
  hash: string;
  at: string;
}

export class AccessLog {
  private readonly entries: Database<AccessEntry, number>;
  private readonly cps: Database<unknown, Key>;
  private readonly key: KeyObject;
  private readonly checkpointEvery: number;
  private readonly now: () => Date;
  private readonly onTamper: (message: string) => void;
  private readonly trusted: Uint8Array[];
  private readonly trustedKeys: KeyObject[];
  /** Where the witness lives, or null when this log keeps none. */
  readonly witnessFile: string | null;
  private witnessTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly alerted = new Set<string>();
  /** The last error a background witness write met (surfaced by the next flushWitness). */
  private witnessError: unknown = null;

  constructor(
    private readonly store: Store,
    private readonly signer: SigningKey,
    options: AccessLogOptions = {},
  ) {
    const every = options.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY;
    if (!Number.isSafeInteger(every) || every < 1) throw new VeilportError('BAD_INPUT', `access log: checkpointEvery must be a whole number of at least 1 (got ${every})`);
    this.checkpointEvery = every;
    this.now = options.now ?? (() => new Date());
    this.onTamper = options.onTamper ?? (() => {});
    this.trusted = [signer.publicKey, ...(options.previousPublicKeys ?? [])];
    this.entries = store.db<AccessEntry, number>('accessLog');
    this.cps = store.db<unknown, Key>('checkpoints');
    this.key = privateKeyObject(signer.secretKey);
    this.trustedKeys = this.trusted.map(publicKeyObject);
    this.witnessFile = options.witnessFile === undefined ? defaultWitnessPath(store) : options.witnessFile;
    // A witness write still scheduled by the last appends is done before the store
    // closes, not lost at shutdown or left to land in the data directory after its
    // owner let go of it. One that fails then is not an error: the witness only ever
    // lags the signed head, and the next start brings it up to date.
    store.beforeClose(() => {
      if (!this.witnessTimer) return;
      try {
        this.flushWitness();
      } catch {
        // See above.
      }
    });
  }

  /**
   * Appends one entry: validated, chained, signed head refreshed, checkpoint every N.
   * @throws VeilportError BAD_INPUT naming the field that is wrong.
   */
  append(e: AccessEvent): AccessEntry {
    const ev = validateAccessEvent(e);
    const clock = this.now();
    if (Number.isNaN(clock.getTime())) throw new VeilportError('BAD_INPUT', 'access log: the clock returned an invalid date');
    return this.store.transaction(() => {
      const tip = this.tip();
      this.checkHead(tip);
      const nowIso = clock.toISOString();
      // Never earlier than the previous entry: a clock stepping back (no RTC before NTP)
      // keeps the last time until it catches up, so seq order is time order.
      const at = nowIso < tip.at ? tip.at : nowIso;
      const body = { seq: tip.seq + 1, at, ...ev, prev: tip.hash };
      const entry: AccessEntry = { ...body, hash: entryHash(body) };
      if (this.entries.get(entry.seq) !== undefined) {
        throw new VeilportError('AUDIT_BROKEN', `access log: seq ${entry.seq} is already taken; run "veilport audit verify"`, { seq: entry.seq });
      }
      this.entries.putSync(entry.seq, entry);
      const head = this.signHead(entry.seq, entry.hash, nowIso);
      this.cps.putSync(HEAD_KEY, head);
      if (entry.seq % this.checkpointEvery === 0) this.cps.putSync(checkpointKey(entry.seq), this.signCheckpoint(entry.seq, entry.hash, nowIso));
      this.scheduleWitness();
      return entry;
    });
  }

  /**
   * Brings the witness file up to the committed signed head, unless the head is behind
   * it (the database went back) or the chain no longer passes through it (rewritten): then
   * the witness stays, its head is kept in the database as a checkpoint (evidence that
   * survives the next appends) and onTamper is told. Runs by itself shortly after every
   * append; call it to be sure (tests, shutdown). Must be called outside a transaction.
   * @throws the error a write of the witness met (disk full, permissions).
   */
  flushWitness(): void {
    if (this.witnessTimer) {
      clearTimeout(this.witnessTimer);
      this.witnessTimer = null;
    }
    const earlier = this.witnessError;
    this.witnessError = null;
    if (!this.witnessFile) return;
    const head = this.cps.get(HEAD_KEY) as SignedHead | undefined;
    if (!head || head.v !== 2 || !Number.isSafeInteger(head.length)) return;
    const w = readWitness(this.witnessFile);
    if (w.state === 'present') {
      const wh = w.head as SignedHead;
      const valid = typeof wh.length === 'number' && isHash(wh.hash) && typeof wh.at === 'string' && this.trustedKeys.some((k) => verifyBytes(k, headMessageV2(wh), wh.signature));
      if (valid) {
        const behind = wh.length > head.length || (wh.length === head.length && wh.hash !== head.hash);
        const at = wh.length < head.length ? this.entries.get(wh.length) : undefined;
        const rewritten = at !== undefined && at.hash !== wh.hash;
        if (behind || rewritten) {
          this.keepEvidence(wh, behind
            ? `access log: the database was rolled back: its signed head is seq ${head.length} but the witness ${this.witnessFile} recorded seq ${wh.length} (${wh.at})`
            : `access log: the chain no longer passes through the witness (${this.witnessFile}, seq ${wh.length} of ${wh.at}): entries were rewritten`);
          if (behind) return;
        } else if (wh.length === head.length) {
          if (earlier) throw earlier;
          return;
        }
      } else {
        this.alertOnce(`witness-invalid:${String(wh.signature)}`, `access log: the witness ${this.witnessFile} does not verify with this appliance's key; it is replaced`);
      }
    } else if (w.state === 'unreadable') {
      this.alertOnce(`witness-unreadable:${w.why}`, `access log: the witness ${this.witnessFile} is unreadable (${w.why}); it is replaced`);
    }
    writeWitness(this.witnessFile, head);
  }

  private keepEvidence(wh: SignedHead, message: string): void {
    this.alertOnce(`witness:${wh.length}:${wh.hash}`, message);
    this.store.transaction(() => {
      const a = this.cps.get(ANCHOR_KEY) as SignedAnchor | undefined;
      if (wh.length > (a?.seq ?? 0) && this.cps.get(checkpointKey(wh.length)) === undefined) this.cps.putSync(checkpointKey(wh.length), wh);
    });
  }

  private alertOnce(key: string, message: string): void {
    if (this.alerted.has(key)) return;
    this.alerted.add(key);
    this.onTamper(message);
  }

  private scheduleWitness(): void {
    if (!this.witnessFile || this.witnessTimer) return;
    this.witnessTimer = setTimeout(() => {
      this.witnessTimer = null;
      try {
        this.flushWitness();
      } catch (e) {
        // A closed store (shutdown) or a failed write: kept for the next explicit flush.
        this.witnessError = e;
      }
    }, WITNESS_DELAY_MS);
    this.witnessTimer.unref();
  }

  /**
   * `database` with every putSync/removeSync sealed by the appliance key in the same
   * transaction (record-seal.ts), so `veilport audit verify` finds records changed
   * offline. Seals the records already there the first time (a store from before seals).
   */
  sealed<V, K extends Key>(database: Database<V, K>, name: SealedDatabase): Database<V, K> {
    const sealer = new RecordSealer(this.store, this.signer.applianceId, this.key, this.now);
    sealer.sealExisting(name);
    return sealer.wrap(database, name);
  }

  /** seq and hash of the last entry (length 0 and GENESIS_HASH for an empty log). */
  head(): { length: number; hash: string } {
    const t = this.tip();
    return { length: t.seq, hash: t.hash };
  }

  /**
   * The stored signed head (what telemetry publishes on <base>/audit/head). An empty
   * log gets a freshly signed genesis head.
   * @throws VeilportError AUDIT_BROKEN when entries exist but the signed head is gone.
   */
  signedHead(): SignedHead {
    const h = this.cps.get(HEAD_KEY) as SignedHead | undefined;
    if (h) return h;
    const t = this.tip();
    if (t.seq !== 0) throw new VeilportError('AUDIT_BROKEN', `access log: the signed head is missing although the log has ${t.seq} entries; run "veilport audit verify"`);
    return this.signHead(0, GENESIS_HASH, this.now().toISOString());
  }

  /** Entries newest first, filtered; page with `beforeSeq`. */
  list(q: AccessListQuery = {}): AccessEntry[] {
    return listAccessLog(this.store, q);
  }

  /** How many entries of `account` with one of `actions` since `since` (for the daily export/download alert). */
  count(q: AccessCountQuery): number {
    if (typeof q.account !== 'string' || q.account === '') throw new VeilportError('BAD_INPUT', 'access log count: account is required', { field: 'account' });
    if (!Array.isArray(q.actions) || q.actions.length === 0 || !q.actions.every((a) => (ACCESS_ACTIONS as readonly string[]).includes(a))) {
      throw new VeilportError('BAD_INPUT', `access log count: actions must be a non-empty list of ${ACCESS_ACTIONS.join(', ')}`, { field: 'actions' });
    }
    if (!(q.since instanceof Date) || Number.isNaN(q.since.getTime())) throw new VeilportError('BAD_INPUT', 'access log count: since must be a valid Date', { field: 'since' });
    const since = q.since.toISOString();
    const actions = new Set<string>(q.actions);
    let n = 0;
    for (const { value } of this.entries.getRange({ reverse: true })) {
      if (!value || typeof value.at !== 'string') continue;
      if (value.at < since) break;
      if (value.account === q.account && actions.has(value.action) && (q.result === undefined || value.result === q.result)) n++;
    }
    return n;
  }

  /**
   * Removes entries older than `olderThan` (retention) and signs an anchor (seq and hash
   * of the last removed entry) from which the rest of the chain still verifies. Refuses
   * to cut into the last 2 years unless told, and refuses to prune a stretch that does
   * not verify up to a signed checkpoint (it would launder tampering under a signature).
   * Call it outside any transaction (it commits in batches and reads committed data).
   * @returns how many entries were removed.
   * @throws VeilportError BAD_INPUT inside the 2-year minimum; AUDIT_BROKEN when the stretch does not verify.
   */
  prune(olderThan: Date, options: PruneOptions = {}): number {
    if (!(olderThan instanceof Date) || Number.isNaN(olderThan.getTime())) throw new VeilportError('BAD_INPUT', 'access log prune: olderThan must be a valid Date', { field: 'olderThan' });
    const now = this.now();
    const limit = addYearsUtc(now, -MIN_RETENTION_YEARS);
    if (olderThan > limit && !options.belowMinimumRetention) {
      throw new VeilportError(
        'BAD_INPUT',
        `access log prune: entries are kept at least ${MIN_RETENTION_YEARS} years; olderThan must be on or before ${limit.toISOString()} (got ${olderThan.toISOString()})`,
        { field: 'olderThan' },
      );
    }
    const cut = olderThan.toISOString();
    let last: AccessEntry | undefined;
    for (const { value } of this.entries.getRange({})) {
      if (!value || typeof value.at !== 'string' || value.at >= cut) break;
      last = value;
    }
    if (!last) return 0;
    const report = verifyAccessLog(this.store, this.trusted, { throughSeq: last.seq });
    if (report.problems.length > 0) {
      const p = report.problems[0] as AuditProblem;
      throw new VeilportError('AUDIT_BROKEN', `access log prune: refused, the entries to prune do not verify (seq ${p.seq}: ${p.kind}: ${p.message}); run "veilport audit verify"`, {
        problems: report.problems.length,
      });
    }
    const lastSeq = last.seq;
    let removed = 0;
    for (;;) {
      const n = this.store.transaction(() => {
        const batch: AccessEntry[] = [];
        for (const { key, value } of this.entries.getRange({ end: lastSeq, inclusiveEnd: true, limit: PRUNE_BATCH })) {
          if (typeof key !== 'number') break;
          batch.push(value);
        }
        if (batch.length === 0) return 0;
        for (const e of batch) this.entries.removeSync(e.seq);
        const lastOut = batch[batch.length - 1] as AccessEntry;
        const body = { applianceId: this.signer.applianceId, seq: lastOut.seq, hash: lastOut.hash, entryAt: lastOut.at, prunedAt: now.toISOString() };
        const anchor: SignedAnchor = { ...body, signature: signBytes(this.key, anchorMessage(body)) };
        this.cps.putSync(ANCHOR_KEY, anchor);
        for (const { key } of this.cps.getRange({ start: CHECKPOINT_RANGE.start, end: checkpointKey(lastOut.seq), inclusiveEnd: true })) this.cps.removeSync(key);
        return batch.length;
      });
      if (n === 0) break;
      removed += n;
    }
    return removed;
  }

  /** Last entry (seq, hash, at), or the pruning anchor, or genesis. Reads inside the current transaction when there is one. */
  private tip(): Tip {
    for (const { key, value } of this.entries.getRange({ reverse: true })) {
      if (typeof key !== 'number' || !Number.isSafeInteger(key) || key < 1) {
        this.onTamper(`access log: an entry is stored under key ${JSON.stringify(key)}, which is no sequence number`);
        continue;
      }
      if (!value || value.seq !== key || !isHash(value.hash) || typeof value.at !== 'string') {
        throw new VeilportError('AUDIT_BROKEN', `access log: the last entry (seq ${key}) is unreadable or altered; run "veilport audit verify"`, { seq: key });
      }
      return { seq: key, hash: value.hash, at: value.at };
    }
    const a = this.cps.get(ANCHOR_KEY) as SignedAnchor | undefined;
    if (a && Number.isSafeInteger(a.seq) && isHash(a.hash)) return { seq: a.seq, hash: a.hash, at: a.entryAt };
    return { seq: 0, hash: GENESIS_HASH, at: '' };
  }

  /**
   * The stored head must describe the tip we are about to extend. If it does not, the
   * database was changed behind our back; keep the old signed head as a checkpoint (so
   * appending and re-signing cannot launder a truncation) and tell the caller.
   */
  private checkHead(tip: Tip): void {
    const h = this.cps.get(HEAD_KEY) as SignedHead | undefined;
    if (h === undefined) {
      if (tip.seq > 0) this.onTamper(`access log: the signed head is missing although the log ends at seq ${tip.seq}`);
      return;
    }
    if (h.length === tip.seq && h.hash === tip.hash) return;
    this.onTamper(`access log: the log ends at seq ${tip.seq} (${tip.hash.slice(0, 16)}…) but its signed head says seq ${h.length} (${String(h.hash).slice(0, 16)}…)`);
    if (Number.isSafeInteger(h.length) && h.length > 0 && this.cps.get(checkpointKey(h.length)) === undefined) this.cps.putSync(checkpointKey(h.length), h);
  }

  /** The head: signed in the head context, so no checkpoint can ever stand in for it. */
  private signHead(length: number, hash: string, at: string): SignedHead {
    const body = { applianceId: this.signer.applianceId, length, hash, at };
    return { ...body, v: 2, signature: signBytes(this.key, headMessageV2(body)) };
  }

  /** A checkpoint kept for good: signed in the checkpoint context (never valid as a head). */
  private signCheckpoint(length: number, hash: string, at: string): SignedHead {
    const body = { applianceId: this.signer.applianceId, length, hash, at };
    return { ...body, v: 2, signature: signBytes(this.key, checkpointMessage(body)) };
  }
}

/** Entries newest first, filtered; page with `beforeSeq`. Needs no key: for auditors' consoles too. */
export function listAccessLog(store: Store, q: AccessListQuery = {}): AccessEntry[] {
  const entries = store.db<AccessEntry, number>('accessLog');
  const limit = q.limit ?? 100;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIST) throw new VeilportError('BAD_INPUT', `access log query: limit must be 1..${MAX_LIST} (got ${limit})`, { field: 'limit' });
  if (q.beforeSeq !== undefined && (!Number.isSafeInteger(q.beforeSeq) || q.beforeSeq < 1)) {
    throw new VeilportError('BAD_INPUT', `access log query: beforeSeq must be a positive whole number (got ${q.beforeSeq})`, { field: 'beforeSeq' });
  }
  if (q.action !== undefined && !(ACCESS_ACTIONS as readonly string[]).includes(q.action)) {
    throw new VeilportError('BAD_INPUT', `access log query: action "${q.action}" is not one of ${ACCESS_ACTIONS.join(', ')}`, { field: 'action' });
  }
  const from = q.from !== undefined ? isoOption('from', q.from) : undefined;
  const to = q.to !== undefined ? isoOption('to', q.to) : undefined;
  let start = q.beforeSeq;
  if (to !== undefined) {
    const s = firstSeqAtOrAfter(entries, to);
    if (s !== undefined && (start === undefined || s < start)) start = s;
  }
  const out: AccessEntry[] = [];
  const range = start === undefined ? { reverse: true } : { reverse: true, start, exclusiveStart: true };
  for (const { value } of entries.getRange(range)) {
    if (!value || typeof value.at !== 'string') continue;
    if (to !== undefined && value.at >= to) continue;
    if (from !== undefined && value.at < from) break;
    if (q.account !== undefined && value.account !== q.account) continue;
    if (q.action !== undefined && value.action !== q.action) continue;
    out.push(value);
    if (out.length >= limit) break;
  }
  return out;
}

/** Smallest seq whose `at` is >= iso (binary search: `at` never decreases along seq), or undefined when none or the keys have gaps. */
function firstSeqAtOrAfter(entries: Database<AccessEntry, number>, iso: string): number | undefined {
  let lo: number | undefined;
  let hi: number | undefined;
  for (const { key } of entries.getRange({ limit: 1 })) lo = key;
  for (const { key } of entries.getRange({ reverse: true, limit: 1 })) hi = key;
  if (lo === undefined || hi === undefined || !Number.isSafeInteger(lo) || !Number.isSafeInteger(hi)) return undefined;
  const last = entries.get(hi);
  if (!last || last.at < iso) return undefined;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const e = entries.get(mid);
    if (!e || typeof e.at !== 'string') return undefined;
    if (e.at >= iso) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
