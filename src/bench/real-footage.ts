/**
 * Bench workloads on real footage that no one on the project made: Debian's opencv-doc
 * ships `vtest.avi`, an elevated pedestrian scene (768x576, 10 fps). The bench scales it
 * to 1080p as recorded (4:3, so 1440x1080), and makes a panning camera out of it (a
 * 1280x720 window that pans about 1.5 px a frame back and forth) beside the same window
 * held still, so the cost of camera motion is measured on the same pictures.
 */
import { existsSync } from 'node:fs';
import { readRecords, startEncoder } from '../media/gst-process.js';
import { i420Layout, parseRawCaps, type I420Layout } from '../media/frame.js';
import { quoteLocation } from '../media/profiles.js';
import { VeilportError } from '../util/errors.js';

export const VTEST = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';
export const VTEST_FPS = 10;

export function requireVtest(): string {
  if (!existsSync(VTEST)) throw new VeilportError('MEDIA_UNREADABLE', `${VTEST} is missing: the bench's real footage comes from Debian's opencv-doc (sh scripts/setup.sh installs it)`);
  return VTEST;
}

const x264 = (w: number, h: number, fps: number) => `x264enc speed-preset=veryfast key-int-max=${fps * 2} bitrate=${Math.round((w * h * fps * 0.1) / 1000)} ! h264parse ! mp4mux`;

/** The first `seconds` of vtest.avi scaled to width x height, as an H.264 MP4. */
export function scaledVtest(out: string, width: number, height: number, seconds: number): Promise<number> {
  const decode = `filesrc location=${quoteLocation(requireVtest())} ! decodebin ! videoconvert ! videoscale method=bilinear ! video/x-raw,format=I420,width=${width},height=${height} ! appsink name=out sync=false`;
  return reencode(decode, out, width, height, seconds * VTEST_FPS, (src) => src);
}

/**
 * A 1280x720 window over `src` (an MP4 at least that size): panning `pxPerFrame`
 * across and back, or held at the centre when pxPerFrame is 0.
 */
export function windowClip(src: string, out: string, pxPerFrame: number): Promise<number> {
  const W = 1280, H = 720;
  const L = i420Layout(W, H);
  const decode = `filesrc location=${quoteLocation(src)} ! qtdemux ! h264parse ! avdec_h264 ! videoconvert ! video/x-raw,format=I420 ! appsink name=out sync=false`;
  return reencode(decode, out, W, H, Infinity, (d, S, n) => {
    const range = S.width - W;
    // Ping-pong across the picture; even offsets keep the chroma aligned.
    const phase = range > 0 ? (pxPerFrame * n) % (2 * range) : 0;
    const x = (pxPerFrame === 0 ? range >> 1 : Math.round(phase <= range ? phase : 2 * range - phase)) & ~1;
    const y = ((S.height - H) >> 1) & ~1;
    const frame = new Uint8Array(L.size);
    for (let row = 0; row < H; row++) frame.set(d.subarray((y + row) * S.yStride + x, (y + row) * S.yStride + x + W), row * L.yStride);
    for (let row = 0; row < H / 2; row++) {
      const so = ((y >> 1) + row) * S.uvStride + (x >> 1);
      frame.set(d.subarray(S.uOffset + so, S.uOffset + so + W / 2), L.uOffset + row * L.uvStride);
      frame.set(d.subarray(S.vOffset + so, S.vOffset + so + W / 2), L.vOffset + row * L.uvStride);
    }
    return frame;
  });
}

/** Decodes with `decode` (ending in appsink name=out), maps each frame, encodes to `out`. */
async function reencode(decode: string, out: string, W: number, H: number, maxFrames: number, map: (d: Uint8Array, S: I420Layout, n: number) => Uint8Array): Promise<number> {
  const enc = startEncoder(`appsrc name=in format=time ! videoconvert ! ${x264(W, H, VTEST_FPS)} ! filesink location=${quoteLocation(out)}`, { label: `encode ${out}` });
  const drained = (async () => {
    for await (const _ of enc.output) void _;
  })();
  const frameNs = 1e9 / VTEST_FPS;
  let S: I420Layout | undefined;
  let n = 0;
  try {
    await enc.setCaps(`video/x-raw,format=I420,width=${W},height=${H},framerate=${VTEST_FPS}/1`);
    for await (const r of readRecords(decode, { label: `decode for ${out}` })) {
      if (r.kind === 'caps') {
        const c = parseRawCaps(r.caps)!;
        S = i420Layout(c.width, c.height);
        continue;
      }
      if (!S) continue;
      await enc.writeFrame(Math.round(n * frameNs), Math.round(frameNs), map(r.data, S, n));
      if (++n >= maxFrames) break;
    }
    enc.end();
    await drained;
  } catch (e) {
    enc.abort('re-encoding failed');
    await drained.catch(() => undefined);
    throw e;
  }
  return n;
}
