/**
 * Colour signature of a box, for re-identifying a person after the tracker lost them
 * (behind a lamp post, another person): a 4x4x4 histogram of luma and chroma over the
 * middle of the box, where the clothes are and the background is least.
 */
import type { Frame } from '../media/frame.js';
import type { Box } from './geometry.js';
import type { Appearance } from './tracker.js';

const BINS = 4;

export function describe(frame: Frame, b: Box): Appearance {
  const L = frame.layout;
  const d = frame.data;
  const hist = new Float32Array(BINS * BINS * BINS);
  // The middle 60 % across and 20-90 % down: the torso and legs, not the edges.
  const x0 = Math.max(0, Math.floor(b.x + b.w * 0.2));
  const x1 = Math.min(L.width, Math.ceil(b.x + b.w * 0.8));
  const y0 = Math.max(0, Math.floor(b.y + b.h * 0.2));
  const y1 = Math.min(L.height, Math.ceil(b.y + b.h * 0.9));
  // At most about 24x24 samples, whatever the size: cheap for a 300 px person.
  const step = Math.max(1, Math.floor(Math.max(x1 - x0, y1 - y0) / 24));
  let n = 0;
  for (let y = y0; y < y1; y += step) {
    for (let x = x0; x < x1; x += step) {
      const Y = d[y * L.yStride + x]! >> 6;
      const U = d[L.uOffset + (y >> 1) * L.uvStride + (x >> 1)]! >> 6;
      const V = d[L.vOffset + (y >> 1) * L.uvStride + (x >> 1)]! >> 6;
      const k = (Y * BINS + U) * BINS + V;
      hist[k] = hist[k]! + 1;
      n++;
    }
  }
  if (n > 0) for (let i = 0; i < hist.length; i++) hist[i] = hist[i]! / n;
  return hist;
}
