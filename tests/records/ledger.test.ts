/**
 * The export ledger read from request records: rows with decrypted (and, by default,
 * masked) personal data, the CSV as bytes (BOM, CRLF, quoting, Korean headers, formula
 * injection) parsed back with an independent reader, the printable report, monthly
 * statistics across a month boundary in Asia/Seoul, and filters.
 */
import t from 'tap';
import { chromium } from 'playwright-core';
import { randomBytes } from 'node:crypto';
import { dataKeyFrom, type DataKey } from '../../src/store/data-key.js';
import type { ExportRequest, RequestState, StateChange } from '../../src/workflow/types.js';
import {
  filterRequests,
  ledgerCsv,
  ledgerReportHtml,
  ledgerRows,
  ledgerStats,
  maskName,
  NO_EXPIRY,
  type LedgerRow,
} from '../../src/records/ledger.js';

const dk: DataKey = dataKeyFrom(randomBytes(32));

interface Person {
  name: string;
  phone?: string;
  idNumber?: string;
  organisation?: string | null;
  type?: ExportRequest['requester']['type'];
}

/** A request record as the workflow stores it, personal fields sealed with the data key. */
function request(id: string, createdAt: string, who: Person, more: Partial<ExportRequest> = {}, key: DataKey = dk): ExportRequest {
  return {
    id,
    state: 'registered',
    createdAt,
    updatedAt: createdAt,
    registeredBy: 'clerk-kim',
    receivedBy: null,
    approvedBy: null,
    requester: {
      name: key.seal(who.name, `request:${id}:name`),
      phone: who.phone ? key.seal(who.phone, `request:${id}:phone`) : null,
      idNumber: who.idNumber ? key.seal(who.idNumber, `request:${id}:idNumber`) : null,
      organisation: who.organisation ?? null,
      type: who.type ?? 'subject',
    },
    purpose: '본인 영상 열람',
    legalBasis: '개인정보 보호법 제35조',
    documentNumber: null,
    cameras: ['cam-01'],
    range: { from: '2026-02-27T01:00:00Z', to: '2026-02-27T01:05:00Z' },
    expiresAfterDays: 14,
    targets: ['face'],
    batch: false,
    review: { style: 'mosaic', unmasked: [], manualRegions: [], reviewedBy: null, reviewedAt: null },
    history: [{ at: createdAt, by: 'clerk-kim', from: null, to: 'registered' }],
    failure: null,
    analysisKey: null,
    package: null,
    deliveries: [],
    destruction: null,
    ...more,
  };
}

const step = (at: string, by: string, from: RequestState | null, to: RequestState, note?: string): StateChange => ({ at, by, from, to, ...(note ? { note } : {}) });

/** A police request that went the whole way: received, reviewed, approved, sealed, delivered twice, destroyed. */
function delivered(): ExportRequest {
  const id = 'REQ-2026-0001';
  return request(
    id,
    '2026-02-28T14:59:59Z', // 23:59:59 KST on 28 February
    { name: '홍길동', phone: '+82-10-1234-5678', idNumber: '900101-1234567', organisation: '마포경찰서', type: 'police' },
    {
      state: 'destroyed',
      receivedBy: 'clerk-lee',
      approvedBy: 'officer-park',
      purpose: '범죄 수사, "뺑소니" 사건',
      legalBasis: '개인정보 보호법 제18조 제2항 제7호',
      documentNumber: '수사-2026-117',
      cameras: ['cam-03', 'cam-04'],
      review: { style: 'blur', unmasked: [3, 5], manualRegions: [{ x: 1, y: 2, w: 30, h: 40, fromNs: 0, toNs: 1e9 }], reviewedBy: 'officer-park', reviewedAt: '2026-03-01T01:00:00Z' },
      history: [
        step('2026-02-28T14:59:59Z', 'clerk-kim', null, 'registered'),
        step('2026-02-28T23:30:00Z', 'clerk-lee', 'registered', 'received'),
        step('2026-03-01T00:10:00Z', 'officer-park', 'received', 'approved'),
        step('2026-03-01T02:00:00Z', 'system', 'rendering', 'sealed'),
        step('2026-03-01T03:00:00Z', 'clerk-lee', 'sealed', 'delivered'),
        step('2026-03-15T02:00:00Z', 'system', 'delivered', 'destroyed'),
      ],
      package: {
        file: null,
        packageId: 'pkg-7f3a',
        sha256: 'ab'.repeat(32),
        bytes: 1234,
        issuedAt: '2026-03-01T02:00:00Z',
        expiresAt: '2026-03-15T02:00:00Z',
        password: dk.seal('pw', `request:${id}:password`),
        removedAt: '2026-03-15T02:00:00Z',
      },
      deliveries: [
        { at: '2026-03-01T03:00:00Z', by: 'clerk-lee', ip: '10.0.0.5', how: 'download' },
        { at: '2026-03-02T03:00:00Z', by: 'clerk-choi', ip: '10.0.0.6', how: 'usb' },
      ],
      destruction: { at: '2026-03-15T02:00:00Z', by: 'system', reason: 'expired' },
    },
  );
}

