/**
 * An export request and its whole story, as kept in the `requests` database. The
 * export ledger (개인영상정보 관리대장) is read from these records: requests are never
 * deleted, only their packages are.
 */
import type { SealedText } from '../store/data-key.js';
import type { ManualRegion } from '../masking/plan.js';
import type { MaskStyle } from '../masking/styles.js';
import type { PersonMask } from '../masking/people.js';

export const ROLES = ['viewer', 'clerk', 'approver', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** 정보주체 (the data subject), 수사기관 (police, prosecutors), 법원 (court), 기타 (other). */
export const REQUESTER_TYPES = ['subject', 'police', 'court', 'other'] as const;
export type RequesterType = (typeof REQUESTER_TYPES)[number];

export const REQUEST_STATES = [
  'registered', // 접수 대기: registered by a clerk
  'received', // 접수: identity and admissibility checked
  'approved', // 승인: the privacy officer allowed provision
  'rejected', // 반려
  'analysing', // 분석 중
  'review', // 마스킹 검토 대기: tracks ready for the reviewer
  'rendering', // 마스킹·암호화 중
  'sealed', // 봉인 완료: package ready for delivery
  'delivered', // 제공 완료
  'destroyed', // 파기 완료 (expired, delivered past grace, or destruction notice)
  'failed', // 실패: a job failed; can be retried by a clerk
] as const;
export type RequestState = (typeof REQUEST_STATES)[number];

export interface Requester {
  /** Personal data, encrypted with the appliance data key (context `request:<id>:<field>`). */
  name: SealedText;
  phone: SealedText | null;
  idNumber: SealedText | null;
  organisation: string | null;
  type: RequesterType;
}

export interface StateChange {
  at: string;
  /** Account id, or `system` for the job runner and schedulers. */
  by: string;
  from: RequestState | null;
  to: RequestState;
  note?: string;
}

export interface ReviewDecision {
  style: MaskStyle;
  /** Track ids left visible (the data subject); every member of a visible group is listed. */
  unmasked: number[];
  manualRegions: ManualRegion[];
  /** What of each person is masked; absent in records made before it existed (head). */
  personMask?: PersonMask;
  /** Tracks merged as the same person (one decision for all); absent before merging existed. */
  groups?: number[][];
  /**
   * Degraded stretches of the analysis (the camera moved faster than it could follow) the
   * reviewer looked at and accepted; the render refuses any other (export/degraded.ts).
   */
  acceptedDegraded?: { fromNs: number; toNs: number }[];
  reviewedBy: string | null;
  reviewedAt: string | null;
}

/** The masking of a sealed package in figures, for the ledger's one-line summary (review-plan.ts). */
export interface MaskingTally {
  personMask: PersonMask;
  /** Persons (a merge group counts once) masked and left visible. */
  persons: { masked: number; visible: number };
  /** Faces not attached to a person track, and plates. */
  faces: { masked: number; visible: number };
  plates: { masked: number; visible: number };
  /** Vehicles found (never masked: their plates and faces are tracks of their own). */
  vehicles: number;
  /** Unexplained-motion tracks masked and dismissed by the reviewer; share of the picture they cover. */
  motion: { masked: number; dismissed: number; meanShare: number; maxShare: number };
  undetectedStretches: number;
  degradedStretches: number;
  maskedShareMean: number;
}

export interface PackageRecord {
  /** Where the package waits on the box; null once it has left (delivered + grace, expired). */
  file: string | null;
  packageId: string;
  sha256: string;
  bytes: number;
  issuedAt: string;
  expiresAt: string | null;
  /**
   * The package password, generated on the box, encrypted with the data key (context
   * `request:<id>:password`); null once the request is destroyed (nobody can ask for it again).
   */
  password: SealedText | null;
  /** When the box's copy was deleted, and why. */
  removedAt: string | null;
  /** What the package masks, in figures (absent in records sealed before it existed). */
  masking?: MaskingTally;
}

export interface Delivery {
  at: string;
  by: string;
  ip: string;
  how: 'download' | 'usb';
}

export interface Destruction {
  at: string;
  by: string;
  reason: 'expired' | 'delivered' | 'notice' | 'rejected';
  /** For court submissions: the destruction notice's reference (document number). */
  noticeRef?: string;
  /** What was deleted from the box with it (package, review clip, thumbnails, analysis, password), in words. */
  removed?: string[];
}

export interface ExportRequest {
  id: string;
  state: RequestState;
  createdAt: string;
  updatedAt: string;
  registeredBy: string;
  receivedBy: string | null;
  approvedBy: string | null;
  requester: Requester;
  purpose: string;
  legalBasis: string;
  documentNumber: string | null;
  cameras: string[];
  range: { from: string; to: string };
  /** Days from issue to expiry, or null: no expiry, a destruction notice is required. */
  expiresAfterDays: number | null;
  /** What the analysis looks for (face, plate, motion, person). */
  targets: string[];
  /** Batch mode: mask every track, no review step. */
  batch: boolean;
  review: ReviewDecision;
  history: StateChange[];
  /** Last job failure, in words, while state is `failed`. */
  failure: string | null;
  /** Key of the stored analysis (tracks and thumbnails) once pass 1 ran. */
  analysisKey: string | null;
  package: PackageRecord | null;
  deliveries: Delivery[];
  destruction: Destruction | null;
}
