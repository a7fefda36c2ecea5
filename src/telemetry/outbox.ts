/**
 * The durable outbox: every telemetry message that must not be lost (events, job state
 * changes, alerts) is written to LMDB before it is handed to the MQTT client, and
 * removed only when the broker has acknowledged it (PUBACK, QoS 1). After a broker
 * outage or a restart the backlog goes out in the order it was written.
 *
 * Storage: the `outbox` sub-database. Number keys are sequence numbers (one per message,
 * increasing across restarts, also put in the payload so the console can drop repeats);
 * two string keys keep the next sequence number and what was dropped.
 *
 * Bounded: at most `max` messages wait to be sent. Adding one more drops the oldest that
 * has not been handed to the client yet; the drop is counted (durably) and reported once
 * the broker is back, before the rest of the backlog, as an `outbox-dropped` alert.
 *
 * Writes are synchronous and durable (putSync in a store transaction): called inside a
 * caller's transaction, the message commits or rolls back with the caller's writes.
 * Acknowledged messages are deleted with batched asynchronous writes: after a crash a
 * message may be sent again (at least once), never lost.
 */
import type { Database, Key } from 'lmdb';
import type { Store } from '../store/store.js';

const NEXT_KEY = 'next';
const DROPPED_KEY = 'dropped';
const MAX_SEQ = Number.MAX_SAFE_INTEGER;

export interface OutboxMessage {
  seq: number;
  /** Relative to the base topic, e.g. `events`, `jobs/<id>`. */
  topic: string;
  payload: string;
  retain: boolean;
  /** When it was queued (ISO). */
  at: string;
}

export interface DroppedInfo {
  /** Messages dropped since the last report. */
  count: number;
  firstSeq: number;
  lastSeq: number;
  /** When the first of them was dropped. */
  since: string;
}

export class Outbox {
  private readonly db: Database<unknown, Key>;
  private nextSeq: number;
  /** Sequence numbers at or below this were handed to the client in this process. */
  private cursor = 0;
  private waitingCount: number;
  private inFlightSet = new Set<number>();

  constructor(
    private readonly store: Store,
    private readonly max: number,
    /** Told how many were just dropped (inside the adding transaction; must not throw). */
    private readonly onDrop: (n: number) => void = () => {},
  ) {
    this.db = store.db<unknown, Key>('outbox');
    let last = 0;
    let n = 0;
    for (const k of this.db.getKeys({ start: 0, end: MAX_SEQ })) {
      if (typeof k !== 'number') continue;
      n++;
      last = Math.max(last, k);
    }
    this.waitingCount = n;
    this.nextSeq = Math.max(last + 1, (this.db.get(NEXT_KEY) as number | undefined) ?? 1);
  }

  /** Messages waiting to be handed to the client. */
  get waiting(): number {
    return this.waitingCount;
  }

  /** Messages handed to the client and not acknowledged yet. */
  get inFlight(): number {
    return this.inFlightSet.size;
  }

  /** The sequence number the next message will get. */
  get next(): number {
    return this.nextSeq;
  }

  /**
   * Queues one message; `build` gets its sequence number and returns the payload.
   * Returns the sequence number.
   */
  add(topic: string, build: (seq: number) => unknown, retain = false): number {
    return this.store.transaction(() => {
      const seq = this.nextSeq;
      const payload = JSON.stringify(build(seq));
      if (this.waitingCount >= this.max) this.dropOldest(this.waitingCount - this.max + 1);
      const msg: OutboxMessage = { seq, topic, payload, retain, at: new Date().toISOString() };
      this.db.putSync(seq, msg);
      this.db.putSync(NEXT_KEY, seq + 1);
      this.nextSeq = seq + 1;
      this.waitingCount++;
      return seq;
    });
  }

  /** The next `limit` waiting messages, oldest first, now counted as in flight. */
  take(limit: number): OutboxMessage[] {
    const out: OutboxMessage[] = [];
    if (limit <= 0 || this.waitingCount === 0) return out;
    for (const { key, value } of this.db.getRange({ start: this.cursor + 1, end: MAX_SEQ, limit })) {
      if (typeof key !== 'number') continue;
      out.push(value as OutboxMessage);
      this.cursor = key;
      this.inFlightSet.add(key);
    }
    // Fewer than asked for: that was all of them (a caller's rolled-back transaction may have left the count high).
    this.waitingCount = out.length < limit ? 0 : Math.max(0, this.waitingCount - out.length);
    return out;
  }

  /** The broker acknowledged it: forget it (batched write). */
  ack(seq: number): Promise<boolean> {
    this.inFlightSet.delete(seq);
    return this.db.remove(seq);
  }

  /**
   * The client gave it back unsent (connection closed for good): it goes out again, in
   * order, with everything after it that was in flight.
   */
  unsent(seq: number): void {
    if (!this.inFlightSet.has(seq)) return;
    if (seq <= this.cursor) {
      const back = [...this.inFlightSet].filter((s) => s >= seq);
      for (const s of back) this.inFlightSet.delete(s);
      this.waitingCount += back.length;
      this.cursor = seq - 1;
    }
  }

  /** What was dropped and not yet reported. */
  dropped(): DroppedInfo | undefined {
    return this.db.get(DROPPED_KEY) as DroppedInfo | undefined;
  }

  /** The report of `info` was acknowledged; keep anything dropped since. */
  clearDropped(info: DroppedInfo): void {
    this.store.transaction(() => {
      const cur = this.dropped();
      if (!cur) return;
      if (cur.count === info.count && cur.lastSeq === info.lastSeq) this.db.removeSync(DROPPED_KEY);
      else this.db.putSync(DROPPED_KEY, { ...cur, count: cur.count - info.count, firstSeq: info.lastSeq + 1 });
    });
  }

  /** Waits for pending deletions to reach the disk. */
  async flushed(): Promise<void> {
    await this.db.committed;
  }

  private dropOldest(n: number): void {
    const gone: number[] = [];
    for (const k of this.db.getKeys({ start: this.cursor + 1, end: MAX_SEQ, limit: n })) {
      if (typeof k === 'number') gone.push(k);
    }
    if (!gone.length) return;
    for (const k of gone) this.db.removeSync(k);
    this.waitingCount -= gone.length;
    const cur = this.dropped();
    const info: DroppedInfo = cur
      ? { ...cur, count: cur.count + gone.length, lastSeq: gone.at(-1)! }
      : { count: gone.length, firstSeq: gone[0]!, lastSeq: gone.at(-1)!, since: new Date().toISOString() };
    this.db.putSync(DROPPED_KEY, info);
    this.onDrop(gone.length);
  }
}
