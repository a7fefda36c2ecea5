/**
 * Embedding: adds the package's tile pattern to the luma of every rendered frame (after
 * masking), invisibly.
 *
 * - The chips are spread smoothly: the pattern is the bilinear interpolation of the
 *   chip grid (chip pitch c = frame height / 128, at least 4 px, so 8 px at 1080p), a
 *   low/mid-frequency signal that survives compression and downscaling, without block
 *   edges. It is the same in every frame (no flicker; encoders keep it in static scenes;
 *   a detector averages it up over time).
 * - Its strength follows the picture (perceptual masking): stronger where the image is
 *   busy, weaker in flat areas, from local gradient activity in cells of 2c x 2c, smoothed.
 * - Each frame stays within a distortion budget (MSE <= 3.6, PSNR >= 42.6 dB before the
 *   encoder, rounding included) by scaling the whole frame's pattern down when the
 *   picture would take more.
 * - Values are rounded with a fixed dither so sub-level amplitudes survive on average.
 * - The strength map follows the picture every REFRESH_FRAMES frames; in between each frame
 *   only gets the precomputed integer change added (a few ms per 1080p frame).
 */
import type { Frame } from '../media/frame.js';
import { CHIPS, TILE, tileFor } from './payload.js';

/** Chip pitch in pixels for a frame of this height. */
export function chipPitch(height: number): number {
  return Math.max(4, Math.round(height / 128));
}

/** Frames between two updates of the content-adaptive strength (cost: one full pass per update). */
export const REFRESH_FRAMES = 12;

export const STRENGTH = {
  /** Amplitude (luma levels, peak of one chip) in flat areas and in busy ones. */
  min: 1.6,
  max: 4.5,
  /** Extra amplitude per unit of mean absolute gradient. */
  perActivity: 0.45,
  /**
   * Largest mean squared change per frame (luma levels squared), rounding included: the
   * pattern gets 3.6 minus the 1/6 that dithered rounding adds (PSNR >= 42.6 dB per frame).
   */
  mseBudget: 3.6,
};

/** Pattern P(x, y) over a whole frame: the tile of chips interpolated bilinearly, tiled from the top-left corner. */
export function framePattern(tile: Int8Array, width: number, height: number, pitch = chipPitch(height)): Float32Array {
  const p = new Float32Array(width * height);
  const col0 = new Int32Array(width);
  const colF = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const u = (x + 0.5) / pitch - 0.5;
    const j = Math.floor(u);
    col0[x] = ((j % TILE) + TILE) % TILE;
    colF[x] = u - j;
  }
  for (let y = 0; y < height; y++) {
    const v = (y + 0.5) / pitch - 0.5;
    const i = Math.floor(v);
    const fy = v - i;
    const r0 = (((i % TILE) + TILE) % TILE) * TILE;
    const r1 = (((i + 1) % TILE + TILE) % TILE) * TILE;
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const c0 = col0[x]!;
      const c1 = c0 + 1 === TILE ? 0 : c0 + 1;
      const fx = colF[x]!;
      const top = tile[r0 + c0]! * (1 - fx) + tile[r0 + c1]! * fx;
      const bottom = tile[r1 + c0]! * (1 - fx) + tile[r1 + c1]! * fx;
      p[row + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return p;
}

/** Adds the precomputed change to one row of luma; the clamped view keeps it within 0..255. */
function addRow(luma: Uint8ClampedArray, row: number, delta: Int8Array, drow: number, width: number): void {
  for (let x = 0; x < width; x++) luma[row + x] = luma[row + x]! + delta[drow + x]!;
}

interface SizeState {
  width: number;
  height: number;
  pattern: Float32Array;
  cell: number;
  cellsX: number;
  cellsY: number;
  /** Sum of P^2 over each cell. */
  cellEnergy: Float64Array;
  dither: Float32Array;
}

function sizeState(tile: Int8Array, width: number, height: number): SizeState {
  const pitch = chipPitch(height);
  const pattern = framePattern(tile, width, height, pitch);
  const cell = 2 * pitch;
  const cellsX = Math.ceil(width / cell);
  const cellsY = Math.ceil(height / cell);
  const cellEnergy = new Float64Array(cellsX * cellsY);
  for (let y = 0; y < height; y++) {
    const cy = Math.floor(y / cell) * cellsX;
    for (let x = 0; x < width; x++) {
      const v = pattern[y * width + x]!;
      const k = cy + Math.floor(x / cell);
      cellEnergy[k] = cellEnergy[k]! + v * v;
    }
  }
  // Fixed dither in [-0.5, 0.5): round(v + d) has mean v, so amplitudes below one level are kept on average.
  const dither = new Float32Array(width * height);
  let s = 0x9e3779b9;
  for (let i = 0; i < dither.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    dither[i] = (s >>> 0) / 2 ** 32 - 0.5;
  }
  return { width, height, pattern, cell, cellsX, cellsY, cellEnergy, dither };
}

/** Per-cell amplitude from local activity (mean absolute horizontal + vertical luma difference), smoothed 3x3. */
function gainMap(s: SizeState, y: Uint8Array | Buffer, stride: number): Float64Array {
  const { cell, cellsX, cellsY, width, height } = s;
  const act = new Float64Array(cellsX * cellsY);
  for (let cy = 0; cy < cellsY; cy++) {
    const y0 = cy * cell;
    const y1 = Math.min(height - 1, y0 + cell);
    for (let cx = 0; cx < cellsX; cx++) {
      const x0 = cx * cell;
      const x1 = Math.min(width - 1, x0 + cell);
      let sum = 0;
      let n = 0;
      for (let yy = y0; yy < y1; yy += 2) {
        const row = yy * stride;
        for (let xx = x0; xx < x1; xx += 2) {
          const v = y[row + xx]!;
          sum += Math.abs(y[row + xx + 1]! - v) + Math.abs(y[row + stride + xx]! - v);
          n++;
        }
      }
      act[cy * cellsX + cx] = n ? sum / n : 0;
    }
  }
  const g = new Float64Array(cellsX * cellsY);
  for (let cy = 0; cy < cellsY; cy++) {
    for (let cx = 0; cx < cellsX; cx++) {
      let sum = 0;
      let n = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const yy = cy + dy;
          const xx = cx + dx;
          if (yy < 0 || yy >= cellsY || xx < 0 || xx >= cellsX) continue;
          sum += act[yy * cellsX + xx]!;
          n++;
        }
      }
      const a = STRENGTH.min + STRENGTH.perActivity * (sum / n);
      g[cy * cellsX + cx] = Math.min(STRENGTH.max, a);
    }
  }
  return g;
}

