/**
 * Separation of duties on a request (one person cannot run the whole procedure). The
 * role table (permissions.ts) says what a role may do; this says what a *person* may do
 * on one request, from what they already did on it, whatever role they hold now:
 *
 * - whoever registered or received a request (the clerk side) may not approve, reject,
 *   review or confirm its masking (the approver side), even after being made approver;
 * - whoever approved it or decided its masking may not hand out its package or
 *   password, even after being made clerk.
 *
 * Admins hold no request permission at all, and no account can change its own role
 * (accounts.ts), so an admin cannot step into either side.
 */
import { VeilportError } from '../util/errors.js';
import type { Actor } from './permissions.js';
import type { ExportRequest } from './types.js';

function refuse(actor: Actor, r: ExportRequest, did: string, what: string): never {
  throw new VeilportError('FORBIDDEN', `separation of duties: ${actor.account} ${did} request ${r.id} and may not ${what} it, whatever role the account has now`, { duty: what, request: r.id });
}

/** Approver-side steps (approve, reject, review, confirm): refused to the request's clerks. */
export function assertApproverSide(actor: Actor, r: ExportRequest, what: string): void {
  if (r.registeredBy === actor.account) refuse(actor, r, 'registered', what);
  if (r.receivedBy === actor.account) refuse(actor, r, 'received', what);
}

/** Clerk-side steps after the decision (deliver, reveal the password): refused to its approvers. */
export function assertClerkSide(actor: Actor, r: ExportRequest, what: string): void {
  if (r.approvedBy === actor.account) refuse(actor, r, 'approved', what);
  if (r.review.reviewedBy === actor.account) refuse(actor, r, 'reviewed the masking of', what);
}
