/**
 * What every role may see (the dashboard): queue, running jobs, disk, alerts, last
 * exports; plus jobs and the recordings browser for the roles that run exports.
 * Status carries ids and states only, no personal data: viewers see it too.
 */
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { checkCameraName } from '../../media/catalog.js';
import { VeilportError } from '../../util/errors.js';
import type { ApiContext } from '../context.js';

/** Free space of the volume holding `path` (or the nearest existing parent: the export area appears at the first render). */
async function diskFree(path: string): Promise<{ path: string; freeBytes: number | null; totalBytes: number | null }> {
  for (let p = path; ; p = dirname(p)) {
    try {
      const s = await statfs(p);
      return { path, freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
    } catch {
      if (dirname(p) === p) return { path, freeBytes: null, totalBytes: null };
    }
  }
}

export function statusRoutes(ctx: ApiContext): FastifyPluginAsyncTypebox {
  const wf = ctx.workflow;
  return async (app) => {
    app.get('/api/status', { config: { permission: 'status.view' }, schema: { tags: ['status'], summary: 'Dashboard: queue, jobs, disks, alerts, last exports' } }, async () => {
      const active = wf.jobs.active();
      const sealed = wf
        .all()
        .filter((r) => r.package)
        .slice(0, 10)
        .map((r) => ({ requestId: r.id, state: r.state, issuedAt: r.package!.issuedAt, expiresAt: r.package!.expiresAt }));
      return {
        version: ctx.version,
        applianceId: ctx.signer.applianceId,
        uptimeSeconds: Math.round((Date.now() - ctx.startedAt.getTime()) / 1000),
        queue: { queued: active.filter((j) => j.state === 'queued').length, running: active.filter((j) => j.state === 'running').map((j) => ({ jobId: j.id, requestId: j.requestId, kind: j.kind, progress: j.progress })) },
        disks: { recordings: await diskFree(ctx.settings.paths.recordings), exports: await diskFree(wf.exportsDir), data: await diskFree(ctx.dataDir) },
        alerts: ctx.bus.recentAlerts.slice(0, 20).map(({ account: _a, ...rest }) => rest),
        lastExports: sealed,
      };
    });

    app.get('/api/jobs', { config: { permission: 'job.read' }, schema: { tags: ['jobs'], summary: 'Jobs, newest first' } }, async () => ({ jobs: wf.jobs.list().reverse().slice(0, 200) }));

    app.post('/api/jobs/:id/cancel', { config: { permission: 'job.cancel' }, schema: { tags: ['jobs'], summary: 'Cancel a queued or running job', params: Type.Object({ id: Type.String({ format: 'uuid' }) }) } }, async (req) => wf.cancelJob(req.actor, req.params.id));

    app.get('/api/cameras', { config: { permission: 'camera.browse' }, schema: { tags: ['recordings'], summary: 'Cameras in the recordings root' } }, async (req) => {
      ctx.log.append({ account: req.actor.account, ip: req.ip, action: 'search', target: 'cameras', result: 'ok' });
      return { cameras: await wf.catalog.cameras() };
    });

    app.get(
      '/api/cameras/:camera/recordings',
      {
        config: { permission: 'camera.browse' },
        schema: {
          tags: ['recordings'],
          summary: 'What is recorded in a range: pieces, gaps and damaged files',
          params: Type.Object({ camera: Type.String({ minLength: 1, maxLength: 64 }) }),
          querystring: Type.Object({ from: Type.String({ format: 'date-time' }), to: Type.String({ format: 'date-time' }) }, { additionalProperties: false }),
        },
      },
      async (req) => {
        const { camera } = req.params;
        checkCameraName(camera);
        const from = new Date(req.query.from);
        const to = new Date(req.query.to);
        if (!(to > from)) throw new VeilportError('BAD_INPUT', 'querystring: "to" must be after "from"');
        if (to.getTime() - from.getTime() > 7 * 86_400_000) throw new VeilportError('BAD_INPUT', 'querystring: browse at most 7 days at a time');
        if (!(await wf.catalog.cameras()).includes(camera)) throw new VeilportError('NOT_FOUND', `unknown camera "${camera}"`);
        ctx.log.append({ account: req.actor.account, ip: req.ip, action: 'search', target: `camera:${camera}`, result: 'ok', detail: `${req.query.from} - ${req.query.to}` });
        const plan = await wf.catalog.resolveRange(camera, from, to);
        const iso = (ms: number) => new Date(ms).toISOString();
        return {
          camera,
          pieces: plan.pieces.map((p) => ({ from: iso(p.segmentStart.getTime() + p.inpointNs / 1e6), to: iso(p.segmentStart.getTime() + p.outpointNs / 1e6) })),
          gaps: plan.gaps.map((g) => ({ from: g.from.toISOString(), to: g.to.toISOString() })),
          problems: plan.problems.map((p) => ({ file: p.file.split('/').slice(-2).join('/'), reason: p.reason })),
        };
      },
    );
  };
}
