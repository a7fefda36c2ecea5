/**
 * The one error type the core throws for anything a user, a file, the network or a
 * child process got wrong. `code` is stable and machine-readable (the CLI prints it
 * with `--json`, the API will map it to a status); `message` is one line a person can
 * act on, naming what was wrong.
 */
export type ErrorCode =
  | 'BAD_INPUT'
  | 'NOT_FOUND'
  | 'MEDIA_UNREADABLE'
  | 'PIPELINE_FAILED'
  | 'PIPELINE_STALLED'
  | 'MODEL_MISSING'
  | 'MODEL_MISMATCH'
  | 'ANALYSIS_FAILED'
  | 'RENDER_FAILED'
  | 'PACKAGE_TAMPERED'
  | 'PACKAGE_SIGNATURE'
  | 'PACKAGE_EXPIRED'
  | 'PACKAGE_FORMAT'
  | 'WRONG_PASSWORD'
  | 'EXTRACT_FORBIDDEN'
  | 'KEY_ERROR'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'LOCKED'
  | 'PASSWORD_EXPIRED'
  | 'CONFLICT'
  /** The thing existed and was destroyed on purpose (the API answers 410). */
  | 'GONE'
  | 'AUDIT_BROKEN'
  | 'BACKUP_TAMPERED';

export class VeilportError extends Error {
  readonly code: ErrorCode;
  /** Extra machine-readable facts (file names, positions); never personal data. */
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VeilportError';
    this.code = code;
    this.details = details;
  }
}

export function isVeilportError(e: unknown): e is VeilportError {
  return e instanceof VeilportError;
}
