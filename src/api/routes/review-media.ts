/**
 * Footage for the masking review screen (approver only, every call in the access log
 * as a view): the analysed range as a small browser-playable H.264 MP4, and one frame
 * at a given time, either as recorded (to draw on) or masked with the current review
 * decision (the preview before rendering). Both come from the recordings through the
 * same catalog, decoder and pipeline profile as the export itself.
 *
 * The clip is cached under the data dir (`review-cache/`, never under a served path),
 * keyed by the analysis, so a reviewer scrubbing back and forth decodes once.
 */
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { decodePieces } from '../../media/decode.js';
import { encodePipeline, type Profile } from '../../media/profiles.js';
import { startEncoder } from '../../media/gst-process.js';
import { selectProfile } from '../../media/probe.js';
import type { Frame } from '../../media/frame.js';
import { masksAt } from '../../masking/plan.js';
import { visibleIds } from '../../masking/people.js';
import { applyMask } from '../../masking/styles.js';
import { encodePng } from '../../util/png.js';
import { VeilportError } from '../../util/errors.js';
import type { ApiContext } from '../context.js';
import { reviewPlan } from '../../workflow/review-plan.js';
import type { Actor } from '../../workflow/permissions.js';
import { reviewCacheDirOf } from '../../workflow/derivatives.js';

const Params = Type.Object({ id: Type.String({ pattern: '^\\d{8}-\\d{3,6}$', description: 'YYYYMMDD-NNN' }) });
/** Width of the review clip: enough to see who is who on a 15-inch screen, quick to encode. */
const CLIP_WIDTH = 640;

/** I420 frame -> RGB (BT.601, as the thumbnails). */
function toRgb(f: Frame): Uint8Array {
  const L = f.layout;
  const d = f.data;
  const rgb = new Uint8Array(L.width * L.height * 3);
  for (let y = 0; y < L.height; y++) {
    for (let x = 0; x < L.width; x++) {
      const Y = 1.164 * (d[y * L.yStride + x]! - 16);
      const U = d[L.uOffset + (y >> 1) * L.uvStride + (x >> 1)]! - 128;
      const V = d[L.vOffset + (y >> 1) * L.uvStride + (x >> 1)]! - 128;
      const o = (y * L.width + x) * 3;
      rgb[o] = Math.max(0, Math.min(255, Y + 1.596 * V));
      rgb[o + 1] = Math.max(0, Math.min(255, Y - 0.392 * U - 0.813 * V));
      rgb[o + 2] = Math.max(0, Math.min(255, Y + 2.017 * U));
    }
  }
  return rgb;
}

