/**
 * The access log's witness file: a copy of the latest signed head kept OUTSIDE the
 * database (`<data>/access-witness.json`), written after each commit and never moved
 * backwards. Restoring an older copy of the database (or cutting it back and putting
 * an older head in place) leaves the witness ahead of the log, and verification says
 * so without any help from the central broker. It is a lower bound, not a second log:
 * it may lag the database by a moment (it is written after the commit), never lead it
 * unless the database went back. What it cannot catch (both rolled back together,
 * or the witness deleted) is in docs/access-log.md.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Store } from '../store/store.js';
import type { SignedHead } from './access-format.js';

export const WITNESS_FILE = 'access-witness.json';
export const WITNESS_FORMAT = 'veilport-access-witness/1';
const MAX_WITNESS_BYTES = 64 * 1024;

/** `<data>/access-witness.json` beside `<data>/db`. */
export function defaultWitnessPath(store: Store): string {
  return join(dirname(store.path), WITNESS_FILE);
}

export type WitnessRead = { state: 'absent' } | { state: 'unreadable'; why: string } | { state: 'present'; head: unknown };

/** Reads the witness file; its head's signature is the caller's to check. */
export function readWitness(file: string): WitnessRead {
  let text: string;
  try {
    const buf = readFileSync(file);
    if (buf.length > MAX_WITNESS_BYTES) return { state: 'unreadable', why: `${buf.length} bytes, more than a witness can be` };
    text = buf.toString('utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { state: 'absent' };
    return { state: 'unreadable', why: code ?? (e as Error).message };
  }
  try {
    const doc = JSON.parse(text) as { format?: unknown; head?: unknown };
    if (doc.format !== WITNESS_FORMAT || typeof doc.head !== 'object' || doc.head === null) return { state: 'unreadable', why: `not a ${WITNESS_FORMAT} document` };
    return { state: 'present', head: doc.head };
  } catch {
    return { state: 'unreadable', why: 'not valid JSON' };
  }
}

/** Replaces the witness atomically and durably (temporary file, fsync, rename, directory fsync). */
export function writeWitness(file: string, head: SignedHead): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify({ format: WITNESS_FORMAT, head }) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, file);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw e;
  }
  const dfd = openSync(dirname(file), 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}
