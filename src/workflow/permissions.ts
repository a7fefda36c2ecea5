/**
 * Who may do what: one table for the API's route guards and the workflow's own checks,
 * so least privilege is written once. Roles (BRIEF, Access control): viewer sees status
 * only; clerk registers and runs exports; approver is the privacy officer; auditor reads
 * ledger and logs; admin manages accounts and settings and nothing else.
 */
import { VeilportError } from '../util/errors.js';
import type { Role } from './types.js';

export const PERMISSIONS = {
  'status.view': ['viewer', 'clerk', 'approver', 'auditor', 'admin'],
  'session.self': ['viewer', 'clerk', 'approver', 'auditor', 'admin'],
  'camera.browse': ['clerk', 'approver'],
  'request.register': ['clerk'],
  'request.read': ['clerk', 'approver', 'auditor'],
  'request.receive': ['clerk'],
  'request.decide': ['approver'],
  'request.retry': ['clerk'],
  'review.read': ['approver'],
  'review.edit': ['approver'],
  'job.read': ['clerk', 'approver', 'auditor'],
  'job.cancel': ['clerk', 'approver'],
  'package.deliver': ['clerk'],
  'destruction.record': ['clerk', 'approver'],
  'ledger.read': ['approver', 'auditor'],
  'audit.read': ['auditor'],
  'account.manage': ['admin'],
  'account.history': ['admin', 'auditor'],
  'settings.manage': ['admin'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

/** The person (or `system`) acting, and from where. */
export interface Actor {
  account: string;
  role: Role;
  ip: string;
}

export function allowed(role: Role, p: Permission): boolean {
  return (PERMISSIONS[p] as readonly Role[]).includes(role);
}

export function assertAllowed(actor: Actor, p: Permission): void {
  if (!allowed(actor.role, p)) {
    throw new VeilportError('FORBIDDEN', `the ${actor.role} role may not do this (${p}); it needs ${PERMISSIONS[p].join(' or ')}`, { permission: p });
  }
}
