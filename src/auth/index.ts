/** Accounts, roles, passwords, lockout, sessions, IP allow-lists and the first-admin bootstrap. */
export { AccountService, CONSOLE, BOOTSTRAP, RESERVED_IDS, ROLE_CHANGE_MIN_YEARS, checkAccountId } from './accounts.js';
export type { AccountView, NewAccount, Session, RoleChange, RoleChangeEvent } from './accounts.js';
export { DEFAULT_AUTH_SETTINGS, authSettingsFrom, checkAuthSettings } from './settings.js';
export type { AuthSettings, ScryptParams } from './settings.js';
export { checkPasswordRules, assertPasswordRules, hashPassword, verifyPassword, parsePasswordHash, hashNeedsUpgrade, PASSWORD_RULES, PASSWORD_MAX_LENGTH } from './passwords.js';
export type { PasswordRuleViolation, PasswordPersonal, PasswordRule } from './passwords.js';
export { IpAllowList, ipAllowed, normaliseCidrs, clientAddress } from './ip-allow.js';
export { announceBootstrapToken, bootstrapBanner } from './bootstrap.js';
export { assertPasswordCurrent } from './guard.js';
