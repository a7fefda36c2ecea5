/**
 * Accounts, roles, passwords, lockout and sessions (개인정보취급자 접근권한 관리 및 인증).
 *
 * - One account per person, with a stable id (lowercase, 3-32 of a-z0-9._-, starting
 *   with a letter); accounts are disabled, never deleted, so records keep naming them.
 * - Every grant, change and revocation of a role goes to `roleChanges` (who, when, from,
 *   to), kept at least 3 years (제9조 ③).
 * - Passwords: scrypt, rules (passwords.ts), expiry after `passwordMaxAgeDays` (login
 *   succeeds, the session is flagged mustChangePassword), lockout after
 *   `lockoutThreshold` failures for `lockoutMinutes`. Failure counters are written with
 *   durable synchronous transactions before the password is even checked, so neither a
 *   crash nor parallel guesses get more tries than the threshold.
 * - Failed logins say the same for an unknown id and a wrong password, take the same
 *   time (the hash runs on unknown ids too) and lock unknown ids the same way.
 * - Phone and birth date are sealed with the appliance data key
 *   (context `account:<id>:<field>`); views never carry them nor the hash.
 */
import { VeilportError } from '../util/errors.js';
import type { Store } from '../store/store.js';
import type { DataKey, SealedText } from '../store/data-key.js';
import { ROLES, type Role } from '../workflow/types.js';
import type { Database } from 'lmdb';
import { checkAuthSettings, type AuthSettings } from './settings.js';
import { assertPasswordRules, decoyHash, hashNeedsUpgrade, hashPassword, PASSWORD_MAX_LENGTH, verifyPassword } from './passwords.js';
import { ipAllowed, normaliseCidrs } from './ip-allow.js';
import { SessionTable, sessionKey } from './sessions.js';
import { bootstrapTokenHash, bootstrapTokenMatches, newBootstrapToken, type StoredBootstrapToken } from './bootstrap.js';

// The whole contract from one module, for callers that import it from here.
export { DEFAULT_AUTH_SETTINGS, type AuthSettings } from './settings.js';
export { checkPasswordRules } from './passwords.js';

export interface AccountView {
  id: string;
  displayName: string;
  role: Role;
  allowedIps: string[];
  disabled: boolean;
  /** ISO time while locked out, else null. */
  lockedUntil: string | null;
  passwordChangedAt: string;
  /** Set by an admin's reset (or a new account's first password) or by expiry. */
  mustChangePassword: boolean;
  createdAt: string;
  createdBy: string;
  lastLoginAt: string | null;
}

export interface NewAccount {
  id: string;
  displayName: string;
  role: Role;
  password: string;
  phone?: string;
  /** YYYY-MM-DD */
  birthDate?: string;
  allowedIps?: string[];
  /**
   * Whether the first login must change the password. Default: true (the password was
   * set by someone else and is known to two people); false for the bootstrap admin.
   */
  mustChangePassword?: boolean;
}

export interface Session {
  /** The bearer token; only ever known in clear from the login that created it (authenticate echoes the one given). */
  token: string;
  account: AccountView;
  /** Password expired or reset: only the password change is allowed. */
  mustChangePassword: boolean;
  /** When the session ends unless used again (idle), or its absolute end if sooner. */
  expiresAt: string;
  createdAt: string;
}

export type RoleChangeEvent = 'granted' | 'changed' | 'disabled' | 'enabled';

export interface RoleChange {
  at: string;
  by: string;
  account: string;
  from: Role | null;
  to: Role;
  /** granted: new account; changed: role changed; disabled/enabled: access revoked or restored (role unchanged). */
  event: RoleChangeEvent;
}

/** The account as stored in the `accounts` database. */
interface AccountRecord {
  v: 1;
  id: string;
  displayName: string;
  role: Role;
  allowedIps: string[];
  disabled: boolean;
  passwordHash: string;
  passwordChangedAt: string;
  mustChangePassword: boolean;
  failedLogins: number;
  lastFailureAt: string | null;
  lockedUntil: string | null;
  phone: SealedText | null;
  birthDate: SealedText | null;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  lastLoginAt: string | null;
  lastLoginIp: string | null;
}

