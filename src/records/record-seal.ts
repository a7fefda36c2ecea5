/**
 * Seals on the request records (the ledger's source): every time a request is written,
 * the appliance key signs the SHA-256 of the record's stored bytes, in the same
 * transaction. An offline edit of a record in LMDB (a `reviewedBy`, a decision in its
 * history, a destruction) no longer matches its seal; a record inserted offline has
 * none; a record deleted offline leaves a seal without a record. `veilport audit verify`
 * checks them all. Format and limits: docs/access-log.md, "Request records".
 *
 * Storage: the `checkpoints` database, key ["record-seal", <database>, <record key>].
 * Records present when this version first opened the store are sealed as found, once
 * (marker "record-seals-since"); see the docs for what that means.
 */
import { createHash, type KeyObject } from 'node:crypto';
import type { Database, Key } from 'lmdb';
import type { Store } from '../store/store.js';
import { applianceIdFor } from '../seal/signing-key.js';
import { ISO_MS, isHash, publicKeyObject, signBytes, verifyBytes } from './access-format.js';

/** Databases whose records are sealed. */
export const SEALED_DATABASES = ['requests'] as const;
export type SealedDatabase = (typeof SEALED_DATABASES)[number];

export const SEAL_DOMAIN = 'veilport record seal v1\n';
export const SEALS_SINCE_KEY = 'record-seals-since';
export const sealKey = (db: SealedDatabase, key: string): [string, string, string] => ['record-seal', db, key];
const sealRange = (db: SealedDatabase) => ({ start: ['record-seal', db, ''] as Key, end: ['record-seal', db, '\uffff'] as Key });

export interface RecordSeal {
  v: 1;
  applianceId: string;
  db: SealedDatabase;
  key: string;
  /** Hex SHA-256 of the record's stored bytes; null: the record was removed on purpose. */
  sha256: string | null;
  at: string;
  signature: string;
}

const utf8 = new TextEncoder();

/** The bytes a seal's signature covers: UTF-8 lines, no trailing newline ("-" for a removal). */
export function sealMessage(s: Omit<RecordSeal, 'signature' | 'v'>): Uint8Array {
  return utf8.encode(`${SEAL_DOMAIN}${s.applianceId}\n${s.db}\n${s.key}\n${s.sha256 ?? '-'}\n${s.at}`);
}

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Signs seals with the appliance key; used by AccessLog.sealed(). */
export class RecordSealer {
  constructor(
    private readonly store: Store,
    private readonly applianceId: string,
    private readonly key: KeyObject,
    private readonly now: () => Date,
  ) {}

  /** Seals the record as stored now (call inside the transaction that wrote it). */
  seal(db: SealedDatabase, key: string): void {
    const raw = this.store.db(db).getBinary(key);
    const body = { applianceId: this.applianceId, db, key, sha256: raw === undefined ? null : sha256Hex(raw), at: this.now().toISOString() };
    const seal: RecordSeal = { v: 1, ...body, signature: signBytes(this.key, sealMessage(body)) };
    this.store.db('checkpoints').putSync(sealKey(db, key), seal);
  }

  /**
   * Once per store: seals the records that exist before any seal was written (a store
   * from an earlier version), and leaves a signed marker so it never happens again.
   */
  sealExisting(db: SealedDatabase): number {
    const cps = this.store.db('checkpoints');
    return this.store.transaction(() => {
      if (cps.get([SEALS_SINCE_KEY, db]) !== undefined) return 0;
      let n = 0;
      for (const { key } of this.store.db(db).getRange({})) {
        if (typeof key !== 'string') continue;
        if (cps.get(sealKey(db, key)) === undefined) {
          this.seal(db, key);
          n++;
        }
      }
      // Not signed: it only stops this from running twice (what removing it allows: docs).
      cps.putSync([SEALS_SINCE_KEY, db], { at: this.now().toISOString(), sealedAsFound: n });
      return n;
    });
  }

