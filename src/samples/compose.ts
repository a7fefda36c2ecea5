/**
 * Makes test and demo footage from real photos: face crops (from registry packages)
 * move over a scene and the result is encoded by GStreamer into a recording segment.
 * Because we place every face, the ground-truth box of every frame is known exactly.
 */
import { readRecords, startEncoder } from '../media/gst-process.js';
import { i420Layout, parseRawCaps, type I420Layout } from '../media/frame.js';
import { quoteLocation } from '../media/profiles.js';
import type { Box } from '../masking/geometry.js';
import { VeilportError } from '../util/errors.js';

export interface Picture {
  layout: I420Layout;
  data: Buffer;
}

/** Decodes a JPEG or PNG with GStreamer into I420. */
export async function loadPicture(file: string): Promise<Picture> {
  let layout: I420Layout | undefined;
  const dec = file.toLowerCase().endsWith('.png') ? 'pngdec' : 'jpegdec';
  for await (const r of readRecords(`filesrc location=${quoteLocation(file)} ! ${dec} ! videoconvert ! video/x-raw,format=I420 ! appsink name=out`, { label: `load ${file}` })) {
    if (r.kind === 'caps') {
      const c = parseRawCaps(r.caps)!;
      layout = i420Layout(c.width, c.height);
    } else if (layout) return { layout, data: r.data };
  }
  throw new VeilportError('MEDIA_UNREADABLE', `${file}: no picture decoded`);
}

/** Crops `box` of a picture and scales it to w x h (bilinear on all planes). */
export function cropScale(p: Picture, box: Box, w: number, h: number): Picture {
  const L = i420Layout(w, h);
  const out = Buffer.alloc(L.size);
  const plane = (srcOff: number, srcStride: number, srcW: number, srcH: number, dstOff: number, dstStride: number, dw: number, dh: number, div: number) => {
    for (let y = 0; y < dh; y++) {
      const sy = Math.min(srcH - 1, Math.max(0, (box.y / div) + ((y + 0.5) * (box.h / div)) / dh - 0.5));
      const y0 = Math.floor(sy);
      const y1 = Math.min(srcH - 1, y0 + 1);
      const fy = sy - y0;
      for (let x = 0; x < dw; x++) {
        const sx = Math.min(srcW - 1, Math.max(0, (box.x / div) + ((x + 0.5) * (box.w / div)) / dw - 0.5));
        const x0 = Math.floor(sx);
        const x1 = Math.min(srcW - 1, x0 + 1);
        const fx = sx - x0;
        const d = p.data;
        const a = d[srcOff + y0 * srcStride + x0]! * (1 - fx) + d[srcOff + y0 * srcStride + x1]! * fx;
        const b = d[srcOff + y1 * srcStride + x0]! * (1 - fx) + d[srcOff + y1 * srcStride + x1]! * fx;
        out[dstOff + y * dstStride + x] = Math.round(a * (1 - fy) + b * fy);
      }
    }
  };
  const S = p.layout;
  plane(0, S.yStride, S.width, S.height, 0, L.yStride, w, h, 1);
  plane(S.uOffset, S.uvStride, S.uvWidth, S.uvHeight, L.uOffset, L.uvStride, L.uvWidth, L.uvHeight, 2);
  plane(S.vOffset, S.uvStride, S.uvWidth, S.uvHeight, L.vOffset, L.uvStride, L.uvWidth, L.uvHeight, 2);
  return { layout: L, data: out };
}

/** Pastes a sprite at (x, y) (even-aligned so chroma lines up), clipped to the frame. */
export function paste(dst: Picture, sprite: Picture, x: number, y: number): void {
  x &= ~1;
  y &= ~1;
  const D = dst.layout;
  const S = sprite.layout;
  for (let sy = 0; sy < S.height; sy++) {
    const dy = y + sy;
    if (dy < 0 || dy >= D.height) continue;
    for (let sx = 0; sx < S.width; sx++) {
      const dx = x + sx;
      if (dx >= 0 && dx < D.width) dst.data[dy * D.yStride + dx] = sprite.data[sy * S.yStride + sx]!;
    }
  }
  for (let sy = 0; sy < S.uvHeight; sy++) {
    const dy = (y >> 1) + sy;
    if (dy < 0 || dy >= D.uvHeight) continue;
    for (let sx = 0; sx < S.uvWidth; sx++) {
      const dx = (x >> 1) + sx;
      if (dx < 0 || dx >= D.uvWidth) continue;
      dst.data[D.uOffset + dy * D.uvStride + dx] = sprite.data[S.uOffset + sy * S.uvStride + sx]!;
      dst.data[D.vOffset + dy * D.uvStride + dx] = sprite.data[S.vOffset + sy * S.uvStride + sx]!;
    }
  }
}

