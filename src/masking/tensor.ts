/**
 * Turns a region of an I420 frame into a model input tensor: scaled with bilinear
 * luma, converted to RGB (BT.601, limited range as decoders output it) and normalised
 * the way the model's manifest entry says.
 */
import type { Frame } from '../media/frame.js';
import type { ModelInput } from './models.js';
import type { Box } from './geometry.js';

/** How tensor pixels map back to frame pixels: frame = offset + tensor / scale. */
export interface TensorMapping {
  scale: number;
  offsetX: number;
  offsetY: number;
}

const clamp255 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);

/**
 * Samples `region` of the frame into `out` (length width*height*3), keeping the aspect
 * ratio: the region is scaled uniformly to fit and the rest is padded with mid-grey.
 */
export function regionToTensor(frame: Frame, region: Box, input: ModelInput, out: Float32Array): TensorMapping {
  const { width: tw, height: th } = input;
  const L = frame.layout;
  const d = frame.data;
  const s = Math.min(tw / region.w, th / region.h);
  const usedW = Math.min(tw, Math.round(region.w * s));
  const usedH = Math.min(th, Math.round(region.h * s));
  const nchw = input.layout === 'NCHW';
  const bgr = input.channels === 'BGR';
  const plane = tw * th;
  // Per-channel affine normalisation: value = v255 * mul[c] + add[c].
  const mul = [0, 0, 0];
  const add = [0, 0, 0];
  for (let c = 0; c < 3; c++) {
    if (input.scale) {
      mul[c] = (input.scale[1] - input.scale[0]) / 255;
      add[c] = input.scale[0];
    } else {
      mul[c] = 1 / (255 * input.std![c]!);
      add[c] = -input.mean![c]! / input.std![c]!;
    }
  }
  const grey = [127.5 * mul[0]! + add[0]!, 127.5 * mul[1]! + add[1]!, 127.5 * mul[2]! + add[2]!];
  const maxX = L.width - 1;
  const maxY = L.height - 1;
  for (let ty = 0; ty < th; ty++) {
    const sy = region.y + (ty + 0.5) / s - 0.5;
    const y0 = sy < 0 ? 0 : sy > maxY ? maxY : Math.floor(sy);
    const y1 = y0 < maxY ? y0 + 1 : y0;
    const fy = sy - y0 < 0 ? 0 : sy - y0 > 1 ? 1 : sy - y0;
    const row0 = y0 * L.yStride;
    const row1 = y1 * L.yStride;
    const uvRow = (y0 >> 1) * L.uvStride;
    for (let tx = 0; tx < tw; tx++) {
      const o = ty * tw + tx;
      let r: number, g: number, b: number;
      if (tx >= usedW || ty >= usedH) {
        r = grey[0]!;
        g = grey[1]!;
        b = grey[2]!;
      } else {
        const sx = region.x + (tx + 0.5) / s - 0.5;
        const x0 = sx < 0 ? 0 : sx > maxX ? maxX : Math.floor(sx);
        const x1 = x0 < maxX ? x0 + 1 : x0;
        const fx = sx - x0 < 0 ? 0 : sx - x0 > 1 ? 1 : sx - x0;
        const top = d[row0 + x0]! + (d[row0 + x1]! - d[row0 + x0]!) * fx;
        const bot = d[row1 + x0]! + (d[row1 + x1]! - d[row1 + x0]!) * fx;
        const Y = 1.164 * (top + (bot - top) * fy - 16);
        const U = d[L.uOffset + uvRow + (x0 >> 1)]! - 128;
        const V = d[L.vOffset + uvRow + (x0 >> 1)]! - 128;
        const R = clamp255(Y + 1.596 * V);
        const G = clamp255(Y - 0.392 * U - 0.813 * V);
        const B = clamp255(Y + 2.017 * U);
        const c0 = bgr ? B : R;
        const c2 = bgr ? R : B;
        r = c0 * mul[0]! + add[0]!;
        g = G * mul[1]! + add[1]!;
        b = c2 * mul[2]! + add[2]!;
      }
      if (nchw) {
        out[o] = r;
        out[plane + o] = g;
        out[2 * plane + o] = b;
      } else {
        out[o * 3] = r;
        out[o * 3 + 1] = g;
        out[o * 3 + 2] = b;
      }
    }
  }
  return { scale: s, offsetX: region.x, offsetY: region.y };
}