/** `by` for actions taken on the appliance console (CLI), and for the bootstrap admin. */
export const CONSOLE = 'console';
export const BOOTSTRAP = 'bootstrap';
/** Ids that name actors other than accounts and can never be account ids. */
export const RESERVED_IDS: readonly string[] = ['console', 'system', 'bootstrap', 'root', 'anonymous'];

export const ROLE_CHANGE_MIN_YEARS = 3;
const ACCOUNT_ID_RE = /^[a-z][a-z0-9._-]{2,31}$/;
const BOOTSTRAP_KEY = 'auth.bootstrapToken';
const ROLE_CHANGE_SEQ_KEY = 'auth.roleChangeSeq';
const GHOST_LIMIT = 10_000;
const DAY_MS = 86_400_000;

const WRONG_CREDENTIALS = 'wrong user id or password';

export function checkAccountId(id: unknown): string {
  if (typeof id !== 'string' || !ACCOUNT_ID_RE.test(id)) {
    throw new VeilportError('BAD_INPUT', `account id "${String(id)}" is not valid: use 3 to 32 lowercase letters, digits, ".", "_" or "-", starting with a letter`, { field: 'id' });
  }
  if (RESERVED_IDS.includes(id)) throw new VeilportError('BAD_INPUT', `account id "${id}" is reserved; choose another`, { field: 'id' });
  return id;
}

function checkRole(role: unknown): Role {
  if (!(ROLES as readonly unknown[]).includes(role)) {
    throw new VeilportError('BAD_INPUT', `role "${String(role)}" is not one of ${ROLES.join(', ')}`, { field: 'role' });
  }
  return role as Role;
}

function checkDisplayName(name: unknown): string {
  const s = typeof name === 'string' ? name.trim() : '';
  // eslint-disable-next-line no-control-regex
  if (s.length < 1 || s.length > 100 || /[\u0000-\u001f\u007f]/.test(s)) {
    throw new VeilportError('BAD_INPUT', 'display name must be 1 to 100 characters without control characters', { field: 'displayName' });
  }
  return s;
}

function checkPhone(phone: unknown): string | undefined {
  if (phone === undefined || phone === null || phone === '') return undefined;
  const s = String(phone).trim();
  const digits = s.replace(/\D/g, '');
  if (!/^\+?[0-9][0-9 ()-]*$/.test(s) || digits.length < 8 || digits.length > 15) {
    throw new VeilportError('BAD_INPUT', 'phone must be 8 to 15 digits, optionally with +, spaces, dashes or parentheses (like 010-1234-5678)', { field: 'phone' });
  }
  return s;
}

function checkBirthDate(d: unknown, now: Date): string | undefined {
  if (d === undefined || d === null || d === '') return undefined;
  const s = String(d).trim();
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  const t = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  const back = Number.isNaN(t) ? '' : new Date(t).toISOString().slice(0, 10);
  if (!m || back !== s || Number(m[1]) < 1900 || t > now.getTime()) {
    throw new VeilportError('BAD_INPUT', 'birth date must be a real past date written YYYY-MM-DD (like 1990-05-17)', { field: 'birthDate' });
  }
  return s;
}

/**
 * Nobody changes their own role: an admin cannot make themselves clerk or approver and
 * run the procedure (and back), nor can anyone else rise by their own hand.
 */
function refuseOwnRole(by: string, id: string): void {
  if (by === id) throw new VeilportError('FORBIDDEN', `"${id}" may not change their own role; another admin (or the console) has to`, { account: id });
}

