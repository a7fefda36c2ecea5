/**
 * Every request passes here: the global IP allow-list, then (for routes that need it)
 * the session, the cross-site checks and the body type of state-changing requests
 * (cross-site.ts), the forced password change, and the route's permission. Refusals
 * of a signed-in account (role, duties, cross-site) are counted in the access log,
 * aggregated per account, route and minute (denials.ts).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { VeilportError, isVeilportError } from '../util/errors.js';
import { allowed } from '../workflow/permissions.js';
import { IpAllowList } from '../auth/ip-allow.js';
import type { ApiContext } from './context.js';
import { checkContentType, checkSameOrigin } from './cross-site.js';
import { DenialLog } from './denials.js';

export const SESSION_COOKIE = 'veilport_session';

function bearerOf(req: FastifyRequest): string | null {
  const auth = req.headers.authorization;
  return auth?.startsWith('Bearer ') ? auth.slice(7).trim() || null : null;
}

function cookieOf(req: FastifyRequest): string | null {
  const cookie = req.headers.cookie;
  if (!cookie) return null;
  for (const part of cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === SESSION_COOKIE) {
      try {
        return decodeURIComponent(v.join('=')) || null;
      } catch {
        return null;
      }
    }
  }
  return null;
}

/** The session token from `Authorization: Bearer` or the UI's HttpOnly cookie. */
export function tokenOf(req: FastifyRequest): string | null {
  return bearerOf(req) ?? cookieOf(req);
}

export function registerAuth(app: FastifyInstance, ctx: ApiContext): DenialLog {
  const ipAllow = new IpAllowList(ctx.settings.server.allowedIps);
  const denials = new DenialLog(ctx.store, ctx.log, ctx.bus, { threshold: ctx.settings.alerts.deniedPerMinute });
  app.decorateRequest('actor', null as never);
  app.decorateRequest('sessionToken', null);

  // onRequest, before the body is read or validated: a caller without the right learns nothing more.
  app.addHook('onRequest', async (req) => {
    if (!ipAllow.allows(req.ip)) throw new VeilportError('FORBIDDEN', `this appliance does not accept connections from ${req.ip}`);
    const permission = req.routeOptions.config?.permission;
    if (permission === undefined && req.routeOptions.url && !req.routeOptions.url.startsWith('/docs')) {
      // A route that forgot to say who may call it is closed, not open.
      throw new VeilportError('FORBIDDEN', 'this route has no access rule');
    }
    if (!permission) {
      checkSameOrigin(req, false);
      checkContentType(req);
      return;
    }
    const bearer = bearerOf(req);
    const token = bearer ?? cookieOf(req);
    if (!token) throw new VeilportError('UNAUTHENTICATED', 'log in first (no session token)');
    const session = ctx.accounts.authenticate(token, req.ip);
    req.sessionToken = token;
    req.actor = { account: session.account.id, role: session.account.role, ip: req.ip };
    // After the session is known, so a hostile page's attempt is recorded against the account it rode.
    checkSameOrigin(req, bearer === null);
    checkContentType(req);
    if (session.mustChangePassword && permission !== 'session.self') {
      throw new VeilportError('PASSWORD_EXPIRED', 'change your password first (POST /api/session/password)');
    }
    if (!allowed(req.actor.role, permission)) {
      throw new VeilportError('FORBIDDEN', `the ${req.actor.role} role may not use ${req.method} ${req.routeOptions.url}`);
    }
  });

  // A refusal of a signed-in account, wherever it was decided (route guard, workflow duties).
  app.addHook('onError', async (req, _reply, err) => {
    if (!isVeilportError(err) || err.code !== 'FORBIDDEN' || !req.actor) return;
    try {
      denials.record(req.actor.account, req.ip, `${req.method} ${req.routeOptions.url ?? req.url.split('?')[0]}`, err.message);
    } catch (e) {
      req.log.error({ err: e }, 'cannot count a refused request');
    }
  });
  app.addHook('onReady', async () => denials.start());
  app.addHook('onClose', async () => denials.stop());
  return denials;
}
