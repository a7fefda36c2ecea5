/**
 * The export ledger (개인영상정보 관리대장), read from the request records: one row per
 * request telling its whole story (request, reception, review, approval or rejection,
 * masking, package, deliveries, destruction). Requests are never deleted, so the ledger
 * is never kept twice and can never disagree with what happened.
 *
 * Pure functions: the caller reads the requests from the store (and checks that the
 * account may see the ledger); nothing here touches a database, the network or a clock.
 *
 * Personal data (the requester's name, phone and ID number) is decrypted into the rows
 * but written out only when `personalData` is asked for (the auditor's and approver's
 * views); otherwise a masked name (홍*동) and the organisation stand for the requester.
 */
import { VeilportError } from '../util/errors.js';
import type { DataKey, SealedText } from '../store/data-key.js';
import type { MaskStyle } from '../masking/styles.js';
import {
  REQUEST_STATES,
  REQUESTER_TYPES,
  type Delivery,
  type Destruction,
  type ExportRequest,
  type MaskingTally,
  type RequestState,
  type RequesterType,
} from '../workflow/types.js';
import {
  DELIVERY_LABELS,
  DESTRUCTION_LABELS,
  LEDGER_TIME_ZONE,
  MASK_STYLE_LABELS,
  NO,
  NO_EXPIRY,
  NO_EXPIRY_LABEL,
  REQUESTER_TYPE_LABELS,
  STATE_LABELS,
  UNREADABLE,
  YES,
  both,
  maskName,
  zonedIso,
  zonedParts,
  type Bilingual,
} from './ledger-labels.js';
import { maskingLine } from './ledger-report.js';

export { ledgerReportHtml, type LedgerReportOptions } from './ledger-report.js';
export { NO_EXPIRY, maskName } from './ledger-labels.js';

export interface LedgerFilter {
  /** ISO time with a zone; requests created at or after it. */
  from?: string;
  /** ISO time with a zone; requests created before it (exclusive, so months tile). */
  to?: string;
  state?: RequestState;
  requesterType?: RequesterType;
  /** A camera the request names (exact). */
  camera?: string;
  /** Substring of the purpose, case-insensitive. */
  purpose?: string;
}

export interface LedgerRow {
  id: string;
  createdAt: string;
  state: RequestState;
  /** Decrypted; null when it does not open with this data key (see `personalDataReadable`). */
  requesterName: string | null;
  /** 홍*동: what the ledger shows without the personal-data view. */
  requesterNameMasked: string;
  requesterPhone: string | null;
  requesterIdNumber: string | null;
  /** False when a personal field failed to decrypt (wrong data key or a damaged record). */
  personalDataReadable: boolean;
  organisation: string | null;
  requesterType: RequesterType;
  purpose: string;
  legalBasis: string;
  documentNumber: string | null;
  cameras: string[];
  rangeFrom: string;
  rangeTo: string;
  registeredBy: string;
  receivedBy: string | null;
  receivedAt: string | null;
  reviewedBy: string | null;
  reviewedAt: string | null;
  approvedBy: string | null;
  approvedAt: string | null;
  rejectedBy: string | null;
  rejectedAt: string | null;
  rejectionNote: string | null;
  batch: boolean;
  maskStyle: MaskStyle;
  unmaskedCount: number;
  manualRegionCount: number;
  /** What the sealed package masks, in figures; null before sealing or for older records. */
  masking: MaskingTally | null;
  packageId: string | null;
  issuedAt: string | null;
  /** The package's expiry; NO_EXPIRY where none can be set; null while nothing is issued. */
  expiresAt: string | typeof NO_EXPIRY | null;
  deliveryCount: number;
  lastDeliveryAt: string | null;
  lastDeliveryBy: string | null;
  lastDeliveryHow: Delivery['how'] | null;
  destroyedAt: string | null;
  destroyedBy: string | null;
  destructionReason: Destruction['reason'] | null;
  destructionNoticeRef: string | null;
}

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

