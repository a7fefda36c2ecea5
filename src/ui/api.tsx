/**
 * The UI speaks only the public API, same origin, with the HttpOnly session cookie set
 * at login (no token is ever kept by the page). Every failure is an ApiError with the
 * API's stable code, so screens can say it in the user's language.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Called when the API says the session is gone (expired or logged out elsewhere). */
let onUnauthenticated: () => void = () => {};
export function setUnauthenticatedHandler(f: () => void): void {
  onUnauthenticated = f;
}

export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> { // eslint-disable-line @typescript-eslint/no-explicit-any
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body !== undefined ? { 'content-type': 'application/json' } : {},
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (e) {
    throw new ApiError(0, 'NETWORK', (e as Error).message);
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const err = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    const e = new ApiError(res.status, err?.code ?? (res.status >= 500 ? 'INTERNAL' : 'other'), err?.message ?? `HTTP ${res.status}`);
    if (res.status === 401 && !path.startsWith('/api/session') && !path.startsWith('/api/bootstrap')) onUnauthenticated();
    throw e;
  }
  return json as T;
}

export const qs = (o: Record<string, string | number | boolean | undefined | null>) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
};

// ---- shapes the screens use (a subset of the API's) -----------------------------

export type Role = 'viewer' | 'clerk' | 'approver' | 'auditor' | 'admin';
export const ROLES: Role[] = ['viewer', 'clerk', 'approver', 'auditor', 'admin'];
export const STATES = ['registered', 'received', 'approved', 'rejected', 'analysing', 'review', 'rendering', 'sealed', 'delivered', 'destroyed', 'failed'] as const;
export type State = (typeof STATES)[number];
export const REQUESTER_TYPES = ['subject', 'police', 'court', 'other'] as const;

export interface Account {
  id: string;
  displayName: string;
  role: Role;
  allowedIps: string[];
  disabled: boolean;
  lockedUntil: string | null;
  mustChangePassword: boolean;
  lastLoginAt: string | null;
}

export interface Session {
  account: Account;
  mustChangePassword: boolean;
  expiresAt: string;
}

export interface HistoryEntry {
  at: string;
  by: string;
  from: State | null;
  to: State;
  note?: string;
}

export interface RequestView {
  id: string;
  state: State;
  createdAt: string;
  registeredBy: string;
  receivedBy: string | null;
  approvedBy: string | null;
  requester: { name: string | null; phone: string | null; idNumber: string | null; organisation: string | null; type: string };
  purpose: string;
  legalBasis: string;
  documentNumber: string | null;
  cameras: string[];
  range: { from: string; to: string };
  expiresAfterDays: number | null;
  targets: string[];
  batch: boolean;
  review: {
    style: string;
    unmasked: number[];
    manualRegions: { x: number; y: number; w: number; h: number; fromNs: number; toNs: number }[];
    personMask?: PersonMask;
    groups?: number[][];
    reviewedBy: string | null;
  };
  history: HistoryEntry[];
  failure: string | null;
  package: { packageId: string; issuedAt: string; expiresAt: string | null; bytes: number; removedAt: string | null } | null;
  deliveries: { at: string; by: string; how: string }[];
  destruction: { at: string; by: string; reason: string; noticeRef?: string } | null;
}

export interface JobProgress {
  step: string;
  done: number;
  total: number;
  fps: number;
  etaSeconds: number;
}

export interface Status {
  version: string;
  applianceId: string;
  uptimeSeconds: number;
  queue: { queued: number; running: { jobId: string; requestId: string; kind: string; progress: JobProgress | null }[] };
  disks: Record<'recordings' | 'exports' | 'data', { path: string; freeBytes: number | null; totalBytes: number | null }>;
  alerts: { kind: string; message: string; requestId?: string; at: string }[];
  lastExports: { requestId: string; state: State; issuedAt: string; expiresAt: string | null }[];
}

export type Target = 'person' | 'vehicle' | 'face' | 'plate' | 'motion';
export type PersonMask = 'head' | 'body';

export interface Track {
  id: number;
  target: Target;
  /** Model class of vehicles (car, bus...). */
  label?: string;
  /** The person track a face belongs to: shown, masked and left visible with that person. */
  ownerId?: number;
  /** Index into Tracks.groups, or null. */
  group: number | null;
  fromSeconds: number;
  toSeconds: number;
  detections: number;
  /** Left visible by the saved decision (own choice, group or person). */
  unmasked: boolean;
  points: { t: number; x: number; y: number; w: number; h: number }[];
}

export interface ReportStretch {
  fromS: number;
  toS: number;
  frames: number;
}

/** The masking report of the current decision (src/masking/report.ts), as the API gives it. */
export interface MaskingReport {
  frames: number;
  coastLimitS: number;
  tracks: { id: number; target: Target; masked: boolean; fromS: number; toS: number; framesDetected: number; framesInferred: number; minHeightPx: number; minScore: number }[];
  undetected: (ReportStretch & { trackId: number })[];
  degraded: (ReportStretch & { reason: string })[];
  unexplainedMotion: { tracks: number; frames: number; meanShare: number; maxShare: number };
  maskedSharePerSecond: number[];
  maskedShare: { mean: number; max: number };
}

/** GET /api/requests/:id/tracks */
export interface Tracks {
  width: number;
  height: number;
  durationSeconds: number;
  personMask: PersonMask;
  groups: number[][];
  /** Indices into report.degraded the reviewer accepted (the render refuses the others). */
  acceptedDegraded: number[];
  tracks: Track[];
  report: MaskingReport;
}
