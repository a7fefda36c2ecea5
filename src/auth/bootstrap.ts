/**
 * First-admin bootstrap. The appliance ships with no account and no default password:
 * while no administrator exists, each start prints a one-time token on the appliance's
 * own console (physical presence is the trust anchor), and whoever types it in the
 * first-boot screen creates the first admin. The database keeps only the token's
 * SHA-256; a new token replaces the old one, creating the admin burns it.
 *
 * Tokens are 20 characters of Crockford base32 (100 bits), shown in groups of five;
 * typing is forgiving: case, spaces and dashes are ignored, O reads as 0, I and L as 1.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const LENGTH = 20;

export interface StoredBootstrapToken {
  sha256: string;
  issuedAt: string;
}

export function newBootstrapToken(): string {
  const bytes = randomBytes(LENGTH);
  let s = '';
  for (const b of bytes) s += ALPHABET[b & 31];
  return s.match(/.{5}/g)!.join('-');
}

/** Canonical form of a typed token (upper case, no separators, O->0, I/L->1). */
export function canonicalBootstrapToken(typed: string): string {
  return String(typed).toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
}

export function bootstrapTokenHash(token: string): string {
  return createHash('sha256').update(`veilport-bootstrap:${canonicalBootstrapToken(token)}`).digest('hex');
}

/** Constant-time check of a typed token against the stored hash. */
export function bootstrapTokenMatches(typed: string, stored: StoredBootstrapToken | undefined): boolean {
  const want = Buffer.from(stored?.sha256 ?? '00'.repeat(32), 'hex');
  const got = Buffer.from(bootstrapTokenHash(typed), 'hex');
  return want.length === got.length && timingSafeEqual(want, got) && stored !== undefined;
}

/** The banner the daemon prints on the console when a token was issued. */
export function bootstrapBanner(token: string): string {
  const line = '='.repeat(64);
  return [
    line,
    ' Veilport: no administrator account exists yet.',
    ' Open the first-boot screen and enter this one-time setup token',
    ' to create the first administrator (it is valid until used or',
    ' until the next boot, which prints a new one):',
    '',
    `     ${token}`,
    '',
    ' 최초 관리자 계정 생성용 일회용 토큰입니다. 화면에 입력하십시오.',
    line,
    '',
  ].join('\n');
}

/**
 * Issues a token when no admin exists and writes the banner with `write` (the console);
 * returns the token, or null when an admin exists and nothing was printed.
 */
export function announceBootstrapToken(accounts: { issueBootstrapToken(): string | null }, write: (text: string) => void): string | null {
  const token = accounts.issueBootstrapToken();
  if (token) write(bootstrapBanner(token));
  return token;
}
