/**
 * Passwords: one-way scrypt hashes that carry their own parameters, and the rules a new
 * password must meet (비밀번호 작성규칙): length by variety of characters, no easy runs,
 * nothing from the account's own id, phone number or birth date (개인정보의 안전성
 * 확보조치 기준, 제10조 ①).
 *
 * Stored format (PHC-like): `$scrypt$N=131072,r=8,p=1$<salt>$<key>` with salt (16 bytes)
 * and key (32 bytes) in unpadded base64url. A hash made with older parameters keeps
 * verifying after the settings change, and is upgraded at the next good login.
 *
 * scrypt runs in Node's own implementation on the libuv thread pool (about 2.4 times
 * faster than a JavaScript one at N = 2^17 here, and it never blocks the event loop).
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { isCommonPassword } from './common-passwords.js';
import { VeilportError } from '../util/errors.js';
import { checkScryptParams, type ScryptParams } from './settings.js';

const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Longest password accepted for a new password; login input is capped at this too. */
export const PASSWORD_MAX_LENGTH = 128;
/** scrypt memory budget: 128 * N * r bytes for the largest parameters allowed, plus slack. */
const MAXMEM = 128 * 2 ** 20 * 32 + 1024 * 1024;

export interface ParsedHash extends ScryptParams {
  salt: Uint8Array;
  key: Uint8Array;
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

function derive(password: string, salt: Uint8Array, p: ScryptParams): Promise<Uint8Array> {
  // NFC so that the same visible password typed on different keyboards hashes the same.
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, { N: p.N, r: p.r, p: p.p, maxmem: MAXMEM }, (err, key) => (err ? reject(err) : resolve(new Uint8Array(key.buffer, key.byteOffset, key.length)))),
  );
}

export async function hashPassword(password: string, params: ScryptParams): Promise<string> {
  checkScryptParams(params, 'password hash');
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, params);
  return `$scrypt$N=${params.N},r=${params.r},p=${params.p}$${b64(salt)}$${b64(key)}`;
}

const HASH_RE = /^\$scrypt\$N=(\d{1,8}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9_-]{16,64})\$([A-Za-z0-9_-]{43})$/;