function instant(name: string, s: string): number {
  const ms = ISO_WITH_ZONE.test(s) ? Date.parse(s) : NaN;
  if (Number.isNaN(ms)) throw new VeilportError('BAD_INPUT', `ledger filter ${name} "${s}": expected an ISO time with a zone, e.g. 2026-03-01T00:00:00+09:00`, { field: name });
  return ms;
}

const fold = (s: string): string => s.normalize('NFC').toLowerCase();

/**
 * The requests that match every given criterion, in the order given.
 * @throws VeilportError BAD_INPUT naming the criterion when a time, state or type is not valid.
 */
export function filterRequests(requests: ExportRequest[], f: LedgerFilter): ExportRequest[] {
  const from = f.from !== undefined ? instant('from', f.from) : -Infinity;
  const to = f.to !== undefined ? instant('to', f.to) : Infinity;
  if (f.state !== undefined && !REQUEST_STATES.includes(f.state)) throw new VeilportError('BAD_INPUT', `ledger filter state "${f.state}": expected one of ${REQUEST_STATES.join(', ')}`, { field: 'state' });
  if (f.requesterType !== undefined && !REQUESTER_TYPES.includes(f.requesterType)) {
    throw new VeilportError('BAD_INPUT', `ledger filter requesterType "${f.requesterType}": expected one of ${REQUESTER_TYPES.join(', ')}`, { field: 'requesterType' });
  }
  const purpose = f.purpose ? fold(f.purpose) : null;
  return requests.filter((r) => {
    const at = Date.parse(r.createdAt);
    if (!(at >= from && at < to)) return false;
    if (f.state !== undefined && r.state !== f.state) return false;
    if (f.requesterType !== undefined && r.requester.type !== f.requesterType) return false;
    if (f.camera !== undefined && !r.cameras.includes(f.camera)) return false;
    if (purpose !== null && !fold(r.purpose).includes(purpose)) return false;
    return true;
  });
}

/** The last time the request entered `state`, and who moved it there. */
function lastEntered(r: ExportRequest, state: RequestState): { at: string; by: string; note: string | null } | null {
  for (let i = r.history.length - 1; i >= 0; i--) {
    const h = r.history[i]!;
    if (h.to === state) return { at: h.at, by: h.by, note: h.note ?? null };
  }
  return null;
}

/**
 * One row per request, oldest first (ties by id), personal fields decrypted with
 * context `request:<id>:<field>`. A field that does not open leaves the row in the
 * ledger with `personalDataReadable: false`: the ledger must stay complete even when a
 * record is damaged, and the report says which rows are affected.
 */
