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

/**
 * A manual region "X,Y,W,H" in frame pixels, optionally "@FROM-TO" in seconds from the
 * start of the export (default: the whole export).
 */
export function parseRegion(s: string): { x: number; y: number; w: number; h: number; fromNs: number; toNs: number } {
  const m = /^(\d+),(\d+),(\d+),(\d+)(?:@(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?))?$/.exec(s.trim());
  if (!m) throw new VeilportError('BAD_INPUT', `--region "${s}": expected X,Y,W,H or X,Y,W,H@FROM-TO (pixels; seconds from the start)`);
  const [x, y, w, h] = [m[1], m[2], m[3], m[4]].map(Number) as [number, number, number, number];
  const fromNs = m[5] ? Number(m[5]) * 1e9 : 0;
  const toNs = m[6] ? Number(m[6]) * 1e9 : Number.MAX_SAFE_INTEGER;
  if (w <= 0 || h <= 0) throw new VeilportError('BAD_INPUT', `--region "${s}": width and height must be more than zero`);
  if (toNs < fromNs) throw new VeilportError('BAD_INPUT', `--region "${s}": the span ends before it starts`);
  return { x, y, w, h, fromNs, toNs };
}

/**
 * Privacy zones file: {"<camera>": [[x, y, w, h], ...], ...}. Zones of other cameras
 * are ignored; every zone of this camera is masked in every frame.
 */
export function readPrivacyZones(path: string, camera: string): { x: number; y: number; w: number; h: number }[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new VeilportError('BAD_INPUT', `--privacy-zones ${path}: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new VeilportError('BAD_INPUT', `--privacy-zones ${path}: expected an object keyed by camera`);
  const zones = (json as Record<string, unknown>)[camera] ?? [];
  if (!Array.isArray(zones)) throw new VeilportError('BAD_INPUT', `--privacy-zones ${path}: "${camera}" must be a list of [x, y, w, h]`);
  return zones.map((z, i) => {
    if (!Array.isArray(z) || z.length !== 4 || !z.every((v) => Number.isInteger(v) && v >= 0) || z[2] === 0 || z[3] === 0) {
      throw new VeilportError('BAD_INPUT', `--privacy-zones ${path}: "${camera}"[${i}] must be [x, y, w, h] in whole pixels with a size`);
    }
    return { x: z[0], y: z[1], w: z[2], h: z[3] };
  });
}