/** A court request (no expiry) whose destruction notice arrived. */
function court(): ExportRequest {
  return request('REQ-2026-0002', '2026-02-28T15:00:00Z' /* 00:00 KST on 1 March */, { name: 'Jane Doe', organisation: '서울중앙지방법원', type: 'court' }, {
    state: 'destroyed',
    expiresAfterDays: null,
    purpose: '재판 증거 제출',
    legalBasis: '개인정보 보호법 제18조 제2항 제8호',
    history: [step('2026-02-28T15:00:00Z', 'clerk-kim', null, 'registered'), step('2026-03-02T00:00:00Z', 'officer-park', 'received', 'approved'), step('2026-03-03T00:00:00Z', 'clerk-lee', 'sealed', 'delivered')],
    package: { file: null, packageId: 'pkg-c0u7', sha256: 'cd'.repeat(32), bytes: 99, issuedAt: '2026-03-02T05:00:00Z', expiresAt: null, password: dk.seal('pw', 'request:REQ-2026-0002:password'), removedAt: null },
    deliveries: [{ at: '2026-03-03T00:00:00Z', by: 'clerk-lee', ip: '10.0.0.5', how: 'usb' }],
    destruction: { at: '2026-04-20T00:00:00Z', by: 'officer-park', reason: 'notice', noticeRef: '법원-파기-2026-9' },
  });
}

/** A rejected request in May (April has none), with hostile text in every typed field. */
function rejected(): ExportRequest {
  return request('REQ-2026-0003', '2026-05-10T03:00:00Z', { name: '=HYPERLINK("http://evil")', phone: '@SUM(A1)', organisation: '<img src=x onerror=alert(1)>', type: 'other' }, {
    state: 'rejected',
    purpose: '=1+2, "quoted"\r\nsecond line',
    legalBasis: '-2+3',
    documentNumber: '\tTAB',
    cameras: ['<script>alert(1)</script>'],
    history: [step('2026-05-10T03:00:00Z', 'clerk-kim', null, 'registered'), step('2026-05-11T00:00:00Z', 'officer-park', 'registered', 'rejected', '목적 불명확 <b>no</b>')],
  });
}

const all = (): ExportRequest[] => [rejected(), court(), delivered()];

/** RFC 4180 reader written for this test (quoted fields, doubled quotes, CRLF inside quotes). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), (i += 2);
      else if (c === '"') (quoted = false), i++;
      else (field += c), i++;
    } else if (c === '"' && field === '') (quoted = true), i++;
    else if (c === ',') row.push(field), (field = ''), i++;
    else if (c === '\r' && text[i + 1] === '\n') row.push(field), rows.push(row), (row = []), (field = ''), (i += 2);
    else if (c === '\n' || c === '\r') throw new Error(`bare line break at ${i}`);
    else (field += c), i++;
  }
  if (field !== '' || row.length) throw new Error('last record does not end with CRLF');
  return rows;
}

/** The CSV as records keyed by header. */
function csvRecords(csv: string): Record<string, string>[] {
  const [head, ...body] = parseCsv(csv.slice(1));
  return body.map((r, n) => {
    if (r.length !== head!.length) throw new Error(`record ${n + 1} has ${r.length} fields, the header ${head!.length}`);
    return Object.fromEntries(head!.map((h, i) => [h, r[i]!]));
  });
}