export function ledgerRows(requests: ExportRequest[], dataKey: DataKey): LedgerRow[] {
  const sorted = [...requests].sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return sorted.map((r) => {
    let readable = true;
    const open = (sealed: SealedText | null, field: 'name' | 'phone' | 'idNumber'): string | null => {
      if (sealed === null) return null;
      try {
        return dataKey.open(sealed, `request:${r.id}:${field}`);
      } catch {
        readable = false;
        return null;
      }
    };
    const name = open(r.requester.name, 'name');
    const phone = open(r.requester.phone, 'phone');
    const idNumber = open(r.requester.idNumber, 'idNumber');
    const received = lastEntered(r, 'received');
    const approved = lastEntered(r, 'approved');
    const rejected = lastEntered(r, 'rejected');
    const last = r.deliveries.length ? r.deliveries[r.deliveries.length - 1]! : null;
    const pkg = r.package;
    const expiresAt = pkg ? (pkg.expiresAt ?? NO_EXPIRY) : r.expiresAfterDays === null ? NO_EXPIRY : null;
    return {
      id: r.id,
      createdAt: r.createdAt,
      state: r.state,
      requesterName: name,
      requesterNameMasked: name === null ? '' : maskName(name),
      requesterPhone: phone,
      requesterIdNumber: idNumber,
      personalDataReadable: readable,
      organisation: r.requester.organisation,
      requesterType: r.requester.type,
      purpose: r.purpose,
      legalBasis: r.legalBasis,
      documentNumber: r.documentNumber,
      cameras: [...r.cameras],
      rangeFrom: r.range.from,
      rangeTo: r.range.to,
      registeredBy: r.registeredBy,
      receivedBy: r.receivedBy ?? received?.by ?? null,
      receivedAt: received?.at ?? null,
      reviewedBy: r.review.reviewedBy,
      reviewedAt: r.review.reviewedAt,
      approvedBy: r.approvedBy ?? approved?.by ?? null,
      approvedAt: approved?.at ?? null,
      rejectedBy: rejected?.by ?? null,
      rejectedAt: rejected?.at ?? null,
      rejectionNote: rejected?.note ?? null,
      batch: r.batch,
      maskStyle: r.review.style,
      unmaskedCount: r.review.unmasked.length,
      manualRegionCount: r.review.manualRegions.length,
      masking: pkg?.masking ?? null,
      packageId: pkg?.packageId ?? null,
      issuedAt: pkg?.issuedAt ?? null,
      expiresAt,
      deliveryCount: r.deliveries.length,
      lastDeliveryAt: last?.at ?? null,
      lastDeliveryBy: last?.by ?? null,
      lastDeliveryHow: last?.how ?? null,
      destroyedAt: r.destruction?.at ?? null,
      destroyedBy: r.destruction?.by ?? null,
      destructionReason: r.destruction?.reason ?? null,
      destructionNoticeRef: r.destruction?.noticeRef ?? null,
    };
  });
}

// ---------------------------------------------------------------------------- CSV

const time = (s: string | null): string => (s === null ? '' : zonedIso(s, LEDGER_TIME_ZONE));
const opt = (s: string | null | undefined): string => s ?? '';
const lbl = (l: Bilingual | undefined): string => (l ? both(l) : '');

export interface LedgerColumn {
  label: Bilingual;
  /** Only in the personal-data view. */
  personal?: boolean;
  value(row: LedgerRow, personalData: boolean): string;
}

