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

/** A route as registered, with who may call it (the role-matrix test walks this). */
export interface RouteRule {
  method: string;
  url: string;
  permission: Permission | null | undefined;
}

export async function buildApp(ctx: ApiContext, opts: { logLevel?: string } = {}): Promise<FastifyInstance & { routeRules: RouteRule[] }> {
  const { tlsCert, tlsKey, bodyLimitBytes } = ctx.settings.server;
  const app = Fastify({
    logger: { level: opts.logLevel ?? 'warn' },
    bodyLimit: bodyLimitBytes,
    ...(tlsCert ? { https: { cert: readFileSync(tlsCert), key: readFileSync(tlsKey) } } : {}),
  }).withTypeProvider<TypeBoxTypeProvider>();

  const routeRules: RouteRule[] = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) if (method !== 'HEAD') routeRules.push({ method, url: r.url, permission: r.config?.permission });
  });
  await app.register(swagger, {
    openapi: {
      info: { title: 'Veilport API', version: ctx.version, description: 'Masked, sealed, recorded CCTV exports. Errors: `{ "error": { "code", "message" } }`.' },
      components: { securitySchemes: { session: { type: 'http', scheme: 'bearer' } } },
      security: [{ session: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.addSchema(ErrorBody);
  registerValidation(app);
  registerErrorHandling(app);
  registerAuth(app, ctx);
  for (const plugin of [sessionRoutes, accountRoutes, requestRoutes, statusRoutes, recordRoutes, reviewMediaRoutes, playerRoutes, metricsRoutes, uiRoutes]) await app.register(plugin(ctx));
  await app.ready();
  return Object.assign(app, { routeRules });
}
