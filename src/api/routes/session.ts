/** Logging in and out, the first-admin bootstrap, and changing one's own password. */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { isVeilportError } from '../../util/errors.js';
import { SESSION_COOKIE } from '../auth.js';
import type { ApiContext } from '../context.js';

const AccountId = Type.String({ minLength: 1, maxLength: 64 });
const Password = Type.String({ minLength: 1, maxLength: 256 });

export function sessionRoutes(ctx: ApiContext): FastifyPluginAsyncTypebox {
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
          if (isVeilportError(e)) {
            ctx.log.append({ account: req.body.id, ip: req.ip, action: 'login-failed', target: `account:${req.body.id}`, result: 'denied', detail: e.code });
          }
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
