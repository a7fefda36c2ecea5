/** One small picture per track, for the reviewer: the crop of its best detection. */
import type { Frame } from '../media/frame.js';
import type { Box } from './geometry.js';
import { pad, clip } from './geometry.js';
import { encodePng } from '../util/png.js';

export interface Thumbnail {
  width: number;
  height: number;
  /** RGB, 3 bytes a pixel. */
  rgb: Uint8Array;
  score: number;
  tNs: number;
}

const SIZE = 96;

export class Thumbnails {
  private readonly best = new Map<number, Thumbnail>();

  offer(trackId: number, box: Box, score: number, frame: Frame): void {
    const cur = this.best.get(trackId);
    if (cur && cur.score >= score) return;
    const L = frame.layout;
    const r = clip(pad(box, 0.2), L.width, L.height);
    if (!r) return;
    const s = Math.min(1, SIZE / Math.max(r.w, r.h));
    const w = Math.max(1, Math.round(r.w * s));
    const h = Math.max(1, Math.round(r.h * s));
    const rgb = new Uint8Array(w * h * 3);
    const d = frame.data;
    for (let y = 0; y < h; y++) {
      const sy = Math.min(L.height - 1, Math.floor(r.y + y / s));
      for (let x = 0; x < w; x++) {
        const sx = Math.min(L.width - 1, Math.floor(r.x + x / s));
        const Y = 1.164 * (d[sy * L.yStride + sx]! - 16);
        const U = d[L.uOffset + (sy >> 1) * L.uvStride + (sx >> 1)]! - 128;
        const V = d[L.vOffset + (sy >> 1) * L.uvStride + (sx >> 1)]! - 128;
        const o = (y * w + x) * 3;
        rgb[o] = Math.max(0, Math.min(255, Y + 1.596 * V));
        rgb[o + 1] = Math.max(0, Math.min(255, Y - 0.392 * U - 0.813 * V));
        rgb[o + 2] = Math.max(0, Math.min(255, Y + 2.017 * U));
      }
    }
    this.best.set(trackId, { width: w, height: h, rgb, score, tNs: frame.tNs });
  }

  all(): Map<number, Thumbnail> {
    return this.best;
  }
}

export function thumbnailPng(t: Thumbnail): Buffer {
  return encodePng(t.width, t.height, t.rgb);
}
