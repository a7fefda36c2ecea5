/**
 * Well-known passwords (the "common" password rule). The list is data in the repo,
 * src/auth/common-passwords.json, with where it came from and its licence: John the
 * Ripper's password.lst (Openwall, public domain) from Debian's john-data package, plus
 * a few service defaults and Korean favourites.
 *
 * A password is common when, lowercased, it is on the list, or becomes a listed one
 * after undoing the usual disguises: look-alike digits and symbols for letters
 * (P@ssw0rd -> password), and digits and symbols added before or after (Password1,
 * !Welcome2026). Only bases of 4 or more characters count, so a strong passphrase that
 * happens to end in digits is not refused for its short stem.
 */
import list from './common-passwords.json' with { type: 'json' };

const COMMON: ReadonlySet<string> = new Set((list as { passwords: string[] }).passwords);
const MIN_BASE = 4;

/** Look-alike characters for letters; "1" is tried as both i and l. */
const LEET: Record<string, string>[] = [
  { '@': 'a', '4': 'a', '8': 'b', '(': 'c', '3': 'e', '6': 'g', '9': 'g', '#': 'h', '1': 'i', '!': 'i', '0': 'o', '$': 's', '5': 's', '7': 't', '+': 't', '2': 'z' },
  { '@': 'a', '4': 'a', '3': 'e', '1': 'l', '|': 'l', '0': 'o', '$': 's', '5': 's', '7': 't' },
];

const unleet = (s: string, table: Record<string, string>) => [...s].map((c) => table[c] ?? c).join('');
/** Without digits and symbols at either end. */
const stem = (s: string) => s.replace(/^[^a-z]+/, '').replace(/[^a-z]+$/, '');

/** The forms of a password that are looked up. */
export function commonForms(password: string): string[] {
  const lower = password.toLowerCase();
  const forms = new Set<string>([lower, stem(lower)]);
  for (const t of LEET) {
    const u = unleet(lower, t);
    forms.add(u);
    forms.add(stem(u));
    // Disguised letters inside, digits kept at the end: P@ssw0rd123 -> p@ssw0rd -> password.
    forms.add(unleet(stem(lower.replace(/[0-9!]+$/, '')) || lower, t));
  }
  return [...forms].filter((f) => f.length >= MIN_BASE);
}

export function isCommonPassword(password: string): boolean {
  if (COMMON.has(password.toLowerCase())) return true;
  return commonForms(password).some((f) => COMMON.has(f));
}

export const COMMON_PASSWORD_COUNT = COMMON.size;