/** A quiet scene: a soft gradient with mild noise, like an empty corridor at night. */
export function scene(width: number, height: number, seed = 1): Picture {
  const L = i420Layout(width, height);
  const data = Buffer.alloc(L.size);
  let s = seed >>> 0;
  const rnd = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data[y * L.yStride + x] = Math.round(60 + 80 * (x / width) * (1 - 0.4 * (y / height)) + rnd() * 6);
  }
  data.fill(124, L.uOffset, L.vOffset);
  data.fill(132, L.vOffset, L.size);
  return { layout: L, data };
}

export interface MovingObject {
  sprite: Picture;
  /** Top-left at the start and end of the clip (linear motion). */
  from: { x: number; y: number };
  to: { x: number; y: number };
  /** Visible only in [startS, endS) seconds. */
  startS?: number;
  endS?: number;
  label: string;
}

export interface GroundTruthFrame {
  tNs: number;
  objects: (Box & { label: string })[];
}

export interface ClipFormat {
  out: string;
  width: number;
  height: number;
  fps: number;
  container?: 'mp4' | 'mkv' | 'ts';
  /** x264 speed preset; "ultrafast" for tests. */
  preset?: string;
}

/**
 * Encodes `frames` I420 pictures, the i-th made by `frameAt(i)`, into an H.264 file laid
 * out as a recorder writes one (a keyframe every 2 s). A failure aborts the encoder.
 */
export async function encodeClip(format: ClipFormat, frames: number, frameAt: (i: number) => Buffer | Promise<Buffer>): Promise<void> {
  const { out, width, height, fps } = format;
  const mux = { mp4: 'mp4mux', mkv: 'matroskamux', ts: 'mpegtsmux' }[format.container ?? 'mp4'];
  const enc = startEncoder(
    `appsrc name=in format=time ! videoconvert ! x264enc speed-preset=${format.preset ?? 'ultrafast'} key-int-max=${Math.round(fps * 2)} bitrate=${Math.round((width * height * fps * 0.1) / 1000)} ! h264parse ! ${mux} ! filesink location=${quoteLocation(out)}`,
    { label: `compose ${out}` },
  );
  const drained = (async () => {
    for await (const _ of enc.output) void _;
  })();
  const frameNs = 1e9 / fps;
  try {
    await enc.setCaps(`video/x-raw,format=I420,width=${width},height=${height},framerate=${fps}/1`);
    for (let i = 0; i < frames; i++) await enc.writeFrame(Math.round(i * frameNs), Math.round(frameNs), await frameAt(i));
    enc.end();
    await drained;
  } catch (e) {
    enc.abort('composition failed');
    await drained.catch(() => undefined);
    throw e;
  }
}

/** Encodes a clip of moving objects over a scene into an H.264 MP4/MKV/TS file. */
export async function composeClip(opts: ClipFormat & { seconds: number; background: Picture; objects: MovingObject[] }): Promise<GroundTruthFrame[]> {
  const n = Math.round(opts.seconds * opts.fps);
  const truth: GroundTruthFrame[] = [];
  const frameNs = 1e9 / opts.fps;
  await encodeClip(opts, n, (i) => {
    const t = i / opts.fps;
    const frame: Picture = { layout: opts.background.layout, data: Buffer.from(opts.background.data) };
    const objects: GroundTruthFrame['objects'] = [];
    for (const o of opts.objects) {
      if (t < (o.startS ?? 0) || t >= (o.endS ?? Infinity)) continue;
      const k = n > 1 ? i / (n - 1) : 0;
      const x = Math.round(o.from.x + (o.to.x - o.from.x) * k) & ~1;
      const y = Math.round(o.from.y + (o.to.y - o.from.y) * k) & ~1;
      paste(frame, o.sprite, x, y);
      objects.push({ x, y, w: o.sprite.layout.width, h: o.sprite.layout.height, label: o.label });
    }
    truth.push({ tNs: Math.round(i * frameNs), objects });
    return frame.data;
  });
  return truth;
}
