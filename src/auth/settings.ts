/**
 * Settings of accounts, passwords, lockout and sessions. Defaults follow the seeds: the
 * password expires quarterly (비밀번호 유효기간 분기별 1회 이상), five failures lock the
 * account for fifteen minutes, an idle session ends after fifteen minutes.
 */
import { VeilportError } from '../util/errors.js';

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

export interface AuthSettings {
  /** Days a password is valid; after that login succeeds but only a password change is allowed. */
  passwordMaxAgeDays: number;
  /** Consecutive failures that lock an account. */
  lockoutThreshold: number;
  lockoutMinutes: number;
  /** A session ends after this many minutes without a request. */
  sessionIdleMinutes: number;
  /** And after this many hours in any case. */
  sessionMaxHours: number;
  /** Client addresses (CIDR, IPv4 or IPv6) allowed at all; empty = any. */
  allowedIps: string[];
  /** scrypt cost for new password hashes (stored hashes carry their own). */
  scrypt: ScryptParams;
}

export const DEFAULT_AUTH_SETTINGS: AuthSettings = Object.freeze({
  passwordMaxAgeDays: 90,
  lockoutThreshold: 5,
  lockoutMinutes: 15,
  sessionIdleMinutes: 15,
  sessionMaxHours: 12,
  allowedIps: [],
  // 2^17 x r=8: 128 MiB and about half a second per login on the appliance (OWASP's floor for scrypt).
  scrypt: Object.freeze({ N: 2 ** 17, r: 8, p: 1 }),
}) as AuthSettings;

/** Limits on scrypt parameters, for new hashes and for stored ones alike (a tampered record must not cost a gigabyte). */
export const SCRYPT_LIMITS = { minLogN: 10, maxLogN: 20, maxR: 32, maxP: 16 } as const;

export function checkScryptParams(p: ScryptParams, where: string): void {
  const logN = Math.log2(p.N);
  if (!Number.isInteger(logN) || logN < SCRYPT_LIMITS.minLogN || logN > SCRYPT_LIMITS.maxLogN) {
    throw new VeilportError('BAD_INPUT', `${where}: scrypt N must be a power of two from 2^${SCRYPT_LIMITS.minLogN} to 2^${SCRYPT_LIMITS.maxLogN} (got ${p.N})`);
  }
  if (!Number.isInteger(p.r) || p.r < 1 || p.r > SCRYPT_LIMITS.maxR) throw new VeilportError('BAD_INPUT', `${where}: scrypt r must be 1..${SCRYPT_LIMITS.maxR} (got ${p.r})`);
  if (!Number.isInteger(p.p) || p.p < 1 || p.p > SCRYPT_LIMITS.maxP) throw new VeilportError('BAD_INPUT', `${where}: scrypt p must be 1..${SCRYPT_LIMITS.maxP} (got ${p.p})`);
}

/** @throws VeilportError BAD_INPUT naming the setting that is out of range. */
export function checkAuthSettings(s: AuthSettings): void {
  const positive: Array<keyof AuthSettings> = ['passwordMaxAgeDays', 'lockoutThreshold', 'lockoutMinutes', 'sessionIdleMinutes', 'sessionMaxHours'];
  for (const k of positive) {
    const v = s[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new VeilportError('BAD_INPUT', `auth settings: ${k} must be a number above zero (got ${String(v)})`, { setting: k });
  }
  if (!Array.isArray(s.allowedIps)) throw new VeilportError('BAD_INPUT', 'auth settings: allowedIps must be a list of CIDRs', { setting: 'allowedIps' });
  if (!s.scrypt) throw new VeilportError('BAD_INPUT', 'auth settings: scrypt {N, r, p} is missing', { setting: 'scrypt' });
  checkScryptParams(s.scrypt, 'auth settings');
}

/**
 * AuthSettings from the daemon's settings file shape (`auth` section with `scryptLogN`,
 * `server.allowedIps`), typed structurally so this module does not depend on the config.
 */
export function authSettingsFrom(cfg: {
  auth: { passwordMaxAgeDays: number; lockoutThreshold: number; lockoutMinutes: number; sessionIdleMinutes: number; sessionMaxHours: number; scryptLogN: number };
  server: { allowedIps: string[] };
}): AuthSettings {
  const { scryptLogN, ...rest } = cfg.auth;
  return { ...rest, allowedIps: [...cfg.server.allowedIps], scrypt: { N: 2 ** scryptLogN, r: 8, p: 1 } };
}
