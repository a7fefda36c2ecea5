/**
 * The offline player, handed out beside every package: one HTML file with this
 * appliance's public key pinned, so it refuses packages signed by any other box.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { bytesToHex } from '@noble/hashes/utils.js';
import { buildPlayerHtml } from '../../player/build.js';
import type { ApiContext } from '../context.js';

export function playerRoutes(ctx: ApiContext): FastifyPluginAsyncTypebox {
  let html: Promise<string> | null = null;
  return async (app) => {
    app.get('/api/player', { config: { permission: 'package.deliver' }, schema: { tags: ['delivery'], summary: 'The offline player (one HTML file) for recipients' } }, async (req, reply) => {
      // Bundling takes a moment: do it once per daemon, on first demand.
      html ??= buildPlayerHtml({ trustedKeys: [bytesToHex(ctx.signer.publicKey)] }).catch((e: unknown) => {
        html = null;
        throw e;
      });
      const page = await html;
      ctx.log.append({ account: req.actor.account, ip: req.ip, action: 'download', target: 'player', result: 'ok' });
      return reply.type('text/html; charset=utf-8').header('content-disposition', 'attachment; filename="veilport-player.html"').header('cache-control', 'no-store').send(page);
    });
  };
}
