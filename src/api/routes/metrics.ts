/**
 * `GET /metrics`: Prometheus text exposition for IT teams that scrape instead of
 * subscribing to MQTT (src/telemetry/prometheus.ts; docs/mqtt.md, "Prometheus").
 *
 * Open without a session (permission null), like every Prometheus target: scrapers
 * carry no login, the figures hold ids, states and numbers only, never personal data,
 * and the global IP allow-list (server.allowedIps) still decides who may connect.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ApiContext } from '../context.js';
import type { AlertEvent } from '../../workflow/events.js';
import { samplerFor, telemetryOf } from '../../telemetry/telemetry.js';
import { CONTENT_TYPE, renderPrometheus } from '../../telemetry/prometheus.js';

export function metricsRoutes(ctx: ApiContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    const alerts: Record<string, number> = {};
    const count = (a: AlertEvent) => {
      alerts[a.kind] = (alerts[a.kind] ?? 0) + 1;
    };
    ctx.bus.on('alert', count);
    app.addHook('onClose', async () => {
      ctx.bus.off('alert', count);
    });

    app.get('/metrics', { config: { permission: null }, schema: { tags: ['status'], summary: 'Prometheus metrics: health, disks, job counters and durations, telemetry (no login; IP allow-list applies)' } }, async (_req, reply) => {
      const health = await samplerFor(ctx).latest(5000);
      const requestStates: Record<string, number> = {};
      let lastExportAt: string | null = null;
      for (const r of ctx.workflow.all()) {
        requestStates[r.state] = (requestStates[r.state] ?? 0) + 1;
        const at = r.package?.issuedAt;
        if (at && (!lastExportAt || at > lastExportAt)) lastExportAt = at;
      }
      const text = renderPrometheus({
        applianceId: ctx.signer.applianceId,
        version: ctx.version,
        health,
        jobs: ctx.workflow.jobs.list(),
        requestStates,
        lastExportAt,
        auditLength: ctx.log.head().length,
        alerts,
        telemetry: telemetryOf(ctx)?.stats() ?? null,
      });
      return reply.type(CONTENT_TYPE).send(text);
    });
  };
}
