/**
 * Every request passes here: the global IP allow-list, then (for routes that need it)
 * the session, the forced password change, and the route's permission. A refused
 * call on a protected route is written to the access log with result `denied`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { VeilportError } from '../util/errors.js';
import { allowed } from '../workflow/permissions.js';
import { IpAllowList } from '../auth/ip-allow.js';
import type { ApiContext } from './context.js';

export const SESSION_COOKIE = 'veilport_session';

/** The session token from `Authorization: Bearer` or the UI's HttpOnly cookie. */
export function tokenOf(req: FastifyRequest): string | null {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim() || null;
  const cookie = req.headers.cookie;
  if (!cookie) return null;
  for (const part of cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === SESSION_COOKIE) return decodeURIComponent(v.join('=')) || null;
  }
  return null;
}

export function registerAuth(app: FastifyInstance, ctx: ApiContext): void {
  const ipAllow = new IpAllowList(ctx.settings.server.allowedIps);
  app.decorateRequest('actor', null as never);
  app.decorateRequest('sessionToken', null);

  // onRequest, before the body is read or validated: a caller without the right learns nothing more.
  app.addHook('onRequest', async (req) => {
    if (!ipAllow.allows(req.ip)) throw new VeilportError('FORBIDDEN', `this appliance does not accept connections from ${req.ip}`);
    const permission = req.routeOptions.config.permission;
    if (permission === undefined && req.routeOptions.url && !req.routeOptions.url.startsWith('/docs')) {
      // A route that forgot to say who may call it is closed, not open.
      throw new VeilportError('FORBIDDEN', 'this route has no access rule');
    }
    if (!permission) return;
    const token = tokenOf(req);
    if (!token) throw new VeilportError('UNAUTHENTICATED', 'log in first (no session token)');
    const session = ctx.accounts.authenticate(token, req.ip);
    req.sessionToken = token;
    req.actor = { account: session.account.id, role: session.account.role, ip: req.ip };
    if (session.mustChangePassword && permission !== 'session.self') {
      throw new VeilportError('PASSWORD_EXPIRED', 'change your password first (POST /api/session/password)');
    }
    if (!allowed(req.actor.role, permission)) {
      ctx.log.append({ account: req.actor.account, ip: req.ip, action: 'view', target: `${req.method} ${req.routeOptions.url}`, result: 'denied' });
      throw new VeilportError('FORBIDDEN', `the ${req.actor.role} role may not use ${req.method} ${req.routeOptions.url}`);
    }
  });
}
