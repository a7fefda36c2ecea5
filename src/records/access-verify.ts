/**
 * Verification of the access log: walks the chain in seq order from the signed pruning
 * anchor (or genesis), recomputes every hash, checks every link, and compares the chain
 * with every signed checkpoint, the signed head and any head obtained from elsewhere
 * (the central broker). Reads one consistent snapshot, so it can run next to the daemon.
 * What each problem kind means: docs/access-log.md.
 */
import type { KeyObject } from 'node:crypto';
import type { Key } from 'lmdb';
import type { Store } from '../store/store.js';
import { applianceIdFor } from '../seal/signing-key.js';
import {
  ACCESS_ACTIONS,
  ACCESS_RESULTS,
  ANCHOR_KEY,
  CHECKPOINT_RANGE,
  GENESIS_HASH,
  HEAD_KEY,
  ISO_MS,
  anchorMessage,
  checkpointMessage,
  entryHash,
  headMessage,
  headMessageV2,
  isHash,
  publicKeyObject,
  verifyBytes,
  type AccessEntry,
  type SignedAnchor,
  type SignedHead,
} from './access-format.js';
import { defaultWitnessPath, readWitness } from './access-witness.js';

export interface AuditProblem {
  seq: number;
  kind: 'edited' | 'inserted' | 'deleted' | 'truncated' | 'reordered' | 'bad-checkpoint';
  message: string;
}

export interface AuditReport {
  ok: boolean;
  /** seq of the last entry (entries ever appended, pruned ones included). */
  length: number;
  /** Chain hash of the last entry (GENESIS_HASH when empty). */
  head: string;
  /** Signed checkpoints whose signature verified (the signed head not counted). */
  checkpoints: number;
  problems: AuditProblem[];
  /** Entries actually present (length minus pruned). */
  entries: number;
  /** Where pruning cut the chain, if it did. */
  anchor: { seq: number; entryAt: string; prunedAt: string } | null;
  /** The stored signed head, if its signature verified. */
  signedHead: { length: number; hash: string; at: string } | null;
  /** The witness file's head (outside the database), if there is one and it verified. */
  witness: { file: string; length: number; hash: string; at: string } | null;
  /** Things worth knowing that are not problems (no witness file yet, a legacy head format). */
  notes: string[];
}

export interface VerifyAccessLogOptions {
  /** Heads known from outside the box (published over MQTT, written down by an auditor): the chain must pass through each. */
  expectHeads?: Array<{ length: number; hash: string }>;
  /** Stop after the first signed checkpoint at or after this seq (used by prune); tail checks are skipped. */
  throughSeq?: number;
  /** The witness file to compare with (default `<data>/access-witness.json`); false: none. */
  witness?: string | false;
}

interface SignedPoint {
  seq: number;
  hash: string;
  /** Words for messages: "its signed checkpoint of <at>". */
  what: string;
}

const plural = (n: number, one: string, many: string) => (n === 1 ? one : many);

function isEntry(v: unknown): v is AccessEntry {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return (
    Number.isSafeInteger(e['seq']) &&
    typeof e['at'] === 'string' &&
    ISO_MS.test(e['at']) &&
    (e['account'] === null || typeof e['account'] === 'string') &&
    typeof e['ip'] === 'string' &&
    typeof e['action'] === 'string' &&
    (ACCESS_ACTIONS as readonly string[]).includes(e['action']) &&
    typeof e['target'] === 'string' &&
    typeof e['result'] === 'string' &&
    (ACCESS_RESULTS as readonly string[]).includes(e['result']) &&
    (e['detail'] === undefined || typeof e['detail'] === 'string') &&
    isHash(e['prev']) &&
    isHash(e['hash'])
  );
}

function isHeadShape(v: unknown): v is SignedHead {
  if (typeof v !== 'object' || v === null) return false;
  const h = v as Record<string, unknown>;
  return typeof h['applianceId'] === 'string' && Number.isSafeInteger(h['length']) && (h['length'] as number) >= 0 && isHash(h['hash']) && typeof h['at'] === 'string' && ISO_MS.test(h['at']);
}

