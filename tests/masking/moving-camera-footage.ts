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
import type { Box } from '../../src/masking/geometry.js';

export const VTEST = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';

/** The first `n` frames of a video file (every `every`-th), decoded to I420 by GStreamer. */
export async function decodeFrames(file: string, n: number, every = 1): Promise<Picture[]> {
  let index = 0;
  let layout: I420Layout | undefined;
  const out: Picture[] = [];
  for await (const r of readRecords(`filesrc location=${quoteLocation(file)} ! decodebin ! videoconvert ! video/x-raw,format=I420 ! appsink name=out`, { label: `decode ${file}` })) {
    if (r.kind === 'caps') {
      const c = parseRawCaps(r.caps)!;
      layout = i420Layout(c.width, c.height);
    } else if (layout) {
      if (index++ % every !== 0) continue;
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

/** A face standing or walking in the scene (world pixels; size at zoom 1). */
export interface WorldFace {
  sprite: (size: number) => Promise<Picture>;
  x: number;
  y: number;
  /** World pixels per frame. */
  vx: number;
  vy: number;
  size: number;
  label: string;
}

/**
 * Encodes a clip of real faces in a real scene seen by a moving camera: per frame, the
 * camera pose (output -> world) renders the world picture, and each face is pasted where
 * the pose puts it, scaled by the zoom. Returns the exact face boxes of every frame.
 */
export async function composeMovingClip(opts: {
  out: string;
  width: number;
  height: number;
  fps: number;
  frames: number;
  world: Picture;
  faces: WorldFace[];
  poseAt: (i: number) => Similarity;
}): Promise<{ tNs: number; objects: (Box & { label: string })[] }[]> {
  const { encodeClip, paste } = await import('../../src/samples/compose.js');
  const frameNs = 1e9 / opts.fps;
  const sprites = new Map<string, Picture>();
  const truth: { tNs: number; objects: (Box & { label: string })[] }[] = [];
  await encodeClip(opts, opts.frames, async (i) => {
    const g = opts.poseAt(i);
    const frame = view(opts.world, g, opts.width, opts.height);
    const inv = invert(g);
    const zoom = 1 / Math.hypot(g.a, g.b);
    const objects: (Box & { label: string })[] = [];
    for (const f of opts.faces) {
      const wx = f.x + f.vx * i, wy = f.y + f.vy * i;
      const size = Math.round(f.size * zoom);
      const p = { x: inv.a * wx - inv.b * wy + inv.tx, y: inv.b * wx + inv.a * wy + inv.ty };
      const x = Math.round(p.x) & ~1, y = Math.round(p.y) & ~1;
      if (x < 0 || y < 0 || x + size > opts.width || y + size > opts.height) continue; // only faces wholly in view count
      const key = `${f.label}:${size}`;
      if (!sprites.has(key)) sprites.set(key, await f.sprite(size));
      paste(frame, sprites.get(key)!, x, y);
      objects.push({ x, y, w: size, h: size, label: f.label });
    }
    truth.push({ tNs: Math.round(i * frameNs), objects });
    return frame.data;
  });
  return truth;
}

/** Per-pixel median of pictures of one size: the empty scene behind people who keep moving. */
export function medianPicture(ps: Picture[]): Picture {
  const L = ps[0]!.layout;
  const out = Buffer.alloc(L.size);
  const v = new Uint8Array(ps.length);
  for (let i = 0; i < L.size; i++) {
    for (let k = 0; k < ps.length; k++) v[k] = ps[k]!.data[i]!;
    v.sort();
    out[i] = v[v.length >> 1]!;
  }
  return { layout: L, data: out };
}