/** The CSV's columns, in order; times in Asia/Seoul with their offset. */
export const LEDGER_COLUMNS: readonly LedgerColumn[] = [
  { label: { ko: '신청번호', en: 'Request ID' }, value: (r) => r.id },
  { label: { ko: '신청일시', en: 'Requested at' }, value: (r) => time(r.createdAt) },
  { label: { ko: '처리 상태', en: 'State' }, value: (r) => lbl(STATE_LABELS[r.state]) },
  {
    label: { ko: '신청인', en: 'Requester' },
    value: (r, personal) => (!r.personalDataReadable && r.requesterName === null ? lbl(UNREADABLE) : personal ? opt(r.requesterName) : r.requesterNameMasked),
  },
  { label: { ko: '연락처', en: 'Phone' }, personal: true, value: (r) => opt(r.requesterPhone) },
  { label: { ko: '신분증 번호', en: 'ID number' }, personal: true, value: (r) => opt(r.requesterIdNumber) },
  { label: { ko: '소속', en: 'Organisation' }, value: (r) => opt(r.organisation) },
  { label: { ko: '신청인 구분', en: 'Requester type' }, value: (r) => lbl(REQUESTER_TYPE_LABELS[r.requesterType]) },
  { label: { ko: '이용 목적', en: 'Purpose' }, value: (r) => r.purpose },
  { label: { ko: '법적 근거', en: 'Legal basis' }, value: (r) => r.legalBasis },
  { label: { ko: '문서번호', en: 'Document no.' }, value: (r) => opt(r.documentNumber) },
  { label: { ko: '카메라', en: 'Cameras' }, value: (r) => r.cameras.join('; ') },
  { label: { ko: '영상 시작', en: 'Footage from' }, value: (r) => time(r.rangeFrom) },
  { label: { ko: '영상 끝', en: 'Footage to' }, value: (r) => time(r.rangeTo) },
  { label: { ko: '등록자', en: 'Registered by' }, value: (r) => r.registeredBy },
  { label: { ko: '접수자', en: 'Received by' }, value: (r) => opt(r.receivedBy) },
  { label: { ko: '접수일시', en: 'Received at' }, value: (r) => time(r.receivedAt) },
  { label: { ko: '검토자', en: 'Reviewed by' }, value: (r) => opt(r.reviewedBy) },
  { label: { ko: '검토일시', en: 'Reviewed at' }, value: (r) => time(r.reviewedAt) },
  { label: { ko: '승인자', en: 'Approved by' }, value: (r) => opt(r.approvedBy) },
  { label: { ko: '승인일시', en: 'Approved at' }, value: (r) => time(r.approvedAt) },
  { label: { ko: '반려자', en: 'Rejected by' }, value: (r) => opt(r.rejectedBy) },
  { label: { ko: '반려일시', en: 'Rejected at' }, value: (r) => time(r.rejectedAt) },
  { label: { ko: '반려 사유', en: 'Rejection note' }, value: (r) => opt(r.rejectionNote) },
  { label: { ko: '마스킹 방식', en: 'Mask style' }, value: (r) => lbl(MASK_STYLE_LABELS[r.maskStyle]) },
  { label: { ko: '일괄 처리', en: 'Batch' }, value: (r) => lbl(r.batch ? YES : NO) },
  { label: { ko: '비마스킹 대상 수', en: 'Unmasked tracks' }, value: (r) => String(r.unmaskedCount) },
  { label: { ko: '수동 마스킹 영역 수', en: 'Manual regions' }, value: (r) => String(r.manualRegionCount) },
  { label: { ko: '마스킹 요약', en: 'Masking summary' }, value: (r) => lbl(maskingLine(r.masking) ?? undefined) },
  { label: { ko: '패키지 ID', en: 'Package ID' }, value: (r) => opt(r.packageId) },
  { label: { ko: '발급일시', en: 'Issued at' }, value: (r) => time(r.issuedAt) },
  { label: { ko: '만료일시', en: 'Expires at' }, value: (r) => (r.expiresAt === NO_EXPIRY ? lbl(NO_EXPIRY_LABEL) : time(r.expiresAt)) },
  { label: { ko: '제공 횟수', en: 'Deliveries' }, value: (r) => String(r.deliveryCount) },
  { label: { ko: '최종 제공일시', en: 'Last delivered at' }, value: (r) => time(r.lastDeliveryAt) },
  { label: { ko: '최종 제공자', en: 'Last delivered by' }, value: (r) => opt(r.lastDeliveryBy) },
  { label: { ko: '제공 방법', en: 'Delivered how' }, value: (r) => (r.lastDeliveryHow ? lbl(DELIVERY_LABELS[r.lastDeliveryHow]) : '') },
  { label: { ko: '파기일시', en: 'Destroyed at' }, value: (r) => time(r.destroyedAt) },
  { label: { ko: '파기자', en: 'Destroyed by' }, value: (r) => opt(r.destroyedBy) },
  { label: { ko: '파기 사유', en: 'Destruction reason' }, value: (r) => (r.destructionReason ? lbl(DESTRUCTION_LABELS[r.destructionReason]) : '') },
  { label: { ko: '파기 공문 번호', en: 'Destruction notice ref.' }, value: (r) => opt(r.destructionNoticeRef) },
];

/**
 * One CSV field: a leading = + - @ TAB or CR would make a spreadsheet run it as a
 * formula (CSV injection), so such a field gets a leading apostrophe (a phone number
 * "+82 ..." included: shown as typed, never evaluated); then RFC 4180 quoting.
 */
