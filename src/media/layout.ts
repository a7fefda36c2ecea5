/**
 * Segment file layouts: how a recorder names its files, e.g.
 * `{camera}/{YYYY}-{MM}-{DD}/{hh}-{mm}-{ss}.{ext}`. The name gives the wall-clock time a
 * segment started in the recorder's time zone; turning it into an instant needs that
 * zone's offset at that moment, which Intl knows (DST included) without a tz database.
 */
import { VeilportError } from '../util/errors.js';
import type { Container } from './profiles.js';
import { type WallTime } from '../util/zoned-time.js';

// The catalog's callers read wall-clock helpers from here too.
export { checkTimeZone, wallTimeAt, wallTimeToUtc, type WallTime } from '../util/zoned-time.js';

/** The layout most recorders we met use; relative to the recordings root. */
export const DEFAULT_LAYOUT = '{camera}/{YYYY}-{MM}-{DD}/{hh}-{mm}-{ss}.{ext}';

const TOKENS = ['camera', 'YYYY', 'MM', 'DD', 'hh', 'mm', 'ss', 'ext'] as const;
type Token = (typeof TOKENS)[number];
const REQUIRED: Token[] = ['camera', 'YYYY', 'MM', 'DD', 'hh', 'mm', 'ss'];
const TOKEN_RE: Record<Token, string> = {
  camera: '([^/]+)',
  YYYY: '(\\d{4})',
  MM: '(\\d{2})',
  DD: '(\\d{2})',
  hh: '(\\d{2})',
  mm: '(\\d{2})',
  ss: '(\\d{2})',
  ext: '([A-Za-z0-9]+)',
};

/** Container expected for each accepted file extension (matched case-insensitively). */
export const EXTENSIONS: Readonly<Record<string, Container>> = { mp4: 'mp4', mkv: 'mkv', ts: 'ts' };


export type LayoutMatch =
  | { ok: true; camera: string; wall: WallTime; ext: string }
  | { ok: false; reason: string };

export interface Layout {
  pattern: string;
  /** True when the first path component is exactly `{camera}`: cameras are the root's folders. */
  cameraFirst: boolean;
  /** Matches a path relative to the root, with `/` separators. */
  match(relPath: string): LayoutMatch;
  /** The relative path a segment of `camera` starting at `wall` gets (tests, tools). */
  format(camera: string, wall: WallTime, ext: string): string;
}

/**
 * Parses and validates a layout pattern. Throws BAD_INPUT naming the offending token when
 * the pattern has an unknown or repeated token or an unbalanced brace, or lacks
 * `{camera}` or any part of the date and time. `{ext}` is optional: without it the
 * extension is literal text in the pattern.
 */
export function parseLayout(pattern: string = DEFAULT_LAYOUT): Layout {
  if (typeof pattern !== 'string' || pattern.length === 0) throw new VeilportError('BAD_INPUT', 'layout pattern is empty');
  if (pattern.startsWith('/') || pattern.split('/').some((c) => c === '' || c === '.' || c === '..')) {
    throw new VeilportError('BAD_INPUT', `layout "${pattern}": must be a relative path without empty, "." or ".." components`, { pattern });
  }
  const parts: ({ token: Token } | { text: string })[] = [];
  const seen = new Set<Token>();
  let i = 0;
  while (i < pattern.length) {
    const open = pattern.indexOf('{', i);
    const close = pattern.indexOf('}', i);
    if (close !== -1 && (open === -1 || close < open)) {
      throw new VeilportError('BAD_INPUT', `layout "${pattern}": "}" at position ${close} has no "{"`, { pattern });
    }
    if (open === -1) {
      parts.push({ text: pattern.slice(i) });
      break;
    }
    if (open > i) parts.push({ text: pattern.slice(i, open) });
    if (close === -1) throw new VeilportError('BAD_INPUT', `layout "${pattern}": unclosed token "${pattern.slice(open)}"`, { pattern });
    const name = pattern.slice(open + 1, close);
    if (!(TOKENS as readonly string[]).includes(name)) {
      const known = TOKENS.map((t) => `{${t}}`).join(' ');
      throw new VeilportError('BAD_INPUT', `layout "${pattern}": unknown token "{${name}}" (known: ${known})`, { pattern, token: name });
    }
    const token = name as Token;
    if (seen.has(token)) throw new VeilportError('BAD_INPUT', `layout "${pattern}": token "{${token}}" appears twice`, { pattern, token });
    seen.add(token);
    parts.push({ token });
    i = close + 1;
  }
  for (const t of REQUIRED) {
    if (!seen.has(t)) {
      throw new VeilportError('BAD_INPUT', `layout "${pattern}": missing token "{${t}}" (a layout needs {camera} and the full date and time)`, { pattern, token: t });
    }
  }
  const order: Token[] = [];
  let source = '';
  for (const p of parts) {
    if ('token' in p) {
      order.push(p.token);
      source += TOKEN_RE[p.token];
    } else {
      source += p.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  // Case-insensitive so that "CLIP.MP4" matches a pattern ending in ".mp4".
  const re = new RegExp(`^${source}$`, 'i');
  const hasExt = seen.has('ext');

  return {
    pattern,
    cameraFirst: pattern.startsWith('{camera}/'),
    match(relPath) {
      const m = re.exec(relPath);
      if (!m) return { ok: false, reason: `name does not match layout ${pattern}` };
      const got: Partial<Record<Token, string>> = {};
      order.forEach((t, k) => (got[t] = m[k + 1]));
      const ext = (hasExt ? got.ext! : (/\.([^./]+)$/.exec(relPath)?.[1] ?? '')).toLowerCase();
      if (!Object.hasOwn(EXTENSIONS, ext)) return { ok: false, reason: `extension "${ext}" is not one of mp4, mkv, ts` };
      const wall: WallTime = {
        year: Number(got.YYYY),
        month: Number(got.MM),
        day: Number(got.DD),
        hour: Number(got.hh),
        minute: Number(got.mm),
        second: Number(got.ss),
      };
      const bad = invalidWallTime(wall);
      if (bad) return { ok: false, reason: `name matches the layout but ${bad}` };
      return { ok: true, camera: got.camera!, wall, ext };
    },
    format(camera, wall, ext) {
      const values: Record<Token, string> = {
        camera,
        YYYY: String(wall.year).padStart(4, '0'),
        MM: pad2(wall.month),
        DD: pad2(wall.day),
        hh: pad2(wall.hour),
        mm: pad2(wall.minute),
        ss: pad2(wall.second),
        ext,
      };
      return parts.map((p) => ('token' in p ? values[p.token] : p.text)).join('');
    },
  };
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

function invalidWallTime(w: WallTime): string | undefined {
  if (w.month < 1 || w.month > 12) return `month ${pad2(w.month)} is not 01-12`;
  const days = new Date(Date.UTC(w.year, w.month, 0)).getUTCDate();
  if (w.day < 1 || w.day > days) return `day ${pad2(w.day)} does not exist in ${w.year}-${pad2(w.month)}`;
  if (w.hour > 23 || w.minute > 59 || w.second > 59) return `${pad2(w.hour)}:${pad2(w.minute)}:${pad2(w.second)} is not a valid time`;
  return undefined;
}


