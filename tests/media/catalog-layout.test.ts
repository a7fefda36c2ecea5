/**
 * Layout patterns and file-name times, without media: parsing and validation, custom
 * patterns, and wall-clock names read in zones with and without DST.
 */
import t from 'tap';
import { DEFAULT_LAYOUT, checkTimeZone, parseLayout, wallTimeAt, wallTimeToUtc, type LayoutMatch } from '../../src/media/layout.js';
import { openCatalog } from '../../src/media/catalog.js';

function instant(m: LayoutMatch, tz: string): string {
  if (!m.ok) throw new Error(`no match: ${m.reason}`);
  return wallTimeToUtc(m.wall, tz).toISOString();
}

t.test('default layout: camera, start time and extension from the path', async (t) => {
  const l = parseLayout();
  t.equal(l.pattern, DEFAULT_LAYOUT);
  t.ok(l.cameraFirst);
  const m = l.match('cam1/2026-11-25/10-20-30.mp4');
  t.match(m, { ok: true, camera: 'cam1', ext: 'mp4', wall: { year: 2026, month: 11, day: 25, hour: 10, minute: 20, second: 30 } });
  t.equal(instant(m, 'UTC'), '2026-11-25T10:20:30.000Z');
  t.match(l.match('Gate 2/2026-11-25/10-20-30.MKV'), { ok: true, camera: 'Gate 2', ext: 'mkv' }, 'extension is case-insensitive');
  t.match(l.match('cam1/2026-11-25/10-20-30.Ts'), { ok: true, ext: 'ts' });
});

t.test('names that do not fit are reported with a reason, not thrown', async (t) => {
  const l = parseLayout();
  t.match(l.match('cam1/readme.txt'), { ok: false, reason: /does not match layout/ });
  t.match(l.match('cam1/2026-11-25/10-20-30.avi'), { ok: false, reason: /extension "avi"/ });
  t.match(l.match('cam1/2026-02-30/10-00-00.mp4'), { ok: false, reason: /day 30 does not exist in 2026-02/ });
  t.match(l.match('cam1/2026-13-01/10-00-00.mp4'), { ok: false, reason: /month 13/ });
  t.match(l.match('cam1/2026-11-25/24-00-00.mp4'), { ok: false, reason: /24:00:00 is not a valid time/ });
  t.match(l.match('cam1/2026-11-25/extra/10-00-00.mp4'), { ok: false }, 'deeper paths do not match');
  t.match(l.match('cam1/2028-02-29/00-00-00.mp4'), { ok: true }, 'leap day');
});

t.test('custom layouts', async (t) => {
  const flat = parseLayout('{camera}/{YYYY}{MM}{DD}_{hh}{mm}{ss}.{ext}');
  const m = flat.match('gate/20261125_102030.mkv');
  t.match(m, { ok: true, camera: 'gate', ext: 'mkv' });
  t.equal(instant(m, 'UTC'), '2026-11-25T10:20:30.000Z');
  t.match(flat.match('gate/2026-11-25_102030.mkv'), { ok: false });

  const literalExt = parseLayout('{camera}/{YYYY}/{MM}/{DD}/rec_{hh}{mm}{ss}.mp4');
  t.match(literalExt.match('c/2026/11/25/rec_102030.mp4'), { ok: true, ext: 'mp4' });
  t.match(literalExt.match('c/2026/11/25/rec_102030.MP4'), { ok: true, ext: 'mp4' });
  t.match(literalExt.match('c/2026/11/25/rec_102030.ts'), { ok: false });

  const dateFirst = parseLayout('{YYYY}-{MM}-{DD}/{camera}/{hh}.{mm}.{ss}.{ext}');
  t.notOk(dateFirst.cameraFirst);
  t.match(dateFirst.match('2026-11-25/lobby/10.20.30.ts'), { ok: true, camera: 'lobby', ext: 'ts' });
  t.equal(dateFirst.format('lobby', { year: 2026, month: 1, day: 2, hour: 3, minute: 4, second: 5 }, 'ts'), '2026-01-02/lobby/03.04.05.ts');
  t.match(parseLayout('{camera}/a+b(c)[d]/{YYYY}{MM}{DD}{hh}{mm}{ss}.{ext}').match('x/a+b(c)[d]/20261125102030.mp4'), { ok: true }, 'regex characters are literal');
});

