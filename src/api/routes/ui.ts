/**
 * The touchscreen UI: static files built by `npm run build` (scripts/build-ui.mjs) into
 * dist/ui, served at `/` on the same origin as the API. No login is needed to load the
 * files (they hold no data); everything they show comes from the API with the session
 * cookie. A strict Content-Security-Policy: only this origin's own script and styles,
 * no inline script, no framing, no requests elsewhere.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { VeilportError } from '../../util/errors.js';
import type { ApiContext } from '../context.js';

/** src/api/routes or dist/api/routes -> <repo>/dist/ui */
export const UI_DIR = fileURLToPath(new URL('../../../dist/ui/', import.meta.url));

export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  woff2: 'font/woff2',
  json: 'application/json; charset=utf-8',
};

export function uiRoutes(_ctx: ApiContext, dir: string = UI_DIR): FastifyPluginAsyncTypebox {
  const send = async (name: string) => {
    const ext = name.split('.').pop() ?? '';
    const type = TYPES[ext];
    if (!type || !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(name)) throw new VeilportError('NOT_FOUND', `no UI file ${name}`);
    try {
      return { type, body: await readFile(join(dir, name)) };
    } catch {
      if (name === 'index.html') throw new VeilportError('NOT_FOUND', 'the touchscreen UI is not built on this box: run "npm run build"');
      throw new VeilportError('NOT_FOUND', `no UI file ${name}`);
    }
  };
  return async (app) => {
    app.addHook('onSend', async (req, reply) => {
      if (req.routeOptions.url === '/' || req.routeOptions.url === '/ui/:file') {
        reply
          .header('content-security-policy', UI_CSP)
          .header('x-content-type-options', 'nosniff')
          .header('x-frame-options', 'DENY')
          .header('referrer-policy', 'no-referrer')
          .header('cross-origin-opener-policy', 'same-origin');
      }
    });

    app.get('/', { config: { permission: null }, schema: { tags: ['ui'], summary: 'The touchscreen UI (static page; the data comes from the API)' } }, async (_req, reply) => {
      const f = await send('index.html');
      return reply.type(f.type).header('cache-control', 'no-cache').send(f.body);
    });

    app.get(
      '/ui/:file',
      { config: { permission: null }, schema: { tags: ['ui'], summary: 'Static files of the UI (script, styles)', params: Type.Object({ file: Type.String({ maxLength: 100 }) }) } },
      async (req, reply) => {
        const f = await send(req.params.file);
        return reply.type(f.type).header('cache-control', 'no-cache').send(f.body);
      },
    );
  };
}
