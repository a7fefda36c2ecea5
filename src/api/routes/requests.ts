/** Export requests: the legal procedure over HTTP (register, receive, decide, review, deliver, destroy). */
import { createReadStream } from 'node:fs';
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { REQUEST_STATES, REQUESTER_TYPES } from '../../workflow/types.js';
import { TARGETS } from '../../export/detectors.js';
import { MASK_STYLES } from '../../masking/styles.js';
import { PERSON_MASKS } from '../../masking/people.js';
import type { ApiContext } from '../context.js';

const RequestId = Type.String({ pattern: '^\\d{8}-\\d{3,6}$', description: 'YYYYMMDD-NNN' });
const Params = Type.Object({ id: RequestId });
const text = (max: number) => Type.String({ minLength: 1, maxLength: max });
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

export const NewRequestBody = Type.Object(
  {
    requester: Type.Object(
      {
        name: text(100),
        phone: Type.Optional(Nullable(Type.String({ maxLength: 32 }))),
        idNumber: Type.Optional(Nullable(Type.String({ maxLength: 32 }))),
        organisation: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
        type: Type.Union(REQUESTER_TYPES.map((t) => Type.Literal(t))),
      },
      { additionalProperties: false },
    ),
    purpose: text(500),
    legalBasis: text(500),
    documentNumber: Type.Optional(Nullable(Type.String({ maxLength: 100 }))),
    cameras: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 1 }),
    range: Type.Object({ from: Type.String({ format: 'date-time' }), to: Type.String({ format: 'date-time' }) }, { additionalProperties: false }),
    expiresAfterDays: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 365 }), Type.Null()], { description: 'null: no expiry, destruction notice required' })),
    targets: Type.Optional(Type.Array(Type.Union(TARGETS.map((t) => Type.Literal(t))), { minItems: 1, maxItems: TARGETS.length, uniqueItems: true })),
    batch: Type.Optional(Type.Boolean({ description: 'mask every track, no review step' })),
  },
  { additionalProperties: false },
);

const ReviewBody = Type.Object(
  {
    style: Type.Optional(Type.Union(MASK_STYLES.map((s) => Type.Literal(s)))),
    unmasked: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }), { maxItems: 1000 })),
    manualRegions: Type.Optional(
      Type.Array(
        Type.Object(
          { x: Type.Number({ minimum: 0 }), y: Type.Number({ minimum: 0 }), w: Type.Number({ exclusiveMinimum: 0 }), h: Type.Number({ exclusiveMinimum: 0 }), fromSeconds: Type.Number({ minimum: 0 }), toSeconds: Type.Number({ minimum: 0 }) },
          { additionalProperties: false },
        ),
        { maxItems: 200 },
      ),
    ),
    personMask: Type.Optional(Type.Union(PERSON_MASKS.map((m) => Type.Literal(m)), { description: 'what of each person is masked (default head)' })),
    groups: Type.Optional(
      Type.Array(Type.Array(Type.Integer({ minimum: 1 }), { maxItems: 1000 }), {
        maxItems: 1000,
        description: 'tracks merged as the same person: one decision for all; replaces the stored groups',
      }),
    ),
    acceptedDegraded: Type.Optional(Type.Array(Type.Integer({ minimum: 0 }), { maxItems: 1000, description: 'indices into the analysis\'s degraded stretches (report.degraded) the reviewer looked at and accepts; replaces the stored list' })),
  },
  { additionalProperties: false },
);

