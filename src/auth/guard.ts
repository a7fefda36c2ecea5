/** Route-guard helper for the API: a session whose password must change may do nothing else. */
import { VeilportError } from '../util/errors.js';
import type { Session } from './accounts.js';

/** @throws VeilportError PASSWORD_EXPIRED when the session is flagged mustChangePassword. */
export function assertPasswordCurrent(s: Pick<Session, 'mustChangePassword' | 'account'>): void {
  if (s.mustChangePassword) {
    throw new VeilportError('PASSWORD_EXPIRED', `the password of "${s.account.id}" has expired or was reset; change it before doing anything else`, { account: s.account.id });
  }
}
