/**
 * Wall-clock time in an IANA zone: reading it from an instant and finding the instant a
 * wall-clock time names, correct across DST changes. Used for recordings' file names,
 * the control centre's calendar days and the ledger's dates.
 */
import { VeilportError } from './errors.js';

/** Year, month (1-12), day, hour, minute, second in some time zone. */
export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      throw new VeilportError('BAD_INPUT', `unknown time zone "${timeZone}" (expected an IANA name such as UTC or Asia/Seoul)`, { timeZone });
    }
    formatters.set(timeZone, f);
  }
  return f;
}

/** Throws BAD_INPUT unless `timeZone` is an IANA zone name this runtime knows. */
export function checkTimeZone(timeZone: string): void {
  formatter(timeZone);
}

/** The wall-clock time in `timeZone` at instant `ms` (whole seconds; milliseconds dropped). */
export function wallTimeAt(ms: number, timeZone: string): WallTime {
  const parts = formatter(timeZone).formatToParts(new Date(ms));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second') };
}

/** Offset of `timeZone` from UTC at instant `ms`, in milliseconds (east positive). */
export function offsetAt(ms: number, timeZone: string): number {
  const w = wallTimeAt(ms, timeZone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant a wall-clock time in `timeZone` names. Where DST makes the name ambiguous
 * (clocks set back: the hour happens twice) the earlier instant is taken; where it names
 * nothing (clocks set forward) it is read with the offset from before the change, which
 * lands after the jump. This is Temporal's "compatible" rule.
 */
export function wallTimeToUtc(w: WallTime, timeZone: string): Date {
  const local = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  // Offsets half a day either side bracket any transition near this time.
  const before = offsetAt(local - 12 * 3600_000, timeZone);
  const after = offsetAt(local + 12 * 3600_000, timeZone);
  const here = offsetAt(local, timeZone);
  const valid = [local - before, local - after, local - here].filter((t) => t + offsetAt(t, timeZone) === local);
  if (valid.length > 0) return new Date(Math.min(...valid));
  return new Date(local - before);
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `YYYY-MM-DD` of instant `at` in `timeZone`. */
export function localDate(at: Date, timeZone: string): string {
  const w = wallTimeAt(at.getTime(), timeZone);
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`;
}

/** The instant the local day containing `at` began in `timeZone`. */
export function startOfLocalDay(at: Date, timeZone: string): Date {
  const w = wallTimeAt(at.getTime(), timeZone);
  return wallTimeToUtc({ ...w, hour: 0, minute: 0, second: 0 }, timeZone);
}
