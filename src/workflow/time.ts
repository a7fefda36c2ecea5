/** Calendar days in the control centre's time zone (request numbers, daily alert counts). */

function parts(at: Date, timeZone: string): Record<string, number> {
  const out: Record<string, number> = {};
  const fmt = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  for (const p of fmt.formatToParts(at)) if (p.type !== 'literal') out[p.type] = Number(p.value);
  return out;
}

/** `YYYY-MM-DD` of `at` in `timeZone`. */
export function localDate(at: Date, timeZone: string): string {
  const p = parts(at, timeZone);
  return `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}

/** The instant the local day containing `at` began (zones without a DST jump that day). */
export function startOfLocalDay(at: Date, timeZone: string): Date {
  const p = parts(at, timeZone);
  const sinceMidnightMs = ((p.hour! * 60 + p.minute!) * 60 + p.second!) * 1000 + at.getUTCMilliseconds();
  return new Date(at.getTime() - sinceMidnightMs);
}