export function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/**
 * The ledger as CSV for Excel: UTF-8 with a byte-order mark (without it Excel reads
 * Korean as the ANSI code page), CRLF line ends, RFC 4180 quoting, bilingual headers.
 * The phone and ID-number columns exist only with `personalData`.
 */
export function ledgerCsv(rows: LedgerRow[], opts: { personalData?: boolean } = {}): string {
  const personal = opts.personalData === true;
  const columns = LEDGER_COLUMNS.filter((c) => personal || !c.personal);
  const lines = [columns.map((c) => csvField(both(c.label))).join(',')];
  for (const row of rows) lines.push(columns.map((c) => csvField(c.value(row, personal))).join(','));
  return '\uFEFF' + lines.join('\r\n') + '\r\n';
}

// ---------------------------------------------------------------------------- stats

export interface LedgerStats {
  /** Every month from the first request to the last, empty months included, oldest first. */
  byMonth: { month: string; requests: number; delivered: number; rejected: number }[];
  /** Most frequent first. */
  byPurpose: { purpose: string; requests: number }[];
  /** Every requester type, in REQUESTER_TYPES order, zeros included. */
  byRequesterType: { type: RequesterType; requests: number }[];
  total: number;
}

const everEntered = (r: ExportRequest, s: RequestState): boolean => r.state === s || r.history.some((h) => h.to === s);

/**
 * Counts per month of request (by `createdAt`), purpose and requester type. A request
 * counts as delivered once any delivery was made, and as rejected once it was rejected,
 * whatever it became later (destroyed).
 *
 * Months are calendar months in `timeZone`, default Asia/Seoul: the office reports by
 * its own calendar, and a request made at 08:00 KST on 1 March is a March request
 * although it is still 28 February in UTC.
 */
export function ledgerStats(requests: ExportRequest[], timeZone: string = LEDGER_TIME_ZONE): LedgerStats {
  const months = new Map<string, { requests: number; delivered: number; rejected: number }>();
  const purposes = new Map<string, number>();
  const types = new Map<RequesterType, number>(REQUESTER_TYPES.map((t) => [t, 0]));
  for (const r of requests) {
    const p = zonedParts(r.createdAt, timeZone);
    if (!p) throw new VeilportError('BAD_INPUT', `request ${r.id} has createdAt "${r.createdAt}", not a time`, { requestId: r.id });
    const key = `${p.year}-${p.month}`;
    const m = months.get(key) ?? { requests: 0, delivered: 0, rejected: 0 };
    m.requests++;
    if (r.deliveries.length > 0 || everEntered(r, 'delivered')) m.delivered++;
    if (everEntered(r, 'rejected')) m.rejected++;
    months.set(key, m);
    const purpose = r.purpose.normalize('NFC').trim().replace(/\s+/g, ' ');
    purposes.set(purpose, (purposes.get(purpose) ?? 0) + 1);
    types.set(r.requester.type, (types.get(r.requester.type) ?? 0) + 1);
  }
  const byMonth: LedgerStats['byMonth'] = [];
  const keys = [...months.keys()].sort();
  if (keys.length) {
    let [y, mo] = keys[0]!.split('-').map(Number) as [number, number];
    const last = keys[keys.length - 1]!;
    for (;;) {
      const key = `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}`;
      byMonth.push({ month: key, ...(months.get(key) ?? { requests: 0, delivered: 0, rejected: 0 }) });
      if (key === last) break;
      if (++mo > 12) [y, mo] = [y + 1, 1];
    }
  }
  return {
    byMonth,
    byPurpose: [...purposes].map(([purpose, n]) => ({ purpose, requests: n })).sort((a, b) => b.requests - a.requests || a.purpose.localeCompare(b.purpose, 'ko')),
    byRequesterType: [...types].map(([type, n]) => ({ type, requests: n })),
    total: requests.length,
  };
}