export function reviewMediaRoutes(ctx: ApiContext): FastifyPluginAsyncTypebox {
  const wf = ctx.workflow;
  const cacheDir = reviewCacheDirOf(ctx.dataDir);
  let profile: Promise<Profile> | undefined;
  const profileOf = () => {
    profile ??= selectProfile(ctx.settings.jobs.profile || undefined).then((p) => p.profile);
    profile.catch(() => (profile = undefined));
    return profile;
  };
  const making = new Map<string, Promise<string>>();

  const logView = (req: { actor: { account: string }; ip: string }, target: string, detail?: string) =>
    ctx.log.append({ account: req.actor.account, ip: req.ip, action: 'view', target, result: 'ok', ...(detail ? { detail } : {}) });

  /** The request in review-able shape for `actor` (duties, not destroyed): its analysis must exist. */
  const material = async (actor: Actor, id: string) => {
    const r = wf.reviewable(actor, id);
    const a = await wf.analysisOf(r);
    return { r, a, camera: r.cameras[0]!, from: new Date(r.range.from), to: new Date(r.range.to) };
  };

  async function makeClip(actor: Actor, id: string): Promise<string> {
    const { a, camera, from, to } = await material(actor, id);
    const file = join(cacheDir, `${a.key}-${CLIP_WIDTH}.mp4`);
    if (await stat(file).then((s) => s.size > 0, () => false)) return file;
    const pending = making.get(file);
    if (pending) return pending;
    const job = (async () => {
      await mkdir(cacheDir, { recursive: true, mode: 0o700 });
      const plan = await wf.catalog.resolveRange(camera, from, to);
      if (!plan.pieces.length) throw new VeilportError('NOT_FOUND', `no recordings of ${camera} in the range of request ${id}`);
      const p = await profileOf();
      const width = Math.min(CLIP_WIDTH, a.width) & ~1;
      const height = Math.max(2, Math.round((a.height * width) / a.width) & ~1);
      const fps = (plan.pieces[0] as { framerate?: number }).framerate ?? 30;
      const encoder = startEncoder(encodePipeline(p, { bitrateKbps: 600, gopFrames: Math.round(fps) }), { label: `review clip (${p.name})` });
      const partial = `${file}.partial`;
      const out = createWriteStream(partial, { mode: 0o600 });
      const sinking = (async () => {
        for await (const chunk of encoder.output) if (!out.write(chunk)) await new Promise<void>((res) => out.once('drain', () => res()));
        await new Promise<void>((res, rej) => out.end((e?: Error | null) => (e ? rej(e) : res())));
      })();
      try {
        let capsSent = false;
        for await (const f of decodePieces(plan.pieces, { profile: p, from, to, width, height })) {
          if (!capsSent) {
            await encoder.setCaps(`video/x-raw,format=I420,width=${width},height=${height},framerate=${Math.round(fps * 1000)}/1000,pixel-aspect-ratio=1/1`);
            capsSent = true;
          }
          await encoder.writeFrame(f.tNs, f.durationNs || Math.round(1e9 / fps), f.data);
        }
        encoder.end();
        await sinking;
        await rename(partial, file);
        // Destroyed while the clip was being made: it must not outlive the request.
        const now = wf.load(id);
        if (now.state === 'destroyed') {
          await rm(file, { force: true });
          wf.assertNotDestroyed(now, 'review clip');
        }
        return file;
      } catch (e) {
        encoder.abort(`review clip failed: ${(e as Error).message}`);
        await sinking.catch(() => undefined);
        out.destroy();
        await rm(partial, { force: true });
        throw e;
      }
    })();
    making.set(file, job);
    try {
      return await job;
    } finally {
      making.delete(file);
    }
  }

  return async (app) => {
    app.get(
      '/api/requests/:id/review/clip',
      { config: { permission: 'review.read' }, schema: { tags: ['review'], summary: 'The analysed range as a small H.264 MP4 for the review screen (approver); logged as a view', params: Params } },
      async (req, reply) => {
        const file = await makeClip(req.actor, req.params.id);
        logView(req, `request:${req.params.id}/review/clip`);
        const { size } = await stat(file);
        return reply.type('video/mp4').header('content-length', size).header('cache-control', 'private, no-store').send(createReadStream(file));
      },
    );

    app.get(
      '/api/requests/:id/review/frame',
      {
        config: { permission: 'review.read' },
        schema: {
          tags: ['review'],
          summary: 'One frame (PNG) at t seconds into the range: as recorded, or masked with the current review decision (approver); logged as a view',
          params: Params,
          querystring: Type.Object(
            { t: Type.Optional(Type.Number({ minimum: 0, default: 0 })), masked: Type.Optional(Type.Boolean({ default: true })), v: Type.Optional(Type.String({ maxLength: 32, description: 'ignored (lets the page ask again after a change)' })) },
            { additionalProperties: false },
          ),
        },
      },
      async (req, reply) => {
        const { r, a, camera, from, to } = await material(req.actor, req.params.id);
        const t = req.query.t ?? 0;
        const masked = req.query.masked ?? true;
        const durationS = (to.getTime() - from.getTime()) / 1000;
        if (t >= durationS) throw new VeilportError('BAD_INPUT', `querystring.t: ${t} s is past the end of the range (${durationS} s)`);
        const at = new Date(from.getTime() + t * 1000);
        const until = new Date(Math.min(to.getTime(), at.getTime() + 2000));
        const plan = await wf.catalog.resolveRange(camera, at, until);
        if (!plan.pieces.length) throw new VeilportError('NOT_FOUND', `nothing is recorded at ${t} s into request ${r.id} (a gap in the recordings)`);
        const p = await profileOf();
        let frame: Frame | undefined;
        for await (const f of decodePieces(plan.pieces, { profile: p, from: at, to: until, width: a.width, height: a.height })) {
          frame = f;
          break;
        }
        if (!frame) throw new VeilportError('NOT_FOUND', `no frame at ${t} s into request ${r.id}`);
        const tNs = Math.round(t * 1e9) + frame.tNs;
        let boxes = 0;
        let shown: number[] = [];
        if (masked) {
          // The plan the render will use (groups, person mask, privacy zones): what is previewed is what is exported.
          const maskPlan = reviewPlan(r, ctx.settings);
          shown = [...visibleIds(a.tracks, maskPlan.unmasked)].sort((x, y) => x - y);
          const L = frame.layout;
          const found = masksAt(maskPlan, a.tracks, tNs, L.width, L.height, a.cameraPath);
          for (const b of found) applyMask(frame.data, L, b, maskPlan.style);
          boxes = found.length;
        }
        logView(req, `request:${r.id}/review/frame`, `t=${t} ${masked ? 'masked' : 'as recorded'}`);
        const png = encodePng(frame.layout.width, frame.layout.height, toRgb(frame));
        return reply
          .type('image/png')
          .header('cache-control', 'private, no-store')
          .header('x-veilport-frame-seconds', (tNs / 1e9).toFixed(3))
          .header('x-veilport-masked-boxes', String(boxes))
          .header('x-veilport-visible-tracks', shown.join(','))
          .send(png);
      },
    );
  };
}