/** Local HH:MM of the appliance, for lockout messages. */
function hhmm(d: Date): string {
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

interface Ghost {
  failures: number;
  lastFailureAt: number;
  lockedUntil: number;
}

export class AccountService {
  private settings: AuthSettings;
  private readonly now: () => Date;
  private readonly accounts: Database<AccountRecord, string>;
  private readonly changes: Database<RoleChange, string>;
  private readonly meta: Database<unknown, string>;
  private readonly sessions: SessionTable;
  /** Failure counters of ids that do not exist, so lockout does not tell them apart. */
  private readonly ghosts = new Map<string, Ghost>();

  constructor(
    private readonly store: Store,
    private readonly dataKey: DataKey,
    settings: AuthSettings,
    now: () => Date = () => new Date(),
  ) {
    checkAuthSettings(settings);
    this.settings = { ...settings, allowedIps: normaliseCidrs(settings.allowedIps, 'auth settings allowedIps'), scrypt: { ...settings.scrypt } };
    this.now = now;
    this.accounts = store.db<AccountRecord, string>('accounts');
    this.changes = store.db<RoleChange, string>('roleChanges');
    this.meta = store.db<unknown, string>('meta');
    this.sessions = new SessionTable(store);
  }

  /** Applies new settings (allow-list, limits, scrypt cost for new hashes) from now on. */
  updateSettings(settings: AuthSettings): void {
    checkAuthSettings(settings);
    this.settings = { ...settings, allowedIps: normaliseCidrs(settings.allowedIps, 'auth settings allowedIps'), scrypt: { ...settings.scrypt } };
  }

  getSettings(): AuthSettings {
    return { ...this.settings, allowedIps: [...this.settings.allowedIps], scrypt: { ...this.settings.scrypt } };
  }

  // ---------------------------------------------------------------------------------
  // Reading

  hasAdmin(): boolean {
    for (const { value } of this.accounts.getRange()) if (value.role === 'admin' && !value.disabled) return true;
    return false;
  }

  get(id: string): AccountView | undefined {
    const r = typeof id === 'string' ? this.accounts.get(id) : undefined;
    return r ? this.view(r) : undefined;
  }

  list(): AccountView[] {
    const out: AccountView[] = [];
    for (const { value } of this.accounts.getRange()) out.push(this.view(value));
    return out;
  }

  private view(r: AccountRecord): AccountView {
    const now = this.now().getTime();
    return {
      id: r.id,
      displayName: r.displayName,
      role: r.role,
      allowedIps: [...r.allowedIps],
      disabled: r.disabled,
      lockedUntil: r.lockedUntil && Date.parse(r.lockedUntil) > now ? r.lockedUntil : null,
      passwordChangedAt: r.passwordChangedAt,
      mustChangePassword: this.mustChange(r, now),
      createdAt: r.createdAt,
      createdBy: r.createdBy,
      lastLoginAt: r.lastLoginAt,
    };
  }

  private mustChange(r: AccountRecord, now: number): boolean {
    return r.mustChangePassword || now >= Date.parse(r.passwordChangedAt) + this.settings.passwordMaxAgeDays * DAY_MS;
  }

  /** An account's phone and birth date in clear, for an admin editing it. */
  personal(id: string): { phone: string | null; birthDate: string | null } {
    const r = this.record(id);
    return {
      phone: r.phone ? this.dataKey.open(r.phone, `account:${id}:phone`) : null,
      birthDate: r.birthDate ? this.dataKey.open(r.birthDate, `account:${id}:birthDate`) : null,
    };
  }

  private record(id: string): AccountRecord {
    const r = typeof id === 'string' ? this.accounts.get(id) : undefined;
    if (!r) throw new VeilportError('NOT_FOUND', `no account "${String(id)}"`, { account: id });
    return r;
  }

  /** `by` must be the console or an enabled admin. */
  private checkActor(by: string): void {
    if (by === CONSOLE) return;
    const r = typeof by === 'string' ? this.accounts.get(by) : undefined;
    if (!r || r.disabled || r.role !== 'admin') {
      throw new VeilportError('FORBIDDEN', `"${String(by)}" may not manage accounts: that needs an enabled admin account or the appliance console`, { by });
    }
  }

  private enabledAdmins(except?: string): number {
    let n = 0;
    for (const { value } of this.accounts.getRange()) if (value.role === 'admin' && !value.disabled && value.id !== except) n++;
    return n;
  }

  // ---------------------------------------------------------------------------------
  // Bootstrap

  issueBootstrapToken(): string | null {
    if (this.hasAdmin()) {
      if (this.meta.get(BOOTSTRAP_KEY) !== undefined) this.meta.removeSync(BOOTSTRAP_KEY);
      return null;
    }
    const token = newBootstrapToken();
    const stored: StoredBootstrapToken = { sha256: bootstrapTokenHash(token), issuedAt: this.now().toISOString() };
    this.meta.putSync(BOOTSTRAP_KEY, stored);
    return token;
  }

  async bootstrap(token: string, admin: Omit<NewAccount, 'role'>): Promise<AccountView> {
    if (this.hasAdmin()) throw new VeilportError('CONFLICT', 'an administrator account already exists; the bootstrap token is no longer valid');
    if (!bootstrapTokenMatches(token, this.meta.get(BOOTSTRAP_KEY) as StoredBootstrapToken | undefined)) {
      throw new VeilportError('UNAUTHENTICATED', 'the setup token is wrong or no longer valid (each start of the appliance prints a new one on its console)');
    }
    const prepared = await this.prepare({ ...admin, role: 'admin', mustChangePassword: admin.mustChangePassword ?? false }, BOOTSTRAP);
    return this.store.transaction(() => {
      // Again inside the transaction: a parallel bootstrap may have won meanwhile.
      if (this.hasAdmin()) throw new VeilportError('CONFLICT', 'an administrator account already exists; the bootstrap token is no longer valid');
      if (!bootstrapTokenMatches(token, this.meta.get(BOOTSTRAP_KEY) as StoredBootstrapToken | undefined)) {
        throw new VeilportError('UNAUTHENTICATED', 'the setup token is wrong or no longer valid (each start of the appliance prints a new one on its console)');
      }
      this.insert(prepared, BOOTSTRAP);
      this.meta.removeSync(BOOTSTRAP_KEY);
      return this.view(prepared);
    });
  }

  // ---------------------------------------------------------------------------------
  // Administration

  async create(by: string, a: NewAccount): Promise<AccountView> {
    this.checkActor(by);
    const prepared = await this.prepare(a, by);
    return this.store.transaction(() => {
      this.checkActor(by);
      this.insert(prepared, by);
      return this.view(prepared);
    });
  }

  /** Validates and hashes a new account (outside any transaction: hashing takes a while). */
  private async prepare(a: NewAccount, by: string): Promise<AccountRecord> {
    if (typeof a !== 'object' || a === null) throw new VeilportError('BAD_INPUT', 'account fields are missing');
    const id = checkAccountId(a.id);
    if (this.accounts.get(id)) throw new VeilportError('CONFLICT', `account "${id}" already exists`, { account: id });
    const now = this.now();
    const displayName = checkDisplayName(a.displayName);
    const role = checkRole(a.role);
    const phone = checkPhone(a.phone);
    const birthDate = checkBirthDate(a.birthDate, now);
    const allowedIps = normaliseCidrs(a.allowedIps ?? [], 'allowedIps');
    if (typeof a.password !== 'string') throw new VeilportError('BAD_INPUT', 'password is missing', { field: 'password' });
    assertPasswordRules(a.password, { userId: id, phone, birthDate });
    const passwordHash = await hashPassword(a.password, this.settings.scrypt);
    const at = this.now().toISOString();
    return {
      v: 1,
      id,
      displayName,
      role,
      allowedIps,
      disabled: false,
      passwordHash,
      passwordChangedAt: at,
      mustChangePassword: a.mustChangePassword ?? true,
      failedLogins: 0,
      lastFailureAt: null,
      lockedUntil: null,
      phone: phone ? this.dataKey.seal(phone, `account:${id}:phone`) : null,
      birthDate: birthDate ? this.dataKey.seal(birthDate, `account:${id}:birthDate`) : null,
      createdAt: at,
      createdBy: by,
      updatedAt: at,
      lastLoginAt: null,
      lastLoginIp: null,
    };
  }

  /** Inside a transaction. */
  private insert(r: AccountRecord, by: string): void {
    if (this.accounts.get(r.id)) throw new VeilportError('CONFLICT', `account "${r.id}" already exists`, { account: r.id });
    this.accounts.putSync(r.id, r);
    this.recordChange({ at: r.createdAt, by, account: r.id, from: null, to: r.role, event: 'granted' });
  }

  /** Inside a transaction. */
  private recordChange(c: RoleChange): void {
    // Keys sort by time, then by a sequence number that keeps changes in one millisecond in order.
    const seq = ((this.meta.get(ROLE_CHANGE_SEQ_KEY) as number | undefined) ?? 0) + 1;
    this.meta.putSync(ROLE_CHANGE_SEQ_KEY, seq);
    this.changes.putSync(`${c.at}|${String(seq).padStart(12, '0')}`, c);
  }

  /** Read-modify-write of one account in a durable transaction. */
  private update(id: string, fn: (r: AccountRecord, at: string) => AccountRecord | null): AccountView {
    return this.store.transaction(() => {
      const r = this.record(id);
      const at = this.now().toISOString();
      const next = fn(r, at);
      if (next) this.accounts.putSync(id, { ...next, updatedAt: at });
      return this.view(next ?? r);
    });
  }

  setRole(by: string, id: string, role: Role): AccountView {
    this.checkActor(by);
    const to = checkRole(role);
    return this.update(id, (r, at) => {
      this.checkActor(by);
      if (r.role === to) return null;
      if (r.role === 'admin' && !r.disabled && this.enabledAdmins(id) === 0) {
        throw new VeilportError('CONFLICT', `"${id}" is the last enabled admin; make another account admin first`, { account: id });
      }
      refuseOwnRole(by, id);
      this.recordChange({ at, by, account: id, from: r.role, to, event: 'changed' });
      return { ...r, role: to };
    });
  }

  /**
   * Several changes of one account (role, IP allow-list, disabled) as one: every value
   * is checked before anything is written, and all are written in one transaction, so a
   * good role with a bad allow-list changes nothing. Call it inside a caller's
   * transaction to add the caller's record of it to the same commit.
   */
  changeAccount(by: string, id: string, c: { role?: Role; allowedIps?: string[]; disabled?: boolean }): AccountView {
    this.checkActor(by);
    if (typeof c !== 'object' || c === null) throw new VeilportError('BAD_INPUT', 'account changes are missing');
    const role = c.role === undefined ? undefined : checkRole(c.role);
    const ips = c.allowedIps === undefined ? undefined : normaliseCidrs(c.allowedIps, 'allowedIps');
    if (c.disabled !== undefined && typeof c.disabled !== 'boolean') throw new VeilportError('BAD_INPUT', 'disabled must be true or false', { field: 'disabled' });
    const disabled = c.disabled;
    return this.store.transaction(() => {
      const v = this.update(id, (r, at) => {
        this.checkActor(by);
        let next: AccountRecord = { ...r };
        if (role !== undefined && role !== r.role) {
          if (r.role === 'admin' && !r.disabled && this.enabledAdmins(id) === 0) {
            throw new VeilportError('CONFLICT', `"${id}" is the last enabled admin; make another account admin first`, { account: id });
          }
          refuseOwnRole(by, id);
          this.recordChange({ at, by, account: id, from: r.role, to: role, event: 'changed' });
          next = { ...next, role };
        }
        if (ips !== undefined) next = { ...next, allowedIps: ips };
        if (disabled !== undefined && disabled !== r.disabled) {
          if (disabled && next.role === 'admin' && this.enabledAdmins(id) === 0) {
            throw new VeilportError('CONFLICT', `"${id}" is the last enabled admin and cannot be disabled; make another account admin first`, { account: id });
          }
          this.recordChange({ at, by, account: id, from: next.role, to: next.role, event: disabled ? 'disabled' : 'enabled' });
          next = { ...next, disabled };
        }
        return next;
      });
      if (disabled) this.sessions.removeAccount(id);
      return v;
    });
  }

  setAllowedIps(by: string, id: string, cidrs: string[]): AccountView {
    this.checkActor(by);
    const list = normaliseCidrs(cidrs, 'allowedIps');
    return this.update(id, (r) => ({ ...r, allowedIps: list }));
  }

  setDisabled(by: string, id: string, disabled: boolean): AccountView {
    this.checkActor(by);
    if (typeof disabled !== 'boolean') throw new VeilportError('BAD_INPUT', 'disabled must be true or false', { field: 'disabled' });
    const v = this.update(id, (r, at) => {
      this.checkActor(by);
      if (r.disabled === disabled) return null;
      if (disabled && r.role === 'admin' && this.enabledAdmins(id) === 0) {
        throw new VeilportError('CONFLICT', `"${id}" is the last enabled admin and cannot be disabled; make another account admin first`, { account: id });
      }
      this.recordChange({ at, by, account: id, from: r.role, to: r.role, event: disabled ? 'disabled' : 'enabled' });
      return { ...r, disabled };
    });
    if (disabled) this.sessions.removeAccount(id);
    return v;
  }

  async resetPassword(by: string, id: string, temporary: string): Promise<AccountView> {
    this.checkActor(by);
    const r = this.record(id);
    if (typeof temporary !== 'string') throw new VeilportError('BAD_INPUT', 'password is missing', { field: 'password' });
    assertPasswordRules(temporary, this.personalFor(r));
    const hash = await hashPassword(temporary, this.settings.scrypt);
    const v = this.update(id, (cur, at) => {
      this.checkActor(by);
      return { ...cur, passwordHash: hash, passwordChangedAt: at, mustChangePassword: true, failedLogins: 0, lastFailureAt: null, lockedUntil: null };
    });
    this.sessions.removeAccount(id);
    return v;
  }

  unlock(by: string, id: string): AccountView {
    this.checkActor(by);
    return this.update(id, (r) => ({ ...r, failedLogins: 0, lastFailureAt: null, lockedUntil: null }));
  }

  private personalFor(r: AccountRecord): { userId: string; phone?: string; birthDate?: string } {
    const p: { userId: string; phone?: string; birthDate?: string } = { userId: r.id };
    if (r.phone) p.phone = this.dataKey.open(r.phone, `account:${r.id}:phone`);
    if (r.birthDate) p.birthDate = this.dataKey.open(r.birthDate, `account:${r.id}:birthDate`);
    return p;
  }

  // ---------------------------------------------------------------------------------
  // Passwords and lockout

  private lockedError(until: Date, failedNow: boolean): VeilportError {
    const why = failedNow ? `${WRONG_CREDENTIALS}; too many failed attempts: ` : 'too many failed attempts: ';
    return new VeilportError('LOCKED', `${why}the account is locked until ${hhmm(until)}; try again then or ask an administrator to unlock it`, { lockedUntil: until.toISOString() });
  }

  /**
   * Counts an attempt as a failure before the password is checked (durably), so parallel
   * or crashed attempts never add up to more tries than the threshold.
   * @returns whether this attempt locked the account if it fails.
   * @throws LOCKED when the account is locked now.
   */
  private reserveAttempt(id: string): { locksIfWrong: Date | null } {
    return this.store.transaction(() => {
      const r = this.record(id);
      const now = this.now();
      const t = now.getTime();
      if (r.lockedUntil && Date.parse(r.lockedUntil) > t) throw this.lockedError(new Date(r.lockedUntil), false);
      const windowMs = this.settings.lockoutMinutes * 60_000;
      // Failures older than the lockout window, or from before an expired lock, no longer count.
      const stale = r.lockedUntil !== null || (r.lastFailureAt !== null && t - Date.parse(r.lastFailureAt) > windowMs);
      const failures = (stale ? 0 : r.failedLogins) + 1;
      const locks = failures >= this.settings.lockoutThreshold ? new Date(t + windowMs) : null;
      this.accounts.putSync(id, { ...r, failedLogins: failures, lastFailureAt: now.toISOString(), lockedUntil: locks ? locks.toISOString() : null });
      return { locksIfWrong: locks };
    });
  }

  /** After a good password: clears the counters; upgrades the hash if its cost is outdated. */
  private async attemptSucceeded(id: string, password: string, ip: string | null): Promise<void> {
    const r = this.record(id);
    let upgraded: string | null = null;
    if (hashNeedsUpgrade(r.passwordHash, this.settings.scrypt)) upgraded = await hashPassword(password, this.settings.scrypt);
    this.store.transaction(() => {
      const cur = this.record(id);
      const at = this.now().toISOString();
      const next: AccountRecord = { ...cur, failedLogins: 0, lastFailureAt: null, lockedUntil: null };
      if (upgraded && cur.passwordHash === r.passwordHash) next.passwordHash = upgraded;
      if (ip !== null) {
        next.lastLoginAt = at;
        next.lastLoginIp = ip;
      }
      this.accounts.putSync(id, next);
    });
  }

  /** Checks `password` for `id` with lockout; throws UNAUTHENTICATED/LOCKED on failure. */
  private async checkPassword(id: string, password: string): Promise<AccountRecord> {
    const pw = typeof password === 'string' ? password.slice(0, PASSWORD_MAX_LENGTH + 1) : '';
    const known = typeof id === 'string' && ACCOUNT_ID_RE.test(id) ? this.accounts.get(id) : undefined;
    if (!known) return this.ghostAttempt(typeof id === 'string' ? id : '', pw);
    const { locksIfWrong } = this.reserveAttempt(id);
    const ok = await verifyPassword(pw, known.passwordHash);
    if (!ok) {
      if (locksIfWrong) throw this.lockedError(locksIfWrong, true);
      throw new VeilportError('UNAUTHENTICATED', WRONG_CREDENTIALS);
    }
    return this.record(id);
  }

  /** An attempt on an id that does not exist: same time, same answers, same lockout. */
  private async ghostAttempt(id: string, pw: string): Promise<never> {
    const key = id.slice(0, 64).toLowerCase();
    const t = this.now().getTime();
    const windowMs = this.settings.lockoutMinutes * 60_000;
    let g = this.ghosts.get(key);
    if (g && g.lockedUntil > t) throw this.lockedError(new Date(g.lockedUntil), false);
    if (!g || g.lockedUntil > 0 || t - g.lastFailureAt > windowMs) g = { failures: 0, lastFailureAt: t, lockedUntil: 0 };
    g.failures++;
    g.lastFailureAt = t;
    if (g.failures >= this.settings.lockoutThreshold) g.lockedUntil = t + windowMs;
    this.ghosts.delete(key);
    if (this.ghosts.size >= GHOST_LIMIT) this.ghosts.delete(this.ghosts.keys().next().value as string);
    this.ghosts.set(key, g);
    // A durable write like the one a known id's attempt makes, so both take the same time.
    this.store.transaction(() => this.meta.putSync('auth.unknownLoginAt', new Date(t).toISOString()));
    await verifyPassword(pw, decoyHash(this.settings.scrypt));
    if (g.lockedUntil) throw this.lockedError(new Date(g.lockedUntil), true);
    throw new VeilportError('UNAUTHENTICATED', WRONG_CREDENTIALS);
  }

  async changePassword(id: string, current: string, next: string, keepSessionToken?: string): Promise<AccountView> {
    const r = await this.checkPassword(id, current);
    if (r.disabled) throw new VeilportError('FORBIDDEN', `account "${r.id}" is disabled; ask an administrator`, { account: r.id });
    await this.attemptSucceeded(id, current, null);
    if (typeof next !== 'string') throw new VeilportError('BAD_INPUT', 'new password is missing', { field: 'password' });
    if (next === current) {
      throw new VeilportError('BAD_INPUT', 'password refused: the new password must differ from the current one', { field: 'password', rules: ['reuse'], violations: [{ rule: 'reuse', message: 'the new password must differ from the current one' }] });
    }
    assertPasswordRules(next, this.personalFor(r));
    const hash = await hashPassword(next, this.settings.scrypt);
    const v = this.update(id, (cur, at) => ({ ...cur, passwordHash: hash, passwordChangedAt: at, mustChangePassword: false }));
    // Given the caller's token, the account's other sessions (perhaps of whoever learnt the
    // old password) end and the caller's stays; without it, sessions are left alone.
    if (keepSessionToken !== undefined) this.sessions.removeAccount(id, sessionKey(keepSessionToken));
    return v;
  }

  // ---------------------------------------------------------------------------------
  // Sessions

  private limits() {
    return { idleMs: this.settings.sessionIdleMinutes * 60_000, maxMs: this.settings.sessionMaxHours * 3_600_000 };
  }

  private checkIp(ip: string, r: AccountRecord | null): void {
    if (!ipAllowed(this.settings.allowedIps, ip)) {
      throw new VeilportError('FORBIDDEN', `access from ${String(ip)} is not allowed on this appliance (IP allow-list)`, { ip: String(ip) });
    }
    if (r && !ipAllowed(r.allowedIps, ip)) {
      throw new VeilportError('FORBIDDEN', `account "${r.id}" may not sign in from ${String(ip)} (its IP allow-list)`, { ip: String(ip), account: r.id });
    }
  }

  async login(id: string, password: string, ip: string): Promise<Session> {
    // The appliance-wide allow-list first: it says nothing about accounts.
    this.checkIp(ip, null);
    // Ids are lowercase; "Kim " typed on the touchscreen means kim.
    const r = await this.checkPassword(typeof id === 'string' ? id.trim().toLowerCase() : id, password);
    // Only someone with the right password learns that the account is disabled or fenced by IP.
    if (r.disabled) throw new VeilportError('FORBIDDEN', `account "${r.id}" is disabled; ask an administrator`, { account: r.id });
    this.checkIp(ip, r);
    await this.attemptSucceeded(r.id, password, ip);
    const now = this.now();
    this.sessions.prune(now, this.limits());
    const { token, key, record } = this.sessions.open(r.id, ip, now);
    return this.sessionView(token, key, record, this.record(r.id), now);
  }

  private sessionView(token: string, key: string, rec: import('./sessions.js').SessionRecord, r: AccountRecord, now: Date): Session {
    const st = this.sessions.state(key, rec, now, this.limits());
    const account = this.view(r);
    return {
      token,
      account,
      mustChangePassword: account.mustChangePassword,
      expiresAt: (st.ok ? st.expiresAt : now).toISOString(),
      createdAt: rec.createdAt,
    };
  }

  authenticate(token: string, ip: string): Session {
    const key = sessionKey(token);
    const rec = key ? this.sessions.get(key) : undefined;
    if (!key || !rec) throw new VeilportError('UNAUTHENTICATED', 'not signed in, or the session has ended; sign in again');
    const now = this.now();
    const st = this.sessions.state(key, rec, now, this.limits());
    if (!st.ok) {
      this.sessions.remove(key);
      throw new VeilportError(
        'UNAUTHENTICATED',
        st.why === 'idle'
          ? `the session ended after ${this.settings.sessionIdleMinutes} minutes without activity; sign in again`
          : `the session reached its limit of ${this.settings.sessionMaxHours} hours; sign in again`,
        { reason: st.why },
      );
    }
    const r = this.accounts.get(rec.account);
    if (!r || r.disabled) {
      this.sessions.remove(key);
      throw new VeilportError('UNAUTHENTICATED', 'the account of this session is disabled; sign in again', { reason: 'disabled' });
    }
    this.checkIp(ip, r);
    this.sessions.touch(key, rec, now);
    return this.sessionView(token, key, rec, r, now);
  }

  logout(token: string): void {
    const key = sessionKey(token);
    if (key) this.sessions.remove(key);
  }

  /** Ends every session of an account (e.g. the person left). Returns how many ended. */
  endSessions(id: string): number {
    return this.sessions.removeAccount(id);
  }

  /** Removes expired sessions; the daemon may call this periodically. */
  pruneSessions(): number {
    return this.sessions.prune(this.now(), this.limits());
  }

  // ---------------------------------------------------------------------------------
  // Role-change history

  roleChanges(q: { account?: string; since?: string } = {}): RoleChange[] {
    const out: RoleChange[] = [];
    const range = q.since ? this.changes.getRange({ start: q.since }) : this.changes.getRange();
    for (const { value } of range) {
      if (q.account && value.account !== q.account) continue;
      out.push({ ...value });
    }
    return out;
  }

  /**
   * Deletes role-change records older than `olderThan`, but never any younger than
   * `keepYears` (default and minimum unless told otherwise: 3 years, 제9조 ③).
   */
  pruneRoleChanges(olderThan: Date, opts: { keepYears?: number } = {}): number {
    const keepYears = opts.keepYears ?? ROLE_CHANGE_MIN_YEARS;
    if (!(keepYears >= 0) || Number.isNaN(olderThan.getTime())) throw new VeilportError('BAD_INPUT', 'pruneRoleChanges: a valid date and keepYears >= 0 are needed');
    const now = this.now();
    const floor = new Date(now);
    floor.setUTCFullYear(floor.getUTCFullYear() - keepYears);
    const cutoff = new Date(Math.min(olderThan.getTime(), floor.getTime())).toISOString();
    return this.store.transaction(() => {
      const keys: string[] = [];
      for (const { key, value } of this.changes.getRange({ end: cutoff })) if (value.at < cutoff) keys.push(key);
      for (const k of keys) this.changes.removeSync(k);
      return keys.length;
    });
  }
}