export function requestRoutes(ctx: ApiContext): FastifyPluginAsyncTypebox {
  const wf = ctx.workflow;
  return async (app) => {
    app.post('/api/requests', { config: { permission: 'request.register' }, schema: { tags: ['requests'], summary: 'Register a request (clerk)', body: NewRequestBody } }, async (req, reply) =>
      reply.status(201).send(await wf.register(req.actor, req.body)),
    );

    app.get(
      '/api/requests',
      { config: { permission: 'request.read' }, schema: { tags: ['requests'], summary: 'List requests, newest first', querystring: Type.Object({ state: Type.Optional(Type.Union(REQUEST_STATES.map((s) => Type.Literal(s)))), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }, { additionalProperties: false }) } },
      async (req) => ({ requests: wf.list(req.actor, req.query) }),
    );

    app.get('/api/requests/:id', { config: { permission: 'request.read' }, schema: { tags: ['requests'], summary: 'One request with its history', params: Params } }, async (req) => wf.get(req.actor, req.params.id));

    app.post('/api/requests/:id/receive', { config: { permission: 'request.receive' }, schema: { tags: ['requests'], summary: 'Reception: identity and admissibility checked (clerk)', params: Params } }, async (req) => wf.receive(req.actor, req.params.id));

    app.post('/api/requests/:id/approve', { config: { permission: 'request.decide' }, schema: { tags: ['requests'], summary: 'Approve (approver, not the registrar); analysis starts', params: Params } }, async (req) => wf.approve(req.actor, req.params.id));

    app.post(
      '/api/requests/:id/reject',
      { config: { permission: 'request.decide' }, schema: { tags: ['requests'], summary: 'Reject with a reason (approver)', params: Params, body: Type.Object({ reason: text(500) }, { additionalProperties: false }) } },
      async (req) => wf.reject(req.actor, req.params.id, req.body.reason),
    );

    app.post('/api/requests/:id/retry', { config: { permission: 'request.retry' }, schema: { tags: ['requests'], summary: 'Run the failed step again (clerk)', params: Params } }, async (req) => wf.retry(req.actor, req.params.id));

    app.get('/api/requests/:id/tracks', { config: { permission: 'review.read' }, schema: { tags: ['review'], summary: 'Tracks of the analysis (target, label, owner, merge group) and the masking report of the current decision, for masking review', params: Params } }, async (req) => wf.tracks(req.actor, req.params.id));

    app.get(
      '/api/requests/:id/tracks/:track/thumbnail',
      { config: { permission: 'review.read' }, schema: { tags: ['review'], summary: 'A track thumbnail (PNG)', params: Type.Object({ id: RequestId, track: Type.Integer({ minimum: 1 }) }) } },
      async (req, reply) => {
        const file = await wf.thumbnail(req.actor, req.params.id, req.params.track);
        return reply.type('image/png').header('cache-control', 'no-store').send(createReadStream(file));
      },
    );

    app.put('/api/requests/:id/review', { config: { permission: 'review.edit' }, schema: { tags: ['review'], summary: 'Set the masking decision (approver)', params: Params, body: ReviewBody } }, async (req) => wf.setReview(req.actor, req.params.id, req.body));

    app.post('/api/requests/:id/review/confirm', { config: { permission: 'review.edit' }, schema: { tags: ['review'], summary: 'Confirm the masking; the render starts (approver)', params: Params } }, async (req) => wf.confirmReview(req.actor, req.params.id));

    app.get('/api/requests/:id/package', { config: { permission: 'package.deliver' }, schema: { tags: ['delivery'], summary: 'Download the sealed package (clerk); counted and logged', params: Params } }, async (req, reply) => {
      const p = wf.deliver(req.actor, req.params.id, 'download');
      return reply
        .type('application/vnd.veilport.package')
        .header('content-disposition', `attachment; filename="${req.params.id}.vpkg"`)
        .header('content-length', p.bytes)
        .header('x-veilport-package-id', p.packageId)
        .header('cache-control', 'no-store')
        .send(createReadStream(p.file));
    });

    app.post('/api/requests/:id/password', { config: { permission: 'package.deliver' }, schema: { tags: ['delivery'], summary: 'Show the package password, to hand over out of band (clerk); logged', params: Params } }, async (req, reply) =>
      reply.header('cache-control', 'no-store').send({ password: wf.revealPassword(req.actor, req.params.id) }),
    );

    app.post(
      '/api/requests/:id/destruction-notice',
      { config: { permission: 'destruction.record' }, schema: { tags: ['delivery'], summary: 'Record the destruction notice of a package without expiry', params: Params, body: Type.Object({ noticeRef: text(100) }, { additionalProperties: false }) } },
      async (req) => wf.recordDestructionNotice(req.actor, req.params.id, req.body.noticeRef),
    );
  };
}
