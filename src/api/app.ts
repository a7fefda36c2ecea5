/**
 * The fastify application: OpenAPI at /docs, one error shape, the access rules, and
 * one plugin per resource. Built from an ApiContext, so tests run the real thing with
 * `app.inject` or on a port.
 */
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ApiContext } from './context.js';
import type { Permission } from '../workflow/permissions.js';
import { registerErrorHandling, ErrorBody } from './errors.js';
import { registerAuth } from './auth.js';
import type { DenialLog } from './denials.js';
import { registerValidation } from './validation.js';
import { sessionRoutes } from './routes/session.js';
import { accountRoutes } from './routes/accounts.js';
import { requestRoutes } from './routes/requests.js';
import { statusRoutes } from './routes/status.js';
import { recordRoutes } from './routes/records.js';
import { reviewMediaRoutes } from './routes/review-media.js';
import { uiRoutes } from './routes/ui.js';
import { metricsRoutes } from './routes/metrics.js';
import { playerRoutes } from './routes/player.js';

/** HSTS under TLS: a year, so a browser that once reached the box over https never falls back to http. */
export const HSTS = 'max-age=31536000';

/** A route as registered, with who may call it (the role-matrix test walks this). */
export interface RouteRule {
  method: string;
  url: string;
  permission: Permission | null | undefined;
}

export async function buildApp(ctx: ApiContext, opts: { logLevel?: string } = {}): Promise<FastifyInstance & { routeRules: RouteRule[]; denials: DenialLog }> {
  const { tlsCert, tlsKey, bodyLimitBytes, trustedProxies } = ctx.settings.server;
  const app = Fastify({
    logger: { level: opts.logLevel ?? 'warn' },
    bodyLimit: bodyLimitBytes,
    // Off unless configured: X-Forwarded-* from anyone else would let a client pick its own address.
    trustProxy: trustedProxies.length ? [...trustedProxies] : false,
    ...(tlsCert ? { https: { cert: readFileSync(tlsCert), key: readFileSync(tlsKey) } } : {}),
  }).withTypeProvider<TypeBoxTypeProvider>();

  const routeRules: RouteRule[] = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) if (method !== 'HEAD') routeRules.push({ method, url: r.url, permission: r.config?.permission });
  });
  // Before any plugin: a plugin's context keeps the error handler it was registered under
  // (the docs would otherwise answer a refusal with fastify's default 500 shape).
  registerValidation(app);
  registerErrorHandling(app);
  await app.register(swagger, {
    openapi: {
      info: { title: 'Veilport API', version: ctx.version, description: 'Masked, sealed, recorded CCTV exports. Errors: `{ "error": { "code", "message" } }`.' },
      components: { securitySchemes: { session: { type: 'http', scheme: 'bearer' } } },
      security: [{ session: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.addSchema(ErrorBody);
  // JSON only: a page can post text/plain or forms to any address without asking (cross-site.ts).
  app.removeContentTypeParser(['text/plain']);
  if (tlsCert) app.addHook('onSend', async (_req, reply) => void reply.header('strict-transport-security', HSTS));
  const denials = registerAuth(app, ctx);
  for (const plugin of [sessionRoutes, accountRoutes, requestRoutes, statusRoutes, recordRoutes, reviewMediaRoutes, playerRoutes, metricsRoutes, uiRoutes]) await app.register(plugin(ctx));
  await app.ready();
  return Object.assign(app, { routeRules, denials });
}
