/**
 * Words and formats shared by the ledger's CSV and its printed report: bilingual labels
 * (Korean first, as the 관리대장 is a Korean public record; English beside it for the
 * vendor's and auditors' staff), times in a named zone with their offset, and the
 * masked form of a requester's name.
 */
import { offsetAt, wallTimeAt } from '../util/zoned-time.js';
import type { MaskStyle } from '../masking/styles.js';
import type { Delivery, Destruction, RequestState, RequesterType } from '../workflow/types.js';

/** A label in both languages. */
export interface Bilingual {
  ko: string;
  en: string;
}

/** "신청일시 (Requested at)": how a label reads where only one line fits (CSV headers, cells). */
export const both = (l: Bilingual): string => `${l.ko} (${l.en})`;

export const REQUESTER_TYPE_LABELS: Record<RequesterType, Bilingual> = {
  subject: { ko: '정보주체', en: 'Data subject' },
  police: { ko: '수사기관', en: 'Investigative agency' },
  court: { ko: '법원', en: 'Court' },
  other: { ko: '기타', en: 'Other' },
};

export const STATE_LABELS: Record<RequestState, Bilingual> = {
  registered: { ko: '접수 대기', en: 'Registered' },
  received: { ko: '접수', en: 'Received' },
  approved: { ko: '승인', en: 'Approved' },
  rejected: { ko: '반려', en: 'Rejected' },
  analysing: { ko: '분석 중', en: 'Analysing' },
  review: { ko: '마스킹 검토 대기', en: 'Awaiting review' },
  rendering: { ko: '마스킹·암호화 중', en: 'Rendering' },
  sealed: { ko: '봉인 완료', en: 'Sealed' },
  delivered: { ko: '제공 완료', en: 'Delivered' },
  destroyed: { ko: '파기 완료', en: 'Destroyed' },
  failed: { ko: '실패', en: 'Failed' },
};

export const MASK_STYLE_LABELS: Record<MaskStyle, Bilingual> = {
  mosaic: { ko: '모자이크', en: 'mosaic' },
  blur: { ko: '블러', en: 'blur' },
  solid: { ko: '단색 가림', en: 'solid fill' },
};

export const DELIVERY_LABELS: Record<Delivery['how'], Bilingual> = {
  download: { ko: '다운로드', en: 'download' },
  usb: { ko: '이동식 매체', en: 'removable media' },
};

export const DESTRUCTION_LABELS: Record<Destruction['reason'], Bilingual> = {
  expired: { ko: '기간 만료 자동 파기', en: 'expired' },
  delivered: { ko: '제공 후 보관 기간 경과', en: 'delivered, grace period over' },
  notice: { ko: '파기 공문 접수', en: 'destruction notice' },
  rejected: { ko: '반려', en: 'request rejected' },
};

export const YES: Bilingual = { ko: '예', en: 'yes' };
export const NO: Bilingual = { ko: '아니오', en: 'no' };

/** Shown in place of a requester whose personal fields did not decrypt. */
export const UNREADABLE: Bilingual = { ko: '복호화 불가', en: 'cannot decrypt' };

/** Stored in `LedgerRow.expiresAt` where no expiry can be set (court submissions). */
export const NO_EXPIRY = 'no expiry: destruction notice required' as const;
export const NO_EXPIRY_LABEL: Bilingual = { ko: '만료 없음: 파기 공문 필요', en: NO_EXPIRY };

/** The zone the ledger is kept in: a Korean public office counts days and months in KST. */
export const LEDGER_TIME_ZONE = 'Asia/Seoul';

export interface ZonedParts {
  year: string;
  month: string;
  day: string;
  hour: string;
  minute: string;
  second: string;
  /** "+09:00" */
  offset: string;
}

/** Wall-clock fields of an instant in `timeZone`, or null when `iso` is not a time. */
export function zonedParts(iso: string, timeZone: string): ZonedParts | null {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return null;
  const w = wallTimeAt(ms, timeZone);
  const off = Math.round(offsetAt(ms, timeZone) / 60_000);
  const p2 = (n: number) => String(n).padStart(2, '0');
  return {
    year: String(w.year).padStart(4, '0'),
    month: p2(w.month),
    day: p2(w.day),
    hour: p2(w.hour),
    minute: p2(w.minute),
    second: p2(w.second),
    offset: `${off < 0 ? '-' : '+'}${p2(Math.floor(Math.abs(off) / 60))}:${p2(Math.abs(off) % 60)}`,
  };
}

/**
 * "2026-03-01T09:00:00+09:00": local time in the zone with its offset, so a reader sees
 * the office's clock and a program still gets the exact instant. Not a time: as given.
 */
export function zonedIso(iso: string, timeZone = LEDGER_TIME_ZONE): string {
  const p = zonedParts(iso, timeZone);
  return p ? `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}${p.offset}` : iso;
}

/** "2026-03-01 09:00:00 +09:00", for people (the printed report). */
export function zonedDisplay(iso: string, timeZone = LEDGER_TIME_ZONE): string {
  const p = zonedParts(iso, timeZone);
  return p ? `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second} ${p.offset}` : iso;
}

/**
 * A name with its middle hidden, as Korean offices print it: 홍길동 -> 홍*동, 홍길 -> 홍*,
 * 남궁민수 -> 남**수; a name with spaces keeps each word's first letter (John Smith ->
 * J*** S****). Counts code points, so a character outside the BMP is one character.
 */
export function maskName(name: string): string {
  const words = name.normalize('NFC').trim().split(/\s+/).filter(Boolean);
  const word = (w: string): string => {
    const cs = Array.from(w);
    if (cs.length <= 1) return '*';
    if (cs.length === 2 || words.length > 1) return cs[0] + '*'.repeat(cs.length - 1);
    return cs[0] + '*'.repeat(cs.length - 2) + cs[cs.length - 1];
  };
  return words.map(word).join(' ');
}