export interface EmbedStats {
  frames: number;
  /** Mean squared change of the luma written, over all frames (before clamping at 0 and 255, so an upper bound). */
  mse: number;
  /** Frames whose pattern was scaled down to stay within the budget. */
  framesScaled: number;
}

export interface Embedder {
  /** Watermarks the frame's luma in place. */
  apply(frame: Frame): void;
  stats(): EmbedStats;
}

/** An embedder for one package id; frames of any size (the pattern is built per size). */
export function createEmbedder(packageId: string, opts: { refreshFrames?: number } = {}): Embedder {
  const tile = tileFor(packageId);
  if (tile.length !== CHIPS) throw new Error('bad tile');
  const refresh = Math.max(1, opts.refreshFrames ?? REFRESH_FRAMES);
  let state: SizeState | null = null;
  let delta: Int8Array | null = null;
  let sinceRefresh = 0;
  let frames = 0;
  let sqSum = 0;
  let deltaMse = 0;
  let framesScaled = 0;
  let scaledNow = false;
  return {
    apply(frame) {
      const L = frame.layout;
      if (!state || state.width !== L.width || state.height !== L.height) {
        state = sizeState(tile, L.width, L.height);
        delta = null;
      }
      const s = state;
      const data = frame.data;
      if (!delta || sinceRefresh >= refresh) {
        const d = computeDelta(s, data, L.yStride);
        delta = d.delta;
        deltaMse = d.mse;
        scaledNow = d.scaled;
        sinceRefresh = 0;
      }
      sinceRefresh++;
      if (scaledNow) framesScaled++;
      const { width, height } = s;
      const luma = new Uint8ClampedArray(data.buffer, data.byteOffset, L.yStride * height);
      for (let y = 0; y < height; y++) addRow(luma, y * L.yStride, delta, y * width, width);
      frames++;
      sqSum += deltaMse;
    },
    stats: () => ({ frames, mse: frames ? sqSum / frames : 0, framesScaled }),
  };
}

/**
 * The integer change for every pixel, round(gain * P + dither), from the picture's
 * activity: since luma is an integer, round(y + w + d) = y + round(w + d), so the
 * rounding is done once here and each frame only adds (and clamps).
 */
function computeDelta(s: SizeState, data: Uint8Array, stride: number): { delta: Int8Array; mse: number; scaled: boolean } {
  const g = gainMap(s, data, stride);
  // Whole-frame budget: mean of (g P)^2 plus the rounding's 1/6 <= budget.
  let energy = 0;
  for (let i = 0; i < g.length; i++) energy += g[i]! * g[i]! * s.cellEnergy[i]!;
  const mse = energy / (s.width * s.height);
  const budget = STRENGTH.mseBudget - 1 / 6;
  const scale = mse > budget ? Math.sqrt(budget / mse) : 1;
  const { cell, cellsX, cellsY, pattern, dither, width, height } = s;
  const delta = new Int8Array(width * height);
  const rowGain = new Float64Array(cellsX);
  const gRow = new Float32Array(width);
  const half = cell / 2;
  let sq = 0;
  for (let y = 0; y < height; y++) {
    if ((y & 3) === 0) {
      // Gain for this band of 4 rows: bilinear between cell centres (it changes slowly).
      const v = Math.min(Math.max((y + 2) / cell - 0.5, 0), cellsY - 1);
      const cy0 = Math.min(Math.floor(v), Math.max(0, cellsY - 2));
      const cy1 = Math.min(cy0 + 1, cellsY - 1);
      const fy = v - cy0;
      for (let cx = 0; cx < cellsX; cx++) rowGain[cx] = scale * (g[cy0 * cellsX + cx]! * (1 - fy) + g[cy1 * cellsX + cx]! * fy);
      for (let x = 0; x < width; x++) {
        const u = Math.min(Math.max((x + 0.5 - half) / cell, 0), cellsX - 1);
        const c0 = Math.floor(u);
        const c1 = c0 + 1 < cellsX ? c0 + 1 : c0;
        gRow[x] = rowGain[c0]! + (rowGain[c1]! - rowGain[c0]!) * (u - c0);
      }
    }
    const prow = y * width;
    // Int8Array stores truncate toward zero: round to nearest by flooring a shifted positive value.
    for (let x = 0; x < width; x++) {
      const v = (((gRow[x]! * pattern[prow + x]! + dither[prow + x]! + 128.5) | 0) - 128);
      delta[prow + x] = v;
      sq += v * v;
    }
  }
  return { delta, mse: sq / (width * height), scaled: scale < 1 };
}