function isAnchorShape(v: unknown): v is SignedAnchor {
  if (typeof v !== 'object' || v === null) return false;
  const a = v as Record<string, unknown>;
  return (
    typeof a['applianceId'] === 'string' &&
    Number.isSafeInteger(a['seq']) &&
    (a['seq'] as number) >= 1 &&
    isHash(a['hash']) &&
    typeof a['entryAt'] === 'string' &&
    ISO_MS.test(a['entryAt']) &&
    typeof a['prunedAt'] === 'string'
  );
}

/**
 * Verifies the whole access log against the appliance's public key(s) (more than one
 * after a key rotation). Never throws for a broken log: every finding is a problem in
 * the report, sorted by seq.
 */
export function verifyAccessLog(store: Store, publicKey: Uint8Array | readonly Uint8Array[], options: VerifyAccessLogOptions = {}): AuditReport {
  const txn = store.root.useReadTransaction();
  try {
    return verifyIn(store, txn, publicKey instanceof Uint8Array ? [publicKey] : publicKey, options);
  } finally {
    txn.done();
  }
}

function verifyIn(store: Store, transaction: ReturnType<Store['root']['useReadTransaction']>, publicKeys: readonly Uint8Array[], options: VerifyAccessLogOptions): AuditReport {
  const entries = store.db<unknown, Key>('accessLog');
  const cps = store.db<unknown, Key>('checkpoints');
  const keys = new Map<string, KeyObject>(publicKeys.map((k) => [applianceIdFor(k), publicKeyObject(k)]));
  const problems: AuditProblem[] = [];
  const add = (seq: number, kind: AuditProblem['kind'], message: string) => problems.push({ seq, kind, message });

  // Which messages a record may be signed over depends on where it is stored: a
  // checkpoint slot takes a checkpoint, a retained head or a format-1 record; the head
  // slot takes only a head signed in the head context (format 2), so no checkpoint can be
  // put back as the head.
  const sigIn = (h: SignedHead, msg: (x: SignedHead) => Uint8Array) => {
    const k = keys.get(h.applianceId);
    return k !== undefined && verifyBytes(k, msg(h), h.signature);
  };
  const cpSigOk = (h: unknown): h is SignedHead => {
    if (!isHeadShape(h)) return false;
    if (h.v === 2) return sigIn(h, checkpointMessage) || sigIn(h, headMessageV2);
    return h.v === undefined && sigIn(h, headMessage);
  };
  const headSigOk = (h: unknown): h is SignedHead => isHeadShape(h) && h.v === 2 && sigIn(h, headMessageV2);
  const notes: string[] = [];
  const whose = (v: unknown) => {
    const id = (v as { applianceId?: unknown } | null)?.applianceId;
    return typeof id === 'string' && !keys.has(id) ? ` (signed as ${id.slice(0, 40)}, not a trusted appliance key)` : '';
  };

  // 1. Where the chain starts: the signed pruning anchor, or genesis.
  let anchor: SignedAnchor | null = null;
  const anchorRaw = cps.get(ANCHOR_KEY, { transaction });
  let anchorBad = false;
  if (anchorRaw !== undefined) {
    const k = isAnchorShape(anchorRaw) ? keys.get(anchorRaw.applianceId) : undefined;
    if (isAnchorShape(anchorRaw) && k && verifyBytes(k, anchorMessage(anchorRaw), anchorRaw.signature)) anchor = anchorRaw;
    else {
      anchorBad = true;
      const s = (anchorRaw as { seq?: unknown } | null)?.seq;
      add(Number.isSafeInteger(s) ? (s as number) : 0, 'bad-checkpoint', `the pruning anchor's signature does not verify${whose(anchorRaw)}: forged or altered; where the kept chain starts is unproven`);
    }
  }
  const base = anchor?.seq ?? 0;

  // 2. Signed points: checkpoints (signatures checked when reached, or at the end), head, outside heads.
  const cpRaw = new Map<number, unknown>();
  for (const { key, value } of cps.getRange({ ...CHECKPOINT_RANGE, transaction })) {
    const seq = Array.isArray(key) ? key[1] : undefined;
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq)) {
      add(0, 'bad-checkpoint', `a checkpoint is stored under key ${JSON.stringify(key)}, which no append writes`);
      continue;
    }
    if (seq > base) cpRaw.set(seq, value);
  }
  let checkpointsOk = 0;
  const points = new Map<number, SignedPoint[]>();
  const addPoint = (p: SignedPoint) => {
    const l = points.get(p.seq) ?? [];
    l.push(p);
    points.set(p.seq, l);
  };
  const checkedCps = new Set<number>();
  const checkCheckpoint = (seq: number): void => {
    if (checkedCps.has(seq)) return;
    checkedCps.add(seq);
    const v = cpRaw.get(seq);
    if (cpSigOk(v) && v.length === seq) {
      checkpointsOk++;
      addPoint({ seq, hash: v.hash, what: `its signed checkpoint of ${v.at}` });
    } else {
      add(seq, 'bad-checkpoint', `the checkpoint at seq ${seq} does not verify${whose(v)}: forged or altered`);
    }
  };

  let head: SignedHead | null = null;
  const headRaw = cps.get(HEAD_KEY, { transaction });
  if (headRaw !== undefined) {
    if (headSigOk(headRaw)) {
      head = headRaw;
      if (head.length > base) addPoint({ seq: head.length, hash: head.hash, what: `the signed head of ${head.at}` });
      else if (anchor && head.length === anchor.seq && head.hash !== anchor.hash) add(head.length, 'edited', `the signed head (seq ${head.length}) does not match the pruning anchor`);
    } else {
      const l = (headRaw as { length?: unknown } | null)?.length;
      const at = Number.isSafeInteger(l) ? (l as number) : 0;
      if (isHeadShape(headRaw) && headRaw.v === 2 && sigIn(headRaw, checkpointMessage)) {
        add(at, 'bad-checkpoint', `the signed head is a checkpoint (seq ${at}, signed in the checkpoint context) put in the head's place: the log was cut back to seq ${at} and everything after it may be gone`);
      } else if (isHeadShape(headRaw) && headRaw.v === undefined && sigIn(headRaw, headMessage)) {
        add(at, 'bad-checkpoint', `the signed head (seq ${at}) is in format 1, signed like a checkpoint, so it may be a checkpoint put in the head's place; an append re-signs it in format 2 (docs/access-log.md)`);
      } else {
        add(at, 'bad-checkpoint', `the signed head does not verify${whose(headRaw)}: forged or altered`);
      }
    }
  }

  // The witness: the latest head as copied outside the database. Ahead of the log: rolled back.
  let witness: AuditReport['witness'] = null;
  const witnessFile = options.witness === false ? null : (options.witness ?? defaultWitnessPath(store));
  if (witnessFile) {
    const w = readWitness(witnessFile);
    if (w.state === 'absent') notes.push(`no witness file at ${witnessFile} (written after the first append of this version; until then a rollback to an older copy of the database is only visible against published heads)`);
    else if (w.state === 'unreadable') add(0, 'bad-checkpoint', `the witness file ${witnessFile} is unreadable (${w.why}): damaged or replaced`);
    else if (!headSigOk(w.head)) add(0, 'bad-checkpoint', `the witness file ${witnessFile} does not verify as a signed head${whose(w.head)}: forged or altered`);
    else {
      witness = { file: witnessFile, length: w.head.length, hash: w.head.hash, at: w.head.at };
      if (w.head.length > base) addPoint({ seq: w.head.length, hash: w.head.hash, what: `the witness file's head of ${w.head.at}` });
    }
  }
  for (const h of options.expectHeads ?? []) {
    if (h.length > base) addPoint({ seq: h.length, hash: h.hash.toLowerCase(), what: `the expected head ${h.length}:${h.hash.slice(0, 16)}…` });
  }

  // 3. Walk the chain.
  let expected = base + 1;
  let prevHash: string | null = anchorBad ? null : (anchor?.hash ?? GENESIS_HASH);
  let prevAt = anchor?.entryAt ?? '';
  let lastSeq = base;
  let lastHash = anchor?.hash ?? GENESIS_HASH;
  let present = 0;
  let firstEntry = true;
  const brokenLinks: number[] = [];
  const misplaced: Array<{ key: number; seq: number }> = [];
  let lastSignedOk = true;
  let lastGoodSigned = base;
  let stoppedEarly = false;
  const rewrites: Array<{ after: number; key: number; what: string }> = [];

  for (const { key, value } of entries.getRange({ transaction })) {
    if (typeof key !== 'number' || !Number.isSafeInteger(key) || key < 1) {
      add(typeof key === 'number' && Number.isFinite(key) ? Math.ceil(key) : lastSeq + 1, 'inserted', `an entry was inserted under key ${JSON.stringify(key)}, which is no sequence number${isEntry(value) ? ` (it claims seq ${value.seq}, ${value.action} by ${value.account ?? '-'})` : ''}`);
      continue;
    }
    if (key <= base) {
      add(key, 'inserted', `entry ${key} lies at or before the pruning anchor (seq ${base}): it was put back or inserted after pruning`);
      continue;
    }
    if (firstEntry && anchorBad) {
      // Unproven start: take the first entry's own claims and go on checking from there.
      expected = key;
    }
    let gap = false;
    if (key > expected) {
      const n = key - expected;
      add(expected, 'deleted', n === 1 ? `entry ${expected} is missing` : `entries ${expected}..${key - 1} are missing (${n} entries)`);
      gap = true;
    }
    if (!isEntry(value)) {
      add(key, 'edited', `entry ${key} is not a valid entry any more (a field is missing or of the wrong type)`);
      prevHash = null;
      lastSeq = key;
      expected = key + 1;
      firstEntry = false;
      present++;
      continue;
    }
    if (value.seq !== key) misplaced.push({ key, seq: value.seq });
    const { hash, ...body } = value;
    if (entryHash(body) !== hash) add(key, 'edited', `entry ${key} was edited: its fields no longer match its hash`);
    if (!gap && prevHash !== null && !(firstEntry && anchorBad) && value.prev !== prevHash) brokenLinks.push(key);
    if (prevAt !== '' && value.at < prevAt) add(key, 'reordered', `entry ${key} is timed ${value.at}, before the entry preceding it (${prevAt})`);
    if (cpRaw.has(key)) checkCheckpoint(key);
    const here = points.get(key) ?? [];
    const mismatch = here.find((p) => p.hash !== hash);
    if (mismatch) {
      if (lastSignedOk) rewrites.push({ after: lastGoodSigned, key, what: mismatch.what });
      lastSignedOk = false;
    } else if (here.length > 0) {
      lastSignedOk = true;
      lastGoodSigned = key;
    }
    prevHash = hash;
    prevAt = value.at;
    lastSeq = key;
    lastHash = hash;
    expected = key + 1;
    firstEntry = false;
    present++;
    if (options.throughSeq !== undefined && key >= options.throughSeq && here.length > 0) {
      stoppedEarly = true;
      break;
    }
  }

  // Links: one broken link k-1 -> k means entry k-1 was changed (and re-hashed) after k
  // was chained to it; two in a row (k, k+1) mean entry k was replaced.
  const moved = new Set(misplaced.map((m) => m.key));
  const broken = new Set(brokenLinks.filter((k) => !moved.has(k) && !moved.has(k - 1)));
  for (const k of broken) {
    if (broken.has(k - 1)) continue; // reported with the run's first link
    if (broken.has(k + 1)) add(k, 'edited', `entry ${k} was replaced: it neither chains to entry ${k - 1} nor is it the entry ${k + 1} was chained to`);
    else if (k - 1 === base) add(k, 'edited', `entry ${k} does not chain to ${base === 0 ? 'the start of the log' : `the pruning anchor (seq ${base})`}`);
    else add(k - 1, 'edited', `entry ${k - 1} was changed and re-hashed: entry ${k} was chained to a different hash`);
  }

  // Entries whose seq field disagrees with where they are stored, in runs of consecutive keys.
  let tailShift = 0;
  for (let i = 0; i < misplaced.length; ) {
    let j = i;
    while (j + 1 < misplaced.length && misplaced[j + 1]!.key === misplaced[j]!.key + 1) j++;
    const run = misplaced.slice(i, j + 1);
    const first = run[0]!;
    const keysInRun = run.map((r) => r.key).sort((a, b) => a - b).join(',');
    const seqsInRun = run.map((r) => r.seq).sort((a, b) => a - b).join(',');
    const last = run[run.length - 1]!;
    const shift = first.key - first.seq;
    const constant = run.every((r) => r.key - r.seq === shift);
    const span = (a: number, b: number) => (a === b ? `entry ${a} was` : `entries ${a}..${b} were`);
    if (keysInRun === seqsInRun) add(first.key, 'reordered', `entries ${run.map((r) => r.key).join(', ')} were moved: each is stored where another belongs`);
    else if (constant && shift > 0) {
      add(first.seq, 'inserted', `${span(first.seq, first.key - 1)} inserted and the entries after renumbered: entry ${first.key} says it is seq ${first.seq}`);
      if (last.key === lastSeq) tailShift = shift;
    } else if (constant && shift < 0) {
      add(first.key, 'deleted', `${span(first.key, first.seq - 1)} deleted and the entries after renumbered: entry ${first.key} says it is seq ${first.seq}`);
      if (last.key === lastSeq) tailShift = shift;
    } else add(first.key, 'reordered', `entries ${first.key}..${last.key} are not stored under their own seq`);
    i = j + 1;
  }

  // Signed points the chain no longer passes through, where no local finding explains
  // it: the stretch was rewritten consistently (re-hashed), which only a signature shows.
  let rewritten = false;
  for (const r of rewrites) {
    if (problems.some((q) => q.seq > r.after && q.seq <= r.key && q.kind !== 'bad-checkpoint')) continue;
    rewritten = true;
    const signedLength = head?.length;
    const kind: AuditProblem['kind'] = signedLength === undefined || signedLength === lastSeq ? 'edited' : lastSeq > signedLength ? 'inserted' : 'deleted';
    const lengths = signedLength === undefined || signedLength === lastSeq ? '' : ` (the log now ends at seq ${lastSeq}, the signed head says ${signedLength}: entries were ${kind})`;
    add(r.after + 1, kind, `entries after seq ${r.after} were rewritten and re-hashed: the hash of entry ${r.key} does not match ${r.what}${lengths}`);
  }

  // 4. Tail: truncation, entries no signature covers, checkpoints never reached.
  if (!stoppedEarly) {
    for (const seq of cpRaw.keys()) if (seq > lastSeq) checkCheckpoint(seq);
    let coveredTo = base;
    let coveredBy = '';
    for (const [seq, ps] of points) {
      if (seq > coveredTo) {
        coveredTo = seq;
        coveredBy = ps[0]!.what;
      }
    }
    const explained = head !== null && tailShift !== 0 && lastSeq - head.length === tailShift;
    if (coveredTo > lastSeq && !rewritten && !explained) {
      const n = coveredTo - lastSeq;
      const rolled = coveredBy.startsWith('the witness') ? ' (or the database was rolled back to an older copy)' : '';
      add(lastSeq + 1, 'truncated', `the log ends at seq ${lastSeq} but ${coveredBy} covers ${coveredTo}: ${n} ${plural(n, 'entry was', 'entries were')} removed from the end${rolled}`);
    }
    if (head && lastSeq > head.length && head.length >= base && !rewritten && !explained) {
      add(head.length + 1, 'inserted', `entries ${head.length + 1}..${lastSeq} come after the signed head (seq ${head.length}): added without the appliance key`);
    }
    if (!head && headRaw === undefined && lastSeq > base) add(lastSeq, 'bad-checkpoint', `the signed head is missing although the log ends at seq ${lastSeq}`);
    if (head && coveredTo > head.length && head.length >= base) {
      add(head.length, 'bad-checkpoint', `the signed head (seq ${head.length}, ${head.at}) is behind a later signed checkpoint, expected head or witness (seq ${coveredTo}): the log was cut back and the head rolled back to an older one or re-signed`);
    }
  }

  const seen = new Set<string>();
  const unique = problems
    .sort((a, b) => a.seq - b.seq)
    .filter((p) => {
      const k = `${p.seq}|${p.kind}|${p.message}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  return {
    ok: unique.length === 0,
    length: lastSeq,
    head: lastHash,
    checkpoints: checkpointsOk,
    problems: unique,
    entries: present,
    anchor: anchor ? { seq: anchor.seq, entryAt: anchor.entryAt, prunedAt: anchor.prunedAt } : null,
    signedHead: head ? { length: head.length, hash: head.hash, at: head.at } : null,
    witness,
    notes,
  };
}