t.test('maskName hides the middle of a name', async (t) => {
  t.equal(maskName('홍길동'), '홍*동');
  t.equal(maskName('홍길'), '홍*');
  t.equal(maskName('남궁민수'), '남**수');
  t.equal(maskName('김'), '*');
  t.equal(maskName(' John  Smith '), 'J*** S****');
  t.equal(maskName('𠀀길동'), '𠀀*동', 'a character outside the BMP counts once');
});

t.test('rows tell each request’s whole story, oldest first', async (t) => {
  const rows = ledgerRows(all(), dk);
  t.same(rows.map((r) => r.id), ['REQ-2026-0001', 'REQ-2026-0002', 'REQ-2026-0003']);
  const [d, c, x] = rows as [LedgerRow, LedgerRow, LedgerRow];
  t.match(d, {
    requesterName: '홍길동',
    requesterNameMasked: '홍*동',
    requesterPhone: '+82-10-1234-5678',
    requesterIdNumber: '900101-1234567',
    personalDataReadable: true,
    organisation: '마포경찰서',
    requesterType: 'police',
    cameras: ['cam-03', 'cam-04'],
    receivedBy: 'clerk-lee',
    receivedAt: '2026-02-28T23:30:00Z',
    approvedBy: 'officer-park',
    approvedAt: '2026-03-01T00:10:00Z',
    reviewedBy: 'officer-park',
    rejectedBy: null,
    maskStyle: 'blur',
    unmaskedCount: 2,
    manualRegionCount: 1,
    packageId: 'pkg-7f3a',
    expiresAt: '2026-03-15T02:00:00Z',
    deliveryCount: 2,
    lastDeliveryAt: '2026-03-02T03:00:00Z',
    lastDeliveryBy: 'clerk-choi',
    lastDeliveryHow: 'usb',
    destructionReason: 'expired',
  });
  t.match(c, { expiresAt: NO_EXPIRY, destructionReason: 'notice', destructionNoticeRef: '법원-파기-2026-9', approvedBy: 'officer-park', requesterNameMasked: 'J*** D**' });
  t.match(x, { rejectedBy: 'officer-park', rejectedAt: '2026-05-11T00:00:00Z', rejectionNote: '목적 불명확 <b>no</b>', approvedBy: null, packageId: null, expiresAt: null, deliveryCount: 0, destroyedAt: null });
});

t.test('a field sealed for another record or another key stays in the ledger, marked unreadable', async (t) => {
  const other = request('REQ-X', '2026-03-05T00:00:00Z', { name: '이몽룡' }, {}, dataKeyFrom(randomBytes(32)));
  const moved = request('REQ-Y', '2026-03-06T00:00:00Z', { name: '성춘향' });
  moved.requester.phone = delivered().requester.phone; // sealed for REQ-2026-0001
  const rows = ledgerRows([other, moved], dk);
  t.match(rows[0], { id: 'REQ-X', requesterName: null, personalDataReadable: false });
  t.match(rows[1], { id: 'REQ-Y', requesterName: '성춘향', requesterPhone: null, personalDataReadable: false });
  const csv = csvRecords(ledgerCsv(rows));
  t.equal(csv[0]!['신청인 (Requester)'], '복호화 불가 (cannot decrypt)');
  const html = ledgerReportHtml(rows, { filter: {}, generatedAt: '2026-03-07T00:00:00Z', generatedBy: 'auditor', applianceId: 'vp-test' });
  t.equal((html.match(/<tr class="unreadable">/g) ?? []).length, 2, 'both rows are flagged in the report');
  t.match(html, /⚠ 2: /, 'the report counts them');
});