t.test('bad patterns are refused with the offending token named', async (t) => {
  const bad: [string, RegExp, string?][] = [
    ['{camera}/{YYYY}-{MM}-{DD}/{hh}-{mm}.{ext}', /missing token "\{ss\}"/, 'ss'],
    ['{YYYY}-{MM}-{DD}/{hh}-{mm}-{ss}.{ext}', /missing token "\{camera\}"/, 'camera'],
    ['{camera}/{YYYY}-{MM}/{hh}-{mm}-{ss}.{ext}', /missing token "\{DD\}"/, 'DD'],
    ['{camera}/{YYYY}-{MM}-{DD}/{HH}-{mm}-{ss}.{ext}', /unknown token "\{HH\}"/, 'HH'],
    ['{camera}/{camera}/{YYYY}{MM}{DD}{hh}{mm}{ss}.{ext}', /"\{camera\}" appears twice/, 'camera'],
    ['{camera}/{YYYY}{MM}{DD}{hh}{mm}{ss.{ext}', /unknown token "\{ss\.\{ext\}"|unclosed/],
    ['{camera}/{YYYY}{MM}{DD}{hh}{mm}{ss}.{ext', /unclosed token "\{ext"/],
    ['{camera}/{YYYY}}{MM}{DD}{hh}{mm}{ss}.{ext}', /"\}" at position/],
    ['/{camera}/{YYYY}{MM}{DD}{hh}{mm}{ss}.{ext}', /relative path/],
    ['{camera}/../{YYYY}{MM}{DD}{hh}{mm}{ss}.{ext}', /relative path/],
    ['', /empty/],
  ];
  for (const [pattern, message, token] of bad) {
    t.throws(() => parseLayout(pattern), { code: 'BAD_INPUT', message, ...(token ? { details: { token } } : {}) }, pattern || '(empty)');
  }
  t.throws(() => openCatalog({ root: '/nonexistent', layout: '{camera}/{when}.mp4' }), { code: 'BAD_INPUT', message: /\{when\}/ }, 'openCatalog validates too');
});

t.test('Asia/Seoul: +09:00 all year, dates roll over at 15:00 UTC', async (t) => {
  const l = parseLayout();
  t.equal(instant(l.match('c/2026-11-25/09-30-00.mp4'), 'Asia/Seoul'), '2026-11-25T00:30:00.000Z');
  t.equal(instant(l.match('c/2026-07-01/09-00-00.mp4'), 'Asia/Seoul'), '2026-07-01T00:00:00.000Z');
  t.equal(instant(l.match('c/2026-11-26/00-30-00.mp4'), 'Asia/Seoul'), '2026-11-25T15:30:00.000Z');
  t.same(wallTimeAt(Date.parse('2026-11-25T15:30:00Z'), 'Asia/Seoul'), { year: 2026, month: 11, day: 26, hour: 0, minute: 30, second: 0 });
});

t.test('Europe/Berlin: CET, CEST and both DST changes', async (t) => {
  const l = parseLayout();
  const at = (p: string) => instant(l.match(p), 'Europe/Berlin');
  t.equal(at('c/2026-01-15/12-00-00.mp4'), '2026-01-15T11:00:00.000Z', 'winter +01:00');
  t.equal(at('c/2026-07-15/12-00-00.mp4'), '2026-07-15T10:00:00.000Z', 'summer +02:00');
  // Spring forward 2025-03-30: 02:00 CET becomes 03:00 CEST.
  t.equal(at('c/2025-03-30/01-59-59.mp4'), '2025-03-30T00:59:59.000Z', 'last second of CET');
  t.equal(at('c/2025-03-30/03-00-00.mp4'), '2025-03-30T01:00:00.000Z', 'first second of CEST');
  t.equal(at('c/2025-03-30/02-30-00.mp4'), '2025-03-30T01:30:00.000Z', 'a skipped time reads as after the jump');
  // Fall back 2025-10-26: 03:00 CEST becomes 02:00 CET; 02:xx happens twice.
  t.equal(at('c/2025-10-26/01-59-59.mp4'), '2025-10-25T23:59:59.000Z', 'CEST before the repeated hour');
  t.equal(at('c/2025-10-26/02-30-00.mp4'), '2025-10-26T00:30:00.000Z', 'a repeated time reads as the earlier instant');
  t.equal(at('c/2025-10-26/03-00-00.mp4'), '2025-10-26T02:00:00.000Z', 'CET after the repeated hour');
  // Every instant across both changes formats to a name that reads back to itself,
  // except the repeated hour's second pass, which reads as its first.
  for (const start of [Date.parse('2025-03-30T00:00:00Z'), Date.parse('2025-10-26T00:00:00Z')]) {
    for (let ms = start; ms < start + 3 * 3600_000; ms += 7 * 60_000) {
      const back = wallTimeToUtc(wallTimeAt(ms, 'Europe/Berlin'), 'Europe/Berlin').getTime();
      const repeated = ms >= Date.parse('2025-10-26T01:00:00Z') && ms < Date.parse('2025-10-26T02:00:00Z');
      t.equal(back, repeated ? ms - 3600_000 : ms, new Date(ms).toISOString());
    }
  }
});

t.test('unknown time zones are refused', async (t) => {
  t.throws(() => checkTimeZone('Mars/Olympus'), { code: 'BAD_INPUT', message: /Mars\/Olympus/ });
  t.throws(() => openCatalog({ root: '/x', timeZone: 'KST+9' }), { code: 'BAD_INPUT' });
  t.doesNotThrow(() => checkTimeZone('Asia/Seoul'));
});
