/**
 * Recording layouts: where a camera's segment files are and what their names say about
 * their start time. A pattern such as `{camera}/{YYYY}-{MM}-{DD}/{hh}-{mm}-{ss}.{ext}`
 * becomes a matcher; wall-clock times in names are read in the configured time zone.
 */
import { VeilportError } from '../util/errors.js';

export const DEFAULT_LAYOUT = '{camera}/{YYYY}-{MM}-{DD}/{hh}-{mm}-{ss}.{ext}';
export const EXTENSIONS = ['mp4', 'mkv', 'ts'] as const;
export type Extension = (typeof EXTENSIONS)[number];

const TOKENS: Record<string, string> = {
  camera: '([^/]+)',
  YYYY: '(\\d{4})',
  MM: '(\\d{2})',
  DD: '(\\d{2})',
  hh: '(\\d{2})',
  mm: '(\\d{2})',
  ss: '(\\d{2})',
  ext: '([A-Za-z0-9]+)',
};
const REQUIRED = ['camera', 'YYYY', 'MM', 'DD', 'hh', 'mm', 'ss', 'ext'];

export interface Layout {
  pattern: string;
  timeZone: string;
  /** Parses a path relative to the recordings root; undefined if it does not match. */
  match(relPath: string): { camera: string; start: Date; ext: Extension } | undefined;
  /** How many path components a segment path has (for walking the tree). */
  depth: number;
}

export function parseLayout(pattern: string = DEFAULT_LAYOUT, timeZone = 'UTC'): Layout {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new VeilportError('BAD_INPUT', `time zone "${timeZone}" is not an IANA zone name (e.g. Asia/Seoul, UTC)`);
  }
  const order: string[] = [];
  let re = '';
  let last = 0;
  for (const m of pattern.matchAll(/\{([^}]*)\}/g)) {
    const name = m[1]!;
    if (!(name in TOKENS)) throw new VeilportError('BAD_INPUT', `layout "${pattern}": unknown token {${name}}; known: ${Object.keys(TOKENS).map((k) => `{${k}}`).join(' ')}`);
    if (order.includes(name)) throw new VeilportError('BAD_INPUT', `layout "${pattern}": {${name}} appears twice`);
    re += escape(pattern.slice(last, m.index)) + TOKENS[name];
    order.push(name);
    last = m.index! + m[0].length;
  }
  re += escape(pattern.slice(last));
  for (const r of REQUIRED) {
    if (!order.includes(r)) throw new VeilportError('BAD_INPUT', `layout "${pattern}": {${r}} is missing (needed: ${REQUIRED.map((k) => `{${k}}`).join(' ')})`);
  }
  if (!pattern.startsWith('{camera}/')) throw new VeilportError('BAD_INPUT', `layout "${pattern}": must start with {camera}/ (one folder per camera)`);
  const regex = new RegExp(`^${re}$`);
  return {
    pattern,
    timeZone,
    depth: pattern.split('/').length,
    match(relPath) {
      const m = regex.exec(relPath);
      if (!m) return undefined;
      const v: Record<string, string> = {};
      order.forEach((name, i) => (v[name] = m[i + 1]!));
      const ext = v['ext']!.toLowerCase();
      if (!(EXTENSIONS as readonly string[]).includes(ext)) return undefined;
      const parts = ['YYYY', 'MM', 'DD', 'hh', 'mm', 'ss'].map((k) => Number(v[k]));
      const [Y, M, D, h, mi, s] = parts as [number, number, number, number, number, number];
      if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || mi > 59 || s > 59) return undefined;
      return { camera: v['camera']!, start: zonedToUtc(Y, M, D, h, mi, s, timeZone), ext: ext as Extension };
    },
  };
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Offset (ms) of a zone from UTC at a given instant. */
function offsetAt(utcMs: number, timeZone: string): number {
  const f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const p = Object.fromEntries(f.formatToParts(new Date(utcMs)).map((x) => [x.type, x.value]));
  const asUtc = Date.UTC(Number(p['year']), Number(p['month']) - 1, Number(p['day']), Number(p['hour']), Number(p['minute']), Number(p['second']));
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}

/**
 * A wall-clock time in a zone as a UTC instant. In the hour a DST change repeats, the
 * earlier instant is taken; in the hour it skips, the time is read with the offset
 * before the change (recorders that write such names are shifting their own clocks).
 */
export function zonedToUtc(Y: number, M: number, D: number, h: number, mi: number, s: number, timeZone: string): Date {
  const wall = Date.UTC(Y, M - 1, D, h, mi, s);
  const first = wall - offsetAt(wall, timeZone);
  const second = wall - offsetAt(first, timeZone);
  return new Date(Math.min(first, second));
}