t.test('CSV bytes: BOM, CRLF, Korean-first headers, RFC 4180 quoting', async (t) => {
  const csv = ledgerCsv(ledgerRows(all(), dk));
  const bytes = Buffer.from(csv, 'utf8');
  t.same([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 byte-order mark first');
  t.ok(csv.endsWith('\r\n'), 'last record ends with CRLF');
  t.notOk(/[^\r]\n/.test(csv.replace(/"[^"]*(""[^"]*)*"/g, '')), 'no bare LF outside quoted fields');
  const header = csv.slice(1, csv.indexOf('\r\n')).split(',');
  t.equal(header[0], '신청번호 (Request ID)');
  t.equal(header[1], '신청일시 (Requested at)');
  t.ok(header.every((h) => /^[^\x00-\x7f]+.* \([A-Za-z][^)]*\)$/.test(h)), 'every header is Korean first, English in brackets');
  t.notOk(header.includes('연락처 (Phone)'), 'no phone column by default');
  t.match(csv, '"\'=1+2, ""quoted""\r\nsecond line"', 'a field with a comma, quotes and a line break is quoted, quotes doubled');
});

t.test('CSV parses back to the ledger, times in Asia/Seoul with the offset', async (t) => {
  const records = csvRecords(ledgerCsv(ledgerRows(all(), dk)));
  t.equal(records.length, 3);
  const [d, c, x] = records as [Record<string, string>, Record<string, string>, Record<string, string>];
  t.equal(d['신청번호 (Request ID)'], 'REQ-2026-0001');
  t.equal(d['신청일시 (Requested at)'], '2026-02-28T23:59:59+09:00');
  t.equal(Date.parse(d['신청일시 (Requested at)']!), Date.parse('2026-02-28T14:59:59Z'), 'the same instant');
  t.equal(c['신청일시 (Requested at)'], '2026-03-01T00:00:00+09:00');
  t.equal(d['처리 상태 (State)'], '파기 완료 (Destroyed)');
  t.equal(d['신청인 (Requester)'], '홍*동');
  t.equal(d['소속 (Organisation)'], '마포경찰서');
  t.equal(d['신청인 구분 (Requester type)'], '수사기관 (Investigative agency)');
  t.equal(d['이용 목적 (Purpose)'], '범죄 수사, "뺑소니" 사건');
  t.equal(d['카메라 (Cameras)'], 'cam-03; cam-04');
  t.equal(d['승인자 (Approved by)'], 'officer-park');
  t.equal(d['마스킹 방식 (Mask style)'], '블러 (blur)');
  t.equal(d['비마스킹 대상 수 (Unmasked tracks)'], '2');
  t.equal(d['만료일시 (Expires at)'], '2026-03-15T11:00:00+09:00');
  t.equal(d['제공 횟수 (Deliveries)'], '2');
  t.equal(d['제공 방법 (Delivered how)'], '이동식 매체 (removable media)');
  t.equal(d['파기 사유 (Destruction reason)'], '기간 만료 자동 파기 (expired)');
  t.equal(c['만료일시 (Expires at)'], '만료 없음: 파기 공문 필요 (no expiry: destruction notice required)');
  t.equal(c['파기 공문 번호 (Destruction notice ref.)'], '법원-파기-2026-9');
  t.equal(x['반려 사유 (Rejection note)'], '목적 불명확 <b>no</b>');
  t.equal(x['발급일시 (Issued at)'], '', 'nothing issued: empty, not a placeholder');
});

t.test('CSV cells that a spreadsheet would run as formulas are defused', async (t) => {
  const records = csvRecords(ledgerCsv(ledgerRows(all(), dk), { personalData: true }));
  const x = records[2]!;
  t.equal(x['신청인 (Requester)'], '\'=HYPERLINK("http://evil")');
  t.equal(x['연락처 (Phone)'], "'@SUM(A1)");
  t.equal(x['이용 목적 (Purpose)'], "'=1+2, \"quoted\"\r\nsecond line");
  t.equal(x['법적 근거 (Legal basis)'], "'-2+3");
  t.equal(x['문서번호 (Document no.)'], "'\tTAB");
  t.equal(records[0]!['연락처 (Phone)'], "'+82-10-1234-5678", 'a phone number with + is shown, not evaluated');
  for (const r of records) for (const v of Object.values(r)) t.notOk(/^[=+\-@\t\r]/.test(v), `no cell starts a formula: ${JSON.stringify(v).slice(0, 30)}`);
});

t.test('personal data only in the personal-data view', async (t) => {
  const rows = ledgerRows(all(), dk);
  const masked = ledgerCsv(rows);
  for (const secret of ['홍길동', '1234-5678', '900101-1234567', 'Jane Doe']) t.notOk(masked.includes(secret), `default CSV leaves out ${secret}`);
  const full = csvRecords(ledgerCsv(rows, { personalData: true }));
  t.equal(full[0]!['신청인 (Requester)'], '홍길동');
  t.equal(full[0]!['신분증 번호 (ID number)'], '900101-1234567');
  t.equal(full[1]!['신청인 (Requester)'], 'Jane Doe');
  const report = { filter: {}, generatedAt: '2026-06-01T00:00:00Z', generatedBy: 'auditor-jo', applianceId: 'vp-abc' };
  const html = ledgerReportHtml(rows, report);
  for (const secret of ['홍길동', '1234-5678', '900101-1234567', 'Jane Doe']) t.notOk(html.includes(secret), `default report leaves out ${secret}`);
  t.match(html, '홍*동');
  const fullHtml = ledgerReportHtml(rows, { ...report, personalData: true });
  t.match(fullHtml, '홍길동');
  t.match(fullHtml, '900101-1234567');
});

t.test('report: escaped, printable on A4, bilingual, self-contained', async (t) => {
  const rows = ledgerRows(all(), dk);
  const html = ledgerReportHtml(rows, {
    title: 'Ledger <Q1> & "co"',
    filter: { from: '2026-02-01T00:00:00+09:00', to: '2026-06-01T00:00:00+09:00', purpose: '<i>' },
    generatedAt: '2026-06-01T00:00:00Z',
    generatedBy: 'auditor<jo>',
    applianceId: 'vp-abc',
    personalData: true,
    stats: ledgerStats(all()),
  });
  t.match(html, /^<!DOCTYPE html>\n<html lang="ko">/);
  t.match(html, '<meta charset="utf-8">');
  t.match(html, /@page \{ size: A4 landscape;/, 'A4 page size');
  t.match(html, /thead \{ display: table-header-group; \}/, 'table header repeated on every page');
  t.match(html, /tr, td, th \{ break-inside: avoid; page-break-inside: avoid; \}/, 'rows never split across pages');
  t.match(html, '<h1>Ledger &lt;Q1&gt; &amp; &quot;co&quot;</h1>');
  t.match(html, 'auditor&lt;jo&gt;');
  t.match(html, '&lt;script&gt;alert(1)&lt;/script&gt;');
  t.match(html, '&lt;img src=x onerror=alert(1)&gt;');
  t.match(html, '목적 불명확 &lt;b&gt;no&lt;/b&gt;');
  t.match(html, '“&lt;i&gt;”', 'the filter is printed, escaped');
  t.notOk(/<script|<img|<b>|<i>|<link|@import|url\(|https?:\/\/(?!evil)/i.test(html), 'no markup from the data, no external resources');
  t.match(html, '신청 <span class="sec">Request</span>', 'Korean leads, English follows');
  t.match(html, '2026-03-01 00:00:00 +09:00', 'times in Asia/Seoul with the offset');
  t.match(html, '2026-06-01 09:00:00 +09:00', 'generated at, in Asia/Seoul');
  t.match(html, '만료 없음: 파기 공문 필요 (no expiry: destruction notice required)');
  t.match(html, /<td>2026-04<\/td><td class="num">0<\/td>/, 'the statistics are printed, empty months included');
  const en = ledgerReportHtml(rows, { lang: 'en', filter: {}, generatedAt: '2026-06-01T00:00:00Z', generatedBy: 'a', applianceId: 'vp-abc' });
  t.match(en, /<html lang="en">/);
  t.match(en, 'Request <span class="sec">신청</span>', 'English leads with lang: en');
  const empty = ledgerReportHtml([], { filter: { state: 'failed' }, generatedAt: '2026-06-01T00:00:00Z', generatedBy: 'a', applianceId: 'vp-abc' });
  t.match(empty, '조건에 맞는 신청이 없습니다');
  t.match(empty, '실패 (Failed)');
});

t.test('statistics per Asia/Seoul month across a month boundary', async (t) => {
  const s = ledgerStats(all());
  t.same(s.byMonth, [
    { month: '2026-02', requests: 1, delivered: 1, rejected: 0 }, // 23:59:59 KST on 28 February
    { month: '2026-03', requests: 1, delivered: 1, rejected: 0 }, // 00:00:00 KST on 1 March (still February in UTC)
    { month: '2026-04', requests: 0, delivered: 0, rejected: 0 },
    { month: '2026-05', requests: 1, delivered: 0, rejected: 1 },
  ]);
  t.same(ledgerStats(all(), 'UTC').byMonth.slice(0, 2), [
    { month: '2026-02', requests: 2, delivered: 2, rejected: 0 },
    { month: '2026-03', requests: 0, delivered: 0, rejected: 0 },
  ], 'in UTC both fall in February');
  t.same(s.byRequesterType, [
    { type: 'subject', requests: 0 },
    { type: 'police', requests: 1 },
    { type: 'court', requests: 1 },
    { type: 'other', requests: 1 },
  ]);
  t.equal(s.total, 3);
  const more = [...all(), request('R4', '2026-05-12T00:00:00Z', { name: '갑' }, { purpose: ' 재판  증거 제출 ' }), request('R5', '2026-05-13T00:00:00Z', { name: '을' }, { purpose: '재판 증거 제출' })];
  t.same(ledgerStats(more).byPurpose[0], { purpose: '재판 증거 제출', requests: 3 }, 'purposes grouped after trimming spaces, most frequent first');
  t.same(ledgerStats([]), { byMonth: [], byPurpose: [], byRequesterType: [{ type: 'subject', requests: 0 }, { type: 'police', requests: 0 }, { type: 'court', requests: 0 }, { type: 'other', requests: 0 }], total: 0 });
  t.throws(() => ledgerStats(all(), 'Mars/Olympus'), { code: 'BAD_INPUT', message: /Mars\/Olympus/ });
});

t.test('filters', async (t) => {
  const ids = (f: Parameters<typeof filterRequests>[1]) => filterRequests(all(), f).map((r) => r.id).sort();
  t.same(ids({}), ['REQ-2026-0001', 'REQ-2026-0002', 'REQ-2026-0003']);
  t.same(ids({ from: '2026-03-01T00:00:00+09:00' }), ['REQ-2026-0002', 'REQ-2026-0003'], 'from is inclusive, compared as instants');
  t.same(ids({ to: '2026-03-01T00:00:00+09:00' }), ['REQ-2026-0001'], 'to is exclusive');
  t.same(ids({ from: '2026-03-01T00:00:00+09:00', to: '2026-04-01T00:00:00+09:00' }), ['REQ-2026-0002']);
  t.same(ids({ state: 'rejected' }), ['REQ-2026-0003']);
  t.same(ids({ requesterType: 'court' }), ['REQ-2026-0002']);
  t.same(ids({ camera: 'cam-04' }), ['REQ-2026-0001']);
  t.same(ids({ camera: 'cam-0' }), [], 'camera matches exactly');
  t.same(ids({ purpose: '뺑소니' }), ['REQ-2026-0001']);
  t.same(ids({ purpose: 'QUOTED' }), ['REQ-2026-0003'], 'purpose substring, case-insensitive');
  t.same(ids({ state: 'destroyed', requesterType: 'police' }), ['REQ-2026-0001'], 'criteria combine');
  t.throws(() => filterRequests(all(), { from: '2026-03-01T00:00:00' }), { code: 'BAD_INPUT', message: /from .*zone/ }, 'a zone-less time is refused');
  t.throws(() => filterRequests(all(), { state: 'lost' as RequestState }), { code: 'BAD_INPUT', message: /state "lost"/ });
});

/** Printing in a real browser: Debian's chromium through playwright-core (setup installs both). */
t.test('the report prints to A4 PDF pages in chromium', async (t) => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage();
    const many = Array.from({ length: 60 }, (_, i) => ({ ...delivered(), id: `REQ-${i}` }));
    await page.setContent(ledgerReportHtml(ledgerRows(many, dk), { filter: {}, generatedAt: '2026-06-01T00:00:00Z', generatedBy: 'a', applianceId: 'vp-abc', stats: ledgerStats(many) }));
    const pdf = await page.pdf({ preferCSSPageSize: true, printBackground: true });
    t.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
    const boxes = [...pdf.toString('latin1').matchAll(/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)/g)].map((m) => [Math.round(Number(m[1])), Math.round(Number(m[2]))]);
    t.ok(boxes.length > 1, `more than one page (${boxes.length})`);
    t.ok(boxes.every(([w, h]) => w === 842 && h === 595), 'every page is A4 landscape (842 x 595 pt)');
  } finally {
    await browser.close();
  }
});
