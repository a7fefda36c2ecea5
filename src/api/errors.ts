/**
 * The API's one error shape, `{ "error": { "code", "message" } }`, and the status each
 * core error code maps to. A failure we did not foresee is a 500 with a generic message
 * (the detail goes to the daemon's log, never to the client).
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { Type } from '@fastify/type-provider-typebox';
import { isVeilportError, type ErrorCode } from '../util/errors.js';

export const ErrorBody = Type.Object(
  { error: Type.Object({ code: Type.String(), message: Type.String() }) },
  { $id: 'Error', description: 'Every error: a stable code and one line a person can act on.' },
);

const STATUS: Partial<Record<ErrorCode, number>> = {
  BAD_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  PASSWORD_EXPIRED: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  GONE: 410,
  LOCKED: 423,
  MEDIA_UNREADABLE: 422,
  MODEL_MISSING: 503,
  MODEL_MISMATCH: 503,
};

export function statusOf(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (isVeilportError(err)) {
      return reply.status(statusOf(err.code)).send({ error: { code: err.code, message: err.message } });
    }
    if (err.validation) {
      const v = err.validation[0];
      const where = `${err.validationContext ?? 'body'}${v?.instancePath ? v.instancePath.replaceAll('/', '.') : ''}`;
      const extra = v?.keyword === 'additionalProperties' ? ` "${String((v.params as { additionalProperty?: string }).additionalProperty)}"` : '';
      return reply.status(400).send({ error: { code: 'BAD_INPUT', message: `${where}: ${v?.message ?? 'invalid'}${extra}` } });
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      const code = err.statusCode === 413 ? 'TOO_LARGE' : err.statusCode === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : err.statusCode === 404 ? 'NOT_FOUND' : 'BAD_INPUT';
      return reply.status(err.statusCode).send({ error: { code, message: err.message } });
    }
    req.log.error({ err }, 'unexpected error');
    return reply.status(500).send({ error: { code: 'INTERNAL', message: 'internal error; the daemon log has the details' } });
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } }));
}
