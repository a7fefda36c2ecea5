/** Accounts for admins: create, change role, IP allow-list, disable, reset, unlock; role history. */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { ROLES } from '../../workflow/types.js';
import type { ApiContext } from '../context.js';

const Role = Type.Union(ROLES.map((r) => Type.Literal(r)));
const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const Cidrs = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 64 });

/** What a PATCH changed, for its one access-log entry. */
function describeChange(b: { role?: string; allowedIps?: string[]; disabled?: boolean }): string {
  const parts: string[] = [];
  if (b.role !== undefined) parts.push(`role ${b.role}`);
  if (b.allowedIps !== undefined) parts.push(`allowedIps ${b.allowedIps.length ? b.allowedIps.join(' ') : 'any'}`);
  if (b.disabled !== undefined) parts.push(b.disabled ? 'disabled' : 'enabled');
  return parts.join(', ').slice(0, 1000);
}

export function accountRoutes(ctx: ApiContext): FastifyPluginAsyncTypebox {
  const acc = ctx.accounts;
  return async (app) => {
    const logged = (req: { actor: { account: string }; ip: string }, action: 'create' | 'modify' | 'view' | 'search', id: string, detail?: string) =>
      ctx.log.append({ account: req.actor.account, ip: req.ip, action, target: `account:${id}`, result: 'ok', ...(detail ? { detail } : {}) });

    app.get('/api/accounts', { config: { permission: 'account.manage' }, schema: { tags: ['accounts'], summary: 'All accounts' } }, async (req) => {
      logged(req, 'search', '*');
      return { accounts: acc.list() };
    });

    app.post(
      '/api/accounts',
      {
        config: { permission: 'account.manage' },
        schema: {
          tags: ['accounts'],
          summary: 'Create an account (one per person)',
          body: Type.Object(
            {
              id: Type.String({ minLength: 1, maxLength: 64 }),
              displayName: Type.String({ minLength: 1, maxLength: 100 }),
              role: Role,
              password: Type.String({ minLength: 1, maxLength: 256 }),
              phone: Type.Optional(Type.String({ maxLength: 32 })),
              birthDate: Type.Optional(Type.String({ format: 'date' })),
              allowedIps: Type.Optional(Cidrs),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (req, reply) => {
        const a = await acc.create(req.actor.account, req.body);
        logged(req, 'create', a.id, `role ${a.role}`);
        return reply.status(201).send(a);
      },
    );

    app.patch(
      '/api/accounts/:id',
      {
        config: { permission: 'account.manage' },
        schema: { tags: ['accounts'], summary: 'Change role, IP allow-list or disabled', params: Params, body: Type.Object({ role: Type.Optional(Role), allowedIps: Type.Optional(Cidrs), disabled: Type.Optional(Type.Boolean()) }, { additionalProperties: false, minProperties: 1 }) },
      },
      async (req) => {
        const { id } = req.params;
        // All changes and their one record in one transaction: all of them, or nothing and no record.
        return ctx.store.transaction(() => {
          const a = acc.changeAccount(req.actor.account, id, req.body);
          logged(req, 'modify', id, describeChange(req.body));
          return a;
        });
      },
    );

    app.post(
      '/api/accounts/:id/reset-password',
      { config: { permission: 'account.manage' }, schema: { tags: ['accounts'], summary: 'Set a temporary password; the user must change it', params: Params, body: Type.Object({ temporaryPassword: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false }) } },
      async (req) => {
        const a = await acc.resetPassword(req.actor.account, req.params.id, req.body.temporaryPassword);
        logged(req, 'modify', req.params.id, 'password reset');
        return a;
      },
    );

    app.post('/api/accounts/:id/unlock', { config: { permission: 'account.manage' }, schema: { tags: ['accounts'], summary: 'Lift a lockout', params: Params } }, async (req) => {
      const a = acc.unlock(req.actor.account, req.params.id);
      logged(req, 'modify', req.params.id, 'unlocked');
      return a;
    });

    app.get(
      '/api/role-changes',
      { config: { permission: 'account.history' }, schema: { tags: ['accounts'], summary: 'Grants and changes of roles (kept 3 years)', querystring: Type.Object({ account: Type.Optional(Type.String({ maxLength: 64 })), since: Type.Optional(Type.String({ format: 'date-time' })) }, { additionalProperties: false }) } },
      async (req) => {
        logged(req, 'search', req.query.account ?? '*', 'role changes');
        return { changes: acc.roleChanges(req.query) };
      },
    );
  };
}
