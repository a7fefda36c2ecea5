/**
 * Refusing what a hostile web page can make a browser send (CSRF). The session cookie
 * is SameSite=Strict, but "site" ignores the port: a page on another port of the same
 * host (or another host under the same registrable domain) is same-site, and its form
 * posts and no-cors fetches carry the cookie. So, besides SameSite:
 *
 * - State-changing requests (POST, PUT, PATCH, DELETE) must carry no body or a JSON body
 *   with `Content-Type: application/json`. A page can send text/plain, form-urlencoded
 *   and multipart without asking; application/json needs a CORS preflight, which this
 *   API never grants. A bodyless POST with one of those types is refused too.
 * - A state-changing request, and any request to a protected route that authenticates
 *   with the cookie, is refused when the browser says it comes from elsewhere:
 *   `Sec-Fetch-Site` other than `same-origin` or `none` (typed by the user), or an
 *   `Origin` that is not this appliance's own (scheme, host and port; `null` included).
 *
 * A request with neither header is allowed: that is curl, the CLI, scripts. No current
 * browser sends a cross-origin POST without an Origin header (Chromium, Firefox and
 * Safari send it on every non-GET request, no-cors included), and Sec-Fetch-Site is
 * sent by all of them since 2023; non-browser clients hold no victim's cookie, and a
 * Bearer token cannot be attached cross-origin without the preflight we refuse.
 */
import type { FastifyRequest } from 'fastify';
import { VeilportError } from '../util/errors.js';

export const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function unsupported(message: string): Error {
  // Mapped to 415 UNSUPPORTED_MEDIA_TYPE by the error handler.
  return Object.assign(new Error(message), { statusCode: 415 });
}

/** @throws 415 when a state-changing request's body is not (or claims not to be) JSON. */
export function checkContentType(req: FastifyRequest): void {
  if (!STATE_CHANGING.has(req.method)) return;
  const type = header(req, 'content-type');
  const length = header(req, 'content-length');
  const hasBody = (length !== undefined && length !== '0') || header(req, 'transfer-encoding') !== undefined;
  if (type !== undefined) {
    const media = type.split(';')[0]!.trim().toLowerCase();
    if (media !== 'application/json') {
      throw unsupported(`content-type "${media.slice(0, 80)}" is not accepted: ${req.method} requests take a JSON body with content-type application/json, or no body and no content-type`);
    }
  } else if (hasBody) {
    throw unsupported(`a ${req.method} body needs content-type application/json`);
  }
}

/** This appliance's own origin as the client addressed it (honours trusted proxies). */
export function ownOrigin(req: FastifyRequest): string {
  return `${req.protocol}://${String(req.host).toLowerCase()}`;
}

/**
 * @param viaCookie whether the request authenticates with the session cookie (not Bearer)
 * @throws FORBIDDEN for a request the browser marks as coming from another site or origin.
 */
export function checkSameOrigin(req: FastifyRequest, viaCookie: boolean): void {
  if (!STATE_CHANGING.has(req.method) && !viaCookie) return;
  const site = header(req, 'sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new VeilportError('FORBIDDEN', `cross-site request refused: the browser says it comes from another ${site === 'same-site' ? 'origin of this site' : 'site'} (Sec-Fetch-Site: ${site.slice(0, 20)}); use this appliance's own pages`, { reason: 'cross-site' });
  }
  const origin = header(req, 'origin');
  if (origin !== undefined && origin.toLowerCase() !== ownOrigin(req)) {
    throw new VeilportError('FORBIDDEN', `cross-origin request refused: Origin ${origin.slice(0, 100)} is not this appliance (${ownOrigin(req)})`, { reason: 'cross-origin' });
  }
}
