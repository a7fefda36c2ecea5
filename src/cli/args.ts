/** Parsing and checking of command-line values; every error names the option. */
import { readFileSync, statSync } from 'node:fs';
import { VeilportError } from '../util/errors.js';

export function requireOpt(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new VeilportError('BAD_INPUT', `--${name} is required`);
  return v;
}

/** An ISO 8601 time with a zone (Z or +09:00): exports must never guess the zone. */
export function parseTime(name: string, s: string): Date {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(s)) {
    throw new VeilportError('BAD_INPUT', `--${name} "${s}": expected an ISO time with a zone, e.g. 2026-11-25T09:00:00+09:00`);
  }
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) throw new VeilportError('BAD_INPUT', `--${name} "${s}": not a valid time`);
  return d;
}

/** "14d", "36h", "90m" -> milliseconds. */
export function parseDuration(name: string, s: string): number {
  const m = /^(\d+)(d|h|m)$/.exec(s);
  if (!m) throw new VeilportError('BAD_INPUT', `--${name} "${s}": expected a number and a unit, e.g. 14d, 36h or 90m`);
  const n = Number(m[1]);
  if (n <= 0) throw new VeilportError('BAD_INPUT', `--${name} must be more than zero`);
  return n * { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as 'd' | 'h' | 'm'];
}

/**
 * Reads a password from a file (first line). Passwords never come on the command line,
 * where other users of the box could read them from the process list.
 */
export function readPasswordFile(path: string): string {
  let text: string;
  try {
    if (statSync(path).size > 4096) throw new VeilportError('BAD_INPUT', `--password-file ${path}: too large to be a password file`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof VeilportError) throw e;
    throw new VeilportError('BAD_INPUT', `--password-file ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const pw = text.split(/\r?\n/)[0] ?? '';
  if (pw.length < 8) throw new VeilportError('BAD_INPUT', `--password-file ${path}: the password must be at least 8 characters`);
  return pw;
}

export function parseIds(name: string, list: string[]): number[] {
  return list.flatMap((s) => s.split(',')).filter(Boolean).map((s) => {
    if (!/^\d+$/.test(s.trim())) throw new VeilportError('BAD_INPUT', `--${name} "${s}": expected track ids (numbers from "veilport analyse")`);
    return Number(s.trim());
  });
}
