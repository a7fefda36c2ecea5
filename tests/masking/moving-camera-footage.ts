/**
 * Moving-camera footage for tests, made from real pictures: a source picture (a real
 * photo, or a frame of real footage) is seen through a virtual camera whose pose is a
 * known similarity per frame, so the true camera motion between any two frames is known.
 */
import { readRecords } from '../../src/media/gst-process.js';
import { i420Layout, parseRawCaps, type Frame, type I420Layout } from '../../src/media/frame.js';
import { quoteLocation } from '../../src/media/profiles.js';
import { compose, invert, type Similarity } from '../../src/masking/camera-motion.js';
import type { Picture } from '../../src/samples/compose.js';

export const VTEST = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';

/** The first `n` frames of a video file, decoded to I420 by GStreamer. */
export async function decodeFrames(file: string, n: number): Promise<Picture[]> {
  let layout: I420Layout | undefined;
  const out: Picture[] = [];
  for await (const r of readRecords(`filesrc location=${quoteLocation(file)} ! decodebin ! videoconvert ! video/x-raw,format=I420 ! appsink name=out`, { label: `decode ${file}` })) {
    if (r.kind === 'caps') {
      const c = parseRawCaps(r.caps)!;
      layout = i420Layout(c.width, c.height);
    } else if (layout) {
      out.push({ layout, data: Buffer.from(r.data) });
      if (out.length >= n) break;
    }
  }
  return out;
}

/**
 * Pose of the camera: maps a point of the output frame to the source picture. A pan by
 * (px, py), a zoom by z about the output centre, both relative to `base`.
 */
export function pose(base: Similarity, W: number, H: number, px: number, py: number, z = 1): Similarity {
  // out -> source: p = base(c + (x - c) / z + (px, py))
  const cx = W / 2, cy = H / 2;
  const local: Similarity = { a: 1 / z, b: 0, tx: cx - cx / z + px, ty: cy - cy / z + py };
  return compose(base, local);
}

/** True camera motion from frame i (pose gi) to frame j (pose gj), output pixels. */
export const trueMotion = (gi: Similarity, gj: Similarity): Similarity => compose(invert(gj), gi);

/**
 * Renders the output frame for a pose (bilinear, all planes; outside the source the
 * border is repeated), with optional deterministic sensor noise on the luma.
 */
export function view(src: Picture, g: Similarity, W: number, H: number, noise = 0, seed = 1): Picture {
  const L = i420Layout(W, H);
  const out = Buffer.alloc(L.size);
  const S = src.layout;
  let s = seed >>> 0;
  const rnd = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) - 0.5;
  const plane = (sOff: number, sStride: number, sw: number, sh: number, dOff: number, dStride: number, dw: number, dh: number, div: number, n: number) => {
    for (let y = 0; y < dh; y++) {
      for (let x = 0; x < dw; x++) {
        const X = (x + 0.5) * div, Y = (y + 0.5) * div;
        const u = (g.a * X - g.b * Y + g.tx) / div - 0.5;
        const v = (g.b * X + g.a * Y + g.ty) / div - 0.5;
        const cu = Math.min(sw - 1.001, Math.max(0, u)), cv = Math.min(sh - 1.001, Math.max(0, v));
        const x0 = Math.floor(cu), y0 = Math.floor(cv), fx = cu - x0, fy = cv - y0;
        const d = src.data;
        const i = sOff + y0 * sStride + x0;
        const a = d[i]! * (1 - fx) + d[i + 1]! * fx;
        const b = d[i + sStride]! * (1 - fx) + d[i + sStride + 1]! * fx;
        out[dOff + y * dStride + x] = Math.max(0, Math.min(255, Math.round(a * (1 - fy) + b * fy + (n ? rnd() * 2 * n : 0))));
      }
    }
  };
  plane(0, S.yStride, S.width, S.height, 0, L.yStride, W, H, 1, noise);
  plane(S.uOffset, S.uvStride, S.uvWidth, S.uvHeight, L.uOffset, L.uvStride, L.uvWidth, L.uvHeight, 2, 0);
  plane(S.vOffset, S.uvStride, S.uvWidth, S.uvHeight, L.vOffset, L.uvStride, L.uvWidth, L.uvHeight, 2, 0);
  return { layout: L, data: out };
}

export const asFrame = (p: Picture, index: number, fps: number): Frame => ({
  tNs: Math.round((index * 1e9) / fps),
  durationNs: Math.round(1e9 / fps),
  index,
  layout: p.layout,
  data: p.data,
});

/** Largest distance between where two motions put the frame's corners, pixels. */
export function cornerError(m: Similarity, n: Similarity, W: number, H: number): number {
  let worst = 0;
  for (const [x, y] of [[0, 0], [W, 0], [0, H], [W, H]] as const) {
    const p = { x: m.a * x - m.b * y + m.tx, y: m.b * x + m.a * y + m.ty };
    const q = { x: n.a * x - n.b * y + n.tx, y: n.b * x + n.a * y + n.ty };
    worst = Math.max(worst, Math.hypot(p.x - q.x, p.y - q.y));
  }
  return worst;
}
