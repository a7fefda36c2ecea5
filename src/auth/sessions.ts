/**
 * Session tokens and their records. The token (32 random bytes, base64url) goes to the
 * client once, at login; the `sessions` database keeps only its SHA-256, so a copy of the
 * database does not let anyone sign in. A session ends after `sessionIdleMinutes`
 * without a request and `sessionMaxHours` after login in any case.
 *
 * The idle timer is touched on every request: in memory at once, and in the database at
 * most every TOUCH_PERSIST_MS (a synchronous write per request would cost an fsync each),
 * which after a restart only makes the idle timeout end a little earlier, never later.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Database } from 'lmdb';
import type { Store } from '../store/store.js';

export interface SessionRecord {
  account: string;
  createdAt: string;
  lastSeenAt: string;
  /** Address the session was opened from (for the record). */
  ip: string;
}

const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;
export const TOUCH_PERSIST_MS = 30_000;

export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Database key of a token: hex SHA-256. Null when `token` is not shaped like one (no lookup then). */
export function sessionKey(token: string): string | null {
  if (typeof token !== 'string' || !TOKEN_RE.test(token)) return null;
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export interface SessionLimits {
  idleMs: number;
  maxMs: number;
}

export type SessionState = { ok: true; lastSeenMs: number; expiresAt: Date } | { ok: false; why: 'idle' | 'max' };

export class SessionTable {
  private readonly db: Database<SessionRecord, string>;
  /** Last request time per session key, ahead of what the database has. */
  private readonly seen = new Map<string, number>();

  constructor(private readonly store: Store) {
    this.db = store.db<SessionRecord, string>('sessions');
  }

  /** Opens a session; returns the token (the only time it exists in clear) and its key. */
  open(account: string, ip: string, now: Date): { token: string; key: string; record: SessionRecord } {
    const token = newSessionToken();
    const key = sessionKey(token)!;
    const record: SessionRecord = { account, createdAt: now.toISOString(), lastSeenAt: now.toISOString(), ip };
    this.db.putSync(key, record);
    this.seen.set(key, now.getTime());
    return { token, key, record };
  }

  get(key: string): SessionRecord | undefined {
    return this.db.get(key);
  }

  lastSeenMs(key: string, rec: SessionRecord): number {
    return Math.max(Date.parse(rec.lastSeenAt), this.seen.get(key) ?? 0);
  }

  state(key: string, rec: SessionRecord, now: Date, limits: SessionLimits): SessionState {
    const created = Date.parse(rec.createdAt);
    const last = this.lastSeenMs(key, rec);
    const t = now.getTime();
    if (t >= created + limits.maxMs) return { ok: false, why: 'max' };
    if (t >= last + limits.idleMs) return { ok: false, why: 'idle' };
    return { ok: true, lastSeenMs: last, expiresAt: new Date(Math.min(created + limits.maxMs, t + limits.idleMs)) };
  }

  /** Records a request now; writes through when the stored time is TOUCH_PERSIST_MS old. */
  touch(key: string, rec: SessionRecord, now: Date): void {
    const t = now.getTime();
    if (t > (this.seen.get(key) ?? 0)) this.seen.set(key, t);
    if (t - Date.parse(rec.lastSeenAt) < TOUCH_PERSIST_MS) return;
    this.store.transaction(() => {
      // Re-read inside the transaction so a session ended meanwhile is not brought back.
      const cur = this.db.get(key);
      if (cur && Date.parse(cur.lastSeenAt) < t) this.db.putSync(key, { ...cur, lastSeenAt: now.toISOString() });
    });
  }

  remove(key: string): void {
    this.seen.delete(key);
    this.db.removeSync(key);
  }

  /** Ends every session of `account` except the one with key `keep`. Returns how many ended. */
  removeAccount(account: string, keep?: string | null): number {
    return this.removeWhere((key, value) => value.account === account && key !== keep);
  }

  /** Removes sessions past their idle or absolute limit. */
  prune(now: Date, limits: SessionLimits): number {
    return this.removeWhere((key, value) => !this.state(key, value, now, limits).ok);
  }

  private removeWhere(pred: (key: string, value: SessionRecord) => boolean): number {
    return this.store.transaction(() => {
      const keys: string[] = [];
      for (const { key, value } of this.db.getRange()) if (pred(key, value)) keys.push(key);
      for (const k of keys) {
        this.db.removeSync(k);
        this.seen.delete(k);
      }
      return keys.length;
    });
  }
}