  /**
   * The database with every putSync/removeSync followed by a seal in the same
   * transaction. Other writes (async put/remove) are refused: they would commit
   * outside the caller's transaction, apart from their seal.
   */
  wrap<V, K extends Key>(database: Database<V, K>, db: SealedDatabase): Database<V, K> {
    return new Proxy(database, {
      get: (target, prop, receiver) => {
        if (prop === 'putSync' || prop === 'removeSync') {
          return (key: K, ...rest: unknown[]) =>
            this.store.transaction(() => {
              const r = (target[prop] as (...a: unknown[]) => unknown).call(target, key, ...rest);
              if (typeof key === 'string') this.seal(db, key);
              return r;
            });
        }
        if (prop === 'put' || prop === 'remove' || prop === 'putMany' || prop === 'clearSync' || prop === 'clearAsync' || prop === 'drop' || prop === 'dropSync') {
          return () => {
            throw new Error(`${db}: ${String(prop)} is not allowed on a sealed database; use putSync/removeSync inside store.transaction`);
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }
}

export interface SealProblem {
  db: SealedDatabase;
  key: string;
  kind: 'edited' | 'inserted' | 'deleted' | 'bad-seal';
  message: string;
}

export interface SealReport {
  ok: boolean;
  /** Records checked, and how many of them carry a valid seal that matches. */
  records: number;
  sealed: number;
  problems: SealProblem[];
  notes: string[];
}

function isSeal(v: unknown): v is RecordSeal {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  return s['v'] === 1 && typeof s['applianceId'] === 'string' && typeof s['db'] === 'string' && typeof s['key'] === 'string' && (s['sha256'] === null || isHash(s['sha256'])) && typeof s['at'] === 'string' && ISO_MS.test(s['at']) && typeof s['signature'] === 'string';
}

/**
 * Checks every record of the sealed databases against its seal, and every seal against
 * its record. Reads one consistent snapshot. Never throws for a broken record.
 */
export function verifyRecordSeals(store: Store, publicKeys: Uint8Array | readonly Uint8Array[]): SealReport {
  const keys = new Map<string, KeyObject>((publicKeys instanceof Uint8Array ? [publicKeys] : publicKeys).map((k) => [applianceIdFor(k), publicKeyObject(k)]));
  const txn = store.root.useReadTransaction();
  const problems: SealProblem[] = [];
  const notes: string[] = [];
  let records = 0;
  let sealed = 0;
  try {
    const cps = store.db<unknown, Key>('checkpoints');
    for (const db of SEALED_DATABASES) {
      const data = store.db<unknown, Key>(db);
      const add = (key: string, kind: SealProblem['kind'], message: string) => problems.push({ db, key, kind, message });
      const valid = (s: unknown, key: string): s is RecordSeal => {
        if (!isSeal(s) || s.db !== db || s.key !== key) return false;
        const k = keys.get(s.applianceId);
        return k !== undefined && verifyBytes(k, sealMessage(s), s.signature);
      };
      const since = cps.get([SEALS_SINCE_KEY, db], { transaction: txn });
      if (since === undefined) notes.push(`${db}: records are not sealed yet (the daemon of this version seals them when it first starts)`);
      const seen = new Set<string>();
      for (const { key } of data.getRange({ transaction: txn })) {
        records++;
        const k = typeof key === 'string' ? key : JSON.stringify(key);
        seen.add(k);
        // lmdb's getBinary takes the snapshot's transaction like get() (its typings omit it).
        const raw = (data.getBinary as (k: Key, o: { transaction: typeof txn }) => Buffer | undefined).call(data, key, { transaction: txn });
        const seal = cps.get(sealKey(db, k), { transaction: txn });
        if (seal === undefined) {
          if (since !== undefined) add(k, 'inserted', `${db} record ${k} has no seal: written without the appliance key (inserted or put back offline)`);
          continue;
        }
        if (!valid(seal, k)) {
          add(k, 'bad-seal', `the seal of ${db} record ${k} does not verify with a trusted appliance key: forged or altered`);
          continue;
        }
        if (seal.sha256 === null) {
          add(k, 'inserted', `${db} record ${k} was removed on ${seal.at} but is there again: put back offline`);
          continue;
        }
        if (raw === undefined || sha256Hex(raw) !== seal.sha256) {
          add(k, 'edited', `${db} record ${k} was changed outside Veilport: its stored bytes no longer match its seal of ${seal.at}`);
          continue;
        }
        sealed++;
      }
      for (const { key, value } of cps.getRange({ ...sealRange(db), transaction: txn })) {
        const k = Array.isArray(key) ? String(key[2]) : String(key);
        if (seen.has(k)) continue;
        if (!valid(value, k)) add(k, 'bad-seal', `a seal for ${db} record ${k} does not verify: forged or altered`);
        else if (value.sha256 !== null) add(k, 'deleted', `${db} record ${k} (sealed ${value.at}) is missing: deleted offline`);
      }
    }
  } finally {
    txn.done();
  }
  return { ok: problems.length === 0, records, sealed, problems, notes };
}
