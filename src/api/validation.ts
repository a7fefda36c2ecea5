/**
 * Two validators: bodies are checked strictly (a string is not an array, 0 is not
 * null: a wrong type is refused, never reinterpreted), while path and query values,
 * which arrive as text, are coerced to the declared scalar types.
 */
import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';

function make(coerce: boolean) {
  const options: Options = { coerceTypes: coerce, removeAdditional: false, useDefaults: true, allErrors: false, strict: false };
  const ajv = new Ajv(options);
  (addFormats as unknown as (a: Ajv) => Ajv)(ajv);
  return ajv;
}

export function registerValidation(app: FastifyInstance): void {
  const strict = make(false);
  const coercing = make(true);
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema));
}