/** @throws VeilportError KEY_ERROR when the stored hash is not in the format above. */
export function parsePasswordHash(stored: string): ParsedHash {
  const m = typeof stored === 'string' ? HASH_RE.exec(stored) : null;
  if (!m) throw new VeilportError('KEY_ERROR', 'a stored password hash is malformed (expected $scrypt$N=..,r=..,p=..$salt$key)');
  const p = { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  try {
    checkScryptParams(p, 'stored password hash');
  } catch (e) {
    throw new VeilportError('KEY_ERROR', (e as Error).message);
  }
  const key = Buffer.from(m[5]!, 'base64url');
  if (key.length !== KEY_BYTES) throw new VeilportError('KEY_ERROR', 'a stored password hash has a key of the wrong length');
  return { ...p, salt: Buffer.from(m[4]!, 'base64url'), key };
}

/** Constant-time check of `password` against a stored hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const h = parsePasswordHash(stored);
  const key = await derive(password.slice(0, PASSWORD_MAX_LENGTH + 1), h.salt, h);
  return timingSafeEqual(key, h.key);
}

/** True when the stored hash was made with other parameters than `params`. */
export function hashNeedsUpgrade(stored: string, params: ScryptParams): boolean {
  const h = parsePasswordHash(stored);
  return h.N !== params.N || h.r !== params.r || h.p !== params.p;
}

/** A hash nobody's password matches, with `params`: verified against on unknown ids so timing is the same. */
export function decoyHash(params: ScryptParams): string {
  return `$scrypt$N=${params.N},r=${params.r},p=${params.p}$${b64(new Uint8Array(SALT_BYTES))}$${b64(randomBytes(KEY_BYTES))}`;
}

// ---------------------------------------------------------------------------------------
// Rules

export interface PasswordPersonal {
  userId: string;
  phone?: string | undefined;
  /** YYYY-MM-DD */
  birthDate?: string | undefined;
}

export interface PasswordRuleViolation {
  /** Stable code the UI translates. */
  rule: string;
  /** English, naming what is wrong. */
  message: string;
}

/** Stable rule codes, in the order they are checked. */
export const PASSWORD_RULES = ['length', 'charset', 'kinds', 'repeat', 'sequence', 'keyboard', 'common', 'user_id', 'phone', 'birth_date'] as const;
export type PasswordRule = (typeof PASSWORD_RULES)[number] | 'reuse';

const KINDS = ['upper case letters', 'lower case letters', 'digits', 'symbols'] as const;

function kindsOf(pw: string): Set<(typeof KINDS)[number]> {
  const k = new Set<(typeof KINDS)[number]>();
  for (const c of pw) {
    if (c >= 'A' && c <= 'Z') k.add('upper case letters');
    else if (c >= 'a' && c <= 'z') k.add('lower case letters');
    else if (c >= '0' && c <= '9') k.add('digits');
    else k.add('symbols');
  }
  return k;
}

const isDigit = (c: string) => c >= '0' && c <= '9';
const isLetter = (c: string) => c >= 'a' && c <= 'z';
const RUN = 4;

/** The first run of 4+ identical characters (case-insensitive), e.g. "aaaa", "1111". */
function repeatedRun(lower: string): string | null {
  for (let i = 0; i + RUN <= lower.length; i++) {
    const s = lower.slice(i, i + RUN);
    if ([...s].every((c) => c === s[0])) return s;
  }
  return null;
}

/** The first run of 4+ consecutive letters or digits going up or down by one, e.g. "1234", "dcba". */
function sequentialRun(lower: string): string | null {
  for (let i = 0; i + RUN <= lower.length; i++) {
    const s = lower.slice(i, i + RUN);
    const chars = [...s];
    if (!(chars.every(isDigit) || chars.every(isLetter))) continue;
    const d = s.charCodeAt(1) - s.charCodeAt(0);
    if (d !== 1 && d !== -1) continue;
    let ok = true;
    for (let j = 2; j < RUN; j++) if (s.charCodeAt(j) - s.charCodeAt(j - 1) !== d) ok = false;
    if (ok) return s;
  }
  return null;
}

const KEYBOARD_ROWS = ['1234567890', 'qwertyuiop', 'asdfghjkl', 'zxcvbnm'];
const KEYBOARD_RUNS = new Set<string>();
for (const row of KEYBOARD_ROWS) {
  for (const r of [row, [...row].reverse().join('')]) for (let i = 0; i + RUN <= r.length; i++) KEYBOARD_RUNS.add(r.slice(i, i + RUN));
}

/** The first run of 4+ neighbouring keys of one row of the (English) keyboard, e.g. "qwer", "7890". */
function keyboardRun(lower: string): string | null {
  for (let i = 0; i + RUN <= lower.length; i++) {
    const s = lower.slice(i, i + RUN);
    if (KEYBOARD_RUNS.has(s) && !sequentialRun(s)) return s; // 1234 is reported as a sequence
  }
  return null;
}

const digitsOf = (s: string) => s.replace(/\D/g, '');

/**
 * The pieces of a phone number a password must not contain: the whole number and its
 * groups of 4 (for 010-1234-5678: 01012345678, 1234, 5678), and the groups as written
 * when separators are used (02-123-4567: 123, 4567), except the leading area or carrier
 * code (0xx).
 */
export function phonePieces(phone: string): string[] {
  const all = digitsOf(phone);
  const pieces = new Set<string>();
  if (all.length >= 4) pieces.add(all);
  if (all.length >= 4) pieces.add(all.slice(-4));
  if (all.length >= 8) pieces.add(all.slice(-8, -4));
  const groups = phone.split(/[^0-9]+/).filter(Boolean);
  if (groups.length > 1) {
    groups.forEach((g, i) => {
      if (i === 0 && g.startsWith('0') && g.length <= 3) return;
      if (g.length >= 3) pieces.add(g);
    });
  }
  return [...pieces];
}

/** YYYYMMDD, YYMMDD and MMDD of a YYYY-MM-DD birth date. */
export function birthDatePieces(birthDate: string): string[] {
  const m = /^(\d{2})(\d{2})-?(\d{2})-?(\d{2})$/.exec(birthDate.trim());
  if (!m) return [];
  return [`${m[1]}${m[2]}${m[3]}${m[4]}`, `${m[2]}${m[3]}${m[4]}`, `${m[3]}${m[4]}`];
}

/**
 * Checks a new password against every rule. Empty list = acceptable. Messages never
 * quote the password or the personal data (they may end up in logs).
 *
 * - length: at least 10 characters of two kinds, or 8 of three (kinds: upper case,
 *   lower case, digits, symbols); at most 128.
 * - charset: printable English-keyboard characters only (a password typed with the
 *   keyboard in Korean mode cannot be typed again on another terminal).
 * - repeat / sequence / keyboard: no run of 4 like aaaa, 1234, 4321, abcd, qwer.
 * - common: not a well-known password, nor one with its letters swapped for look-alike
 *   digits and symbols (P@ssw0rd) or with digits and symbols added at the ends
 *   (Password1!): data/common-passwords.txt, see common-passwords.ts.
 * - user_id / phone / birth_date: none of the account's own.
 */
export function checkPasswordRules(password: string, personal: PasswordPersonal): PasswordRuleViolation[] {
  const out: PasswordRuleViolation[] = [];
  const len = [...password].length;
  const kinds = kindsOf(password);
  if (len < 8) {
    out.push({ rule: 'length', message: `the password has ${len} characters; it needs at least 10 using two kinds of characters, or 8 using three (upper case, lower case, digits, symbols)` });
  } else if (len > PASSWORD_MAX_LENGTH) {
    out.push({ rule: 'length', message: `the password has ${len} characters; at most ${PASSWORD_MAX_LENGTH} are allowed` });
  }
  // eslint-disable-next-line no-control-regex
  if (/[^\x20-\x7e]/.test(password)) {
    out.push({ rule: 'charset', message: 'the password may contain only English letters, digits, symbols and spaces (is the keyboard in Korean mode? press 한/영)' });
  }
  if (len >= 8 && len <= PASSWORD_MAX_LENGTH) {
    const n = kinds.size;
    const has = [...kinds].join(', ');
    if (len < 10 && n < 3) {
      out.push({ rule: 'kinds', message: `a password of ${len} characters needs three kinds of characters (upper case, lower case, digits, symbols); it has ${n} (${has}): add another kind or make it at least 10 characters with two kinds` });
    } else if (n < 2) {
      out.push({ rule: 'kinds', message: `the password uses only ${has}; it needs at least two kinds of characters (upper case, lower case, digits, symbols)` });
    }
  }
  const lower = password.toLowerCase();
  const rep = repeatedRun(lower);
  if (rep) out.push({ rule: 'repeat', message: `the password repeats one character 4 or more times in a row, like aaaa or 1111` });
  const seq = sequentialRun(lower);
  if (seq) out.push({ rule: 'sequence', message: `the password contains 4 or more consecutive letters or digits in order, like 1234, 4321 or abcd` });
  const kb = keyboardRun(lower);
  if (kb) out.push({ rule: 'keyboard', message: `the password contains 4 or more neighbouring keys of one keyboard row, like qwer, asdf or 7890` });
  if (isCommonPassword(password)) out.push({ rule: 'common', message: 'the password is a well-known one (or one with letters swapped for digits or symbols, or digits added), which attackers try first' });

  // Personal data: also look through separators ("1990-05-17", "010.1234.5678").
  const squeezed = lower.replace(/[\s\-./_]/g, '');
  const contains = (piece: string) => piece.length > 0 && (lower.includes(piece) || squeezed.includes(piece));
  const uid = personal.userId.trim().toLowerCase();
  if (uid.length >= 3 && contains(uid)) out.push({ rule: 'user_id', message: 'the password contains the user id' });
  if (personal.phone) {
    if (phonePieces(personal.phone).some(contains)) out.push({ rule: 'phone', message: `the password contains digits of the account's phone number (the whole number or a group of 4 of it)` });
  }
  if (personal.birthDate) {
    if (birthDatePieces(personal.birthDate).some(contains)) out.push({ rule: 'birth_date', message: `the password contains the account's birth date (as YYYYMMDD, YYMMDD or MMDD)` });
  }
  return out;
}

/** @throws VeilportError BAD_INPUT listing every broken rule (details.rules: the codes). */
export function assertPasswordRules(password: string, personal: PasswordPersonal): void {
  const v = checkPasswordRules(password, personal);
  if (v.length) {
    throw new VeilportError('BAD_INPUT', `password refused: ${v.map((x) => x.message).join('; ')}`, { field: 'password', rules: v.map((x) => x.rule), violations: v });
  }
}
