/** Logging in and out, the first-admin bootstrap, and changing one's own password. */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { isVeilportError } from '../../util/errors.js';
import { SESSION_COOKIE } from '../auth.js';
import type { ApiContext } from '../context.js';

const AccountId = Type.String({ minLength: 1, maxLength: 64 });
const Password = Type.String({ minLength: 1, maxLength: 256 });

/** What login does to an id ("Kim " typed on the touchscreen means kim). */
export const normaliseLoginId = (raw: string) => raw.trim().toLowerCase();

// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** A JSON string literal with every control and separator character escaped (safe in one log line). */
export function escapeText(raw: string): string {
  return JSON.stringify(raw).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function sessionRoutes(ctx: ApiContext): FastifyPluginAsyncTypebox {
  /**
   * Every failed login is in the access log, whatever the id looked like: the account as
   * login normalised it (the one whose password was tried), and the id as typed, escaped
   * as a JSON string, when it differs. An id that normalises to nothing or to something
   * unprintable is recorded with no account, the escaped form saying what it was.
   */
  const recordFailedLogin = (raw: string, ip: string, code: string) => {
    const id = normaliseLoginId(raw);
    const printable = id !== '' && !UNPRINTABLE.test(id) && id.length <= 64;
    const typed = id === raw && printable ? '' : `; typed ${escapeText(raw).slice(0, 200)}`;
    ctx.log.append({ account: printable ? id : null, ip, action: 'login-failed', target: printable ? `account:${id}` : '', result: 'denied', detail: `${code}${typed}` });
  };

  const cookie = (token: string, maxAgeS: number) =>
    `${SESSION_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${ctx.settings.server.tlsCert ? '; Secure' : ''}`;
  return async (app) => {
    app.get('/api/health', { config: { permission: null }, schema: { tags: ['session'], summary: 'Liveness, no login' } }, async () => ({ ok: true, bootstrapNeeded: !ctx.accounts.hasAdmin() }));

    app.post(
      '/api/bootstrap',
      {
        config: { permission: null },
        schema: {
          tags: ['session'],
          summary: 'Create the first admin with the one-time token printed on the appliance console',
          body: Type.Object({ token: Type.String({ minLength: 1, maxLength: 200 }), id: AccountId, displayName: Type.String({ minLength: 1, maxLength: 100 }), password: Password }, { additionalProperties: false }),
        },
      },
      async (req, reply) => {
        const { token, ...admin } = req.body;
        const account = await ctx.accounts.bootstrap(token, admin);
        ctx.log.append({ account: account.id, ip: req.ip, action: 'create', target: `account:${account.id}`, result: 'ok', detail: 'first admin (bootstrap)' });
        return reply.status(201).send(account);
      },
    );

    app.post(
      '/api/session',
      { config: { permission: null }, schema: { tags: ['session'], summary: 'Log in', body: Type.Object({ id: AccountId, password: Password }, { additionalProperties: false }) } },
      async (req, reply) => {
        try {
          const s = await ctx.accounts.login(req.body.id, req.body.password, req.ip);
          ctx.log.append({ account: s.account.id, ip: req.ip, action: 'login', target: `account:${s.account.id}`, result: 'ok' });
          const maxAge = Math.max(1, Math.round((Date.parse(s.expiresAt) - Date.now()) / 1000));
          return reply.header('set-cookie', cookie(s.token, maxAge)).send(s);
        } catch (e) {
          recordFailedLogin(req.body.id, req.ip, isVeilportError(e) ? e.code : 'INTERNAL');
          throw e;
        }
      },
    );

    app.get('/api/session', { config: { permission: 'session.self' }, schema: { tags: ['session'], summary: 'Who am I' } }, async (req) => ctx.accounts.authenticate(req.sessionToken!, req.ip).account);

    app.delete('/api/session', { config: { permission: 'session.self' }, schema: { tags: ['session'], summary: 'Log out' } }, async (req, reply) => {
      ctx.accounts.logout(req.sessionToken!);
      ctx.log.append({ account: req.actor.account, ip: req.ip, action: 'logout', target: `account:${req.actor.account}`, result: 'ok' });
      return reply.header('set-cookie', cookie('', 0)).status(204).send();
    });

    app.post(
      '/api/session/password',
      { config: { permission: 'session.self' }, schema: { tags: ['session'], summary: 'Change my password (forced when expired or reset)', body: Type.Object({ current: Password, next: Password }, { additionalProperties: false }) } },
      async (req) => {
        const account = await ctx.accounts.changePassword(req.actor.account, req.body.current, req.body.next, req.sessionToken!);
        ctx.log.append({ account: req.actor.account, ip: req.ip, action: 'modify', target: `account:${req.actor.account}`, result: 'ok', detail: 'password changed' });
        return account;
      },
    );
  };
}
