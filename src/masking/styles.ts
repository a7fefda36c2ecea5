/**
 * Mask styles applied in place to I420 frames. Mosaic is the default (what Korean
 * practice calls 모자이크): blocks sized so that a masked face is at most about six
 * blocks across, too coarse to recognise, whatever its size.
 */
import type { I420Layout } from '../media/frame.js';
import type { Box } from './geometry.js';

export type MaskStyle = 'mosaic' | 'blur' | 'solid';
export const MASK_STYLES: readonly MaskStyle[] = ['mosaic', 'blur', 'solid'];

/**
 * Block edge for a mosaic over a box. At most about six blocks across the box: a face
 * six blocks wide has no eyes, nose or mouth left to read or to match, and no
 * enhancement brings back detail averaged away. At least 8 px, so small faces lose
 * everything too, but never more than half the box: a 10 px head stays a patch of
 * a few blocks in its place, not a square bigger than the person.
 */
export function mosaicBlock(b: Box): number {
  const side = Math.max(b.w, b.h);
  return Math.max(2, Math.min(Math.max(8, Math.ceil(side / 6)), Math.ceil(side / 2)));
}

/** Fills each block of one plane with its mean. */
function mosaicPlane(d: Uint8Array, off: number, stride: number, x0: number, y0: number, w: number, h: number, block: number): void {
  for (let by = y0; by < y0 + h; by += block) {
    const bh = Math.min(block, y0 + h - by);
    for (let bx = x0; bx < x0 + w; bx += block) {
      const bw = Math.min(block, x0 + w - bx);
      let sum = 0;
      for (let y = by; y < by + bh; y++) {
        const row = off + y * stride;
        for (let x = bx; x < bx + bw; x++) sum += d[row + x]!;
      }
      const mean = Math.round(sum / (bw * bh));
      for (let y = by; y < by + bh; y++) d.fill(mean, off + y * stride + bx, off + y * stride + bx + bw);
    }
  }
}

/** Box blur along rows then columns, three times (close to a Gaussian). */
function blurPlane(d: Uint8Array, off: number, stride: number, x0: number, y0: number, w: number, h: number, radius: number): void {
  const r = Math.max(1, Math.round(radius));
  const line = new Float32Array(Math.max(w, h));
  for (let pass = 0; pass < 3; pass++) {
    for (let y = y0; y < y0 + h; y++) {
      const row = off + y * stride;
      for (let i = 0; i < w; i++) line[i] = d[row + x0 + i]!;
      for (let i = 0; i < w; i++) {
        let s = 0;
        let n = 0;
        for (let k = Math.max(0, i - r); k <= Math.min(w - 1, i + r); k++, n++) s += line[k]!;
        d[row + x0 + i] = Math.round(s / n);
      }
    }
    for (let x = x0; x < x0 + w; x++) {
      for (let i = 0; i < h; i++) line[i] = d[off + (y0 + i) * stride + x]!;
      for (let i = 0; i < h; i++) {
        let s = 0;
        let n = 0;
        for (let k = Math.max(0, i - r); k <= Math.min(h - 1, i + r); k++, n++) s += line[k]!;
        d[off + (y0 + i) * stride + x] = Math.round(s / n);
      }
    }
  }
}

function fillPlane(d: Uint8Array, off: number, stride: number, x0: number, y0: number, w: number, h: number, v: number): void {
  for (let y = y0; y < y0 + h; y++) d.fill(v, off + y * stride + x0, off + y * stride + x0 + w);
}

/** Masks one clipped, whole-pixel box (even-aligned so chroma is covered too). */
export function applyMask(d: Uint8Array, L: I420Layout, box: Box, style: MaskStyle): void {
  // Align to even pixels outward so the chroma samples of every masked pixel change too.
  const x = box.x & ~1;
  const y = box.y & ~1;
  const w = Math.min(L.width - x, ((box.x + box.w + 1) & ~1) - x);
  const h = Math.min(L.height - y, ((box.y + box.h + 1) & ~1) - y);
  if (w <= 0 || h <= 0) return;
  const cx = x >> 1;
  const cy = y >> 1;
  const cw = Math.min(L.uvWidth - cx, (w + 1) >> 1);
  const ch = Math.min(L.uvHeight - cy, (h + 1) >> 1);
  if (style === 'mosaic') {
    const block = mosaicBlock(box) & ~1;
    mosaicPlane(d, 0, L.yStride, x, y, w, h, block);
    mosaicPlane(d, L.uOffset, L.uvStride, cx, cy, cw, ch, block >> 1);
    mosaicPlane(d, L.vOffset, L.uvStride, cx, cy, cw, ch, block >> 1);
  } else if (style === 'blur') {
    const radius = Math.max(4, Math.max(w, h) / 4);
    blurPlane(d, 0, L.yStride, x, y, w, h, radius);
    blurPlane(d, L.uOffset, L.uvStride, cx, cy, cw, ch, radius / 2);
    blurPlane(d, L.vOffset, L.uvStride, cx, cy, cw, ch, radius / 2);
  } else {
    fillPlane(d, 0, L.yStride, x, y, w, h, 16);
    fillPlane(d, L.uOffset, L.uvStride, cx, cy, cw, ch, 128);
    fillPlane(d, L.vOffset, L.uvStride, cx, cy, cw, ch, 128);
  }
}
