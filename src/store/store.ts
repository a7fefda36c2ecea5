/**
 * The appliance's one database: an LMDB environment under `<data>/db` with a named
 * sub-database per kind of record. Every module that keeps records gets its database
 * from here by name, so all of them share one environment and one write transaction
 * can change a request, its ledger entry and its access-log entry together (a crash
 * keeps all three or none).
 *
 * Writes that must survive a crash use `transactionSync` (or `putSync`): LMDB commits
 * and fsyncs before it returns.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { VeilportError } from '../util/errors.js';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';

/** Every sub-database the appliance keeps. Adding one here is all it takes. */
export const DATABASES = [
  'meta',
  'accounts',
  'sessions',
  'roleChanges',
  'requests',
  'jobs',
  'accessLog',
  'checkpoints',
  'outbox',
] as const;
export type DatabaseName = (typeof DATABASES)[number];

export interface Store {
  readonly path: string;
  readonly root: RootDatabase;
  /** A named sub-database (values msgpack-encoded; keys strings, numbers or arrays). */
  db<V = unknown, K extends import('lmdb').Key = import('lmdb').Key>(name: DatabaseName): Database<V, K>;
  /** Runs `fn` in one durable write transaction across all databases. */
  transaction<T>(fn: () => T): T;
  /**
   * Runs `fn` when the store is closed, before the database is (a writer's pending
   * work that reads the store: the access log's witness).
   */
  beforeClose(fn: () => void): void;
  /**
   * Runs the beforeClose work, then closes the database (also when that work threw;
   * the error is thrown after).
   */
  close(): Promise<void>;
}

/**
 * Opens (creating if needed) the store under `dataDir/db` and brings its schema up to
 * this version of the code.
 * @throws VeilportError BAD_INPUT when the database was written by a newer Veilport
 *   (we never guess at a format we do not know).
 */
export function openStore(dataDir: string): Store {
  const path = join(dataDir, 'db');
  mkdirSync(path, { recursive: true, mode: 0o700 });
  let root: RootDatabase;
  try {
    root = open({ path, maxDbs: 32, encoding: 'msgpack' });
  } catch (e) {
    throw new VeilportError('BAD_INPUT', `cannot open the database in ${path}: ${(e as Error).message}`, { path });
  }
  const dbs = new Map<DatabaseName, Database>();
  for (const name of DATABASES) dbs.set(name, root.openDB({ name, encoding: 'msgpack' }));
  const pending: (() => void)[] = [];
  const store: Store = {
    path,
    root,
    db: <V, K extends import('lmdb').Key>(name: DatabaseName) => dbs.get(name) as unknown as Database<V, K>,
    transaction: <T>(fn: () => T) => root.transactionSync(fn),
    beforeClose: (fn) => void pending.push(fn),
    close: async () => {
      try {
        for (const fn of pending.splice(0)) fn();
      } finally {
        await root.close();
      }
    },
  };
  migrate(store);
  return store;
}

function migrate(store: Store): void {
  const meta = store.db<number, string>('meta');
  const found = meta.get('schemaVersion') ?? 0;
  if (found > SCHEMA_VERSION) {
    throw new VeilportError(
      'BAD_INPUT',
      `the database in ${store.path} has schema version ${found}, newer than this Veilport understands (${SCHEMA_VERSION}); install the newer version or restore a backup`,
      { found, supported: SCHEMA_VERSION },
    );
  }
  for (const m of MIGRATIONS) {
    if (m.version <= found) continue;
    store.transaction(() => {
      m.up(store);
      meta.putSync('schemaVersion', m.version);
    });
  }
}
