/**
 * Schema migrations, applied in order by `openStore`, each in its own transaction
 * together with the new version number, so a crash mid-migration leaves the old
 * version and the migration runs again.
 */
import type { Store } from './store.js';

export interface Migration {
  version: number;
  description: string;
  up(store: Store): void;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'initial schema: accounts, sessions, requests, jobs, ledger, access log, outbox',
    up(store) {
      store.db<string, string>('meta').putSync('createdAt', new Date().toISOString());
    },
  },
];

export const SCHEMA_VERSION = MIGRATIONS.reduce((v, m) => Math.max(v, m.version), 0);
