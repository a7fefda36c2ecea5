/**
 * DB (differentiable binarisation) text detector decoder, as in PaddleOCR's PP-OCR det
 * models: one probability map at input resolution; connected regions above a threshold
 * are text. Licence plates are text, so this finds plates (and other text, which is
 * masked too: over-masking a shop sign is the safe side).
 */
import ort from 'onnxruntime-node';
import type { Frame } from '../../media/frame.js';
import { nms, pad } from '../geometry.js';
import type { LoadedModel } from '../models.js';
import { regionToTensor } from '../tensor.js';
import { components } from '../components.js';
import { tileAround, tileGrid, type Detection, type Detector, type Tile } from './detector.js';
import type { Box } from '../geometry.js';

/** Pixel probability that counts as text (PaddleOCR's det_db_thresh). */
const PIXEL_THRESHOLD = 0.3;

export class DbTextDetector implements Detector {
  readonly target = 'plate' as const;
  // Plates ride on vehicles, large and in view for seconds; half the scans suffice, and
  // the tracker holds the mask between them.
  readonly scanEvery = 2;
  private readonly buffers = new Map<number, Float32Array>();

  constructor(
    readonly model: LoadedModel,
    /** Smallest text height, in source pixels, that must be found. */
    private readonly minTextPx = 12,
  ) {}

  /** Scale at which the smallest text we promise reaches the model's floor. */
  private scale(width: number, height: number): number {
    const { input, minObjectPx } = this.model.entry;
    return Math.min(1, Math.max(minObjectPx / this.minTextPx, Math.min(input.width / width, input.height / height)));
  }

  tiles(width: number, height: number): Tile[] {
    const { input } = this.model.entry;
    const s = this.scale(width, height);
    return tileGrid(width, height, Math.round(input.width / s), Math.round(input.height / s), Math.round(64 / s), 0);
  }

  roiTile(b: Box, width: number, height: number): Tile {
    const s = this.scale(width, height);
    // DB models take any size in steps of 32: a small input around a car is cheap.
    return tileAround(b, Math.round(256 / s), Math.round(128 / s), width, height);
  }

  /** A DB model's cost grows with its input's pixels. */
  tileCost(tile: Tile, width: number, height: number): number {
    const { w, h } = this.inputFor(tile, width, height);
    return w * h;
  }

  /** The model input size for a tile: its scaled size in steps of 32, at most the manifest's. */
  private inputFor(tile: Tile, frameW: number, frameH: number): { w: number; h: number } {
    const s = this.scale(frameW, frameH);
    const { input } = this.model.entry;
    const r32 = (n: number, max: number) => Math.max(32, Math.min(max, Math.ceil((n * s) / 32) * 32));
    return { w: r32(tile.w, input.width), h: r32(tile.h, input.height) };
  }

  async detect(frame: Frame, tiles: Tile[]): Promise<Detection[]> {
    const e = this.model.entry;
    const session = this.model.session;
    const found: Detection[] = [];
    for (const tile of tiles) {
      const { w: W, h: H } = this.inputFor(tile, frame.layout.width, frame.layout.height);
      let buf = this.buffers.get(W * H);
      if (!buf) this.buffers.set(W * H, (buf = new Float32Array(W * H * 3)));
      const map = regionToTensor(frame, tile, { ...e.input, width: W, height: H }, buf);
      const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', buf, [1, 3, H, W]) });
      const prob = out[session.outputNames[0]!]!.data as Float32Array;
      for (const c of components(prob, W, H, PIXEL_THRESHOLD)) {
        const meanProb = c.sum / c.n;
        // scoreThreshold is the mean probability a whole box needs (PaddleOCR box_thresh).
        if (meanProb < e.scoreThreshold || c.h < 3 || c.w < 3) continue;
        // DB maps shrink text; PaddleOCR "unclips" by area * 1.5 / perimeter.
        const d = (c.w * c.h * 1.5) / (2 * (c.w + c.h));
        const grown = pad({ x: c.x, y: c.y, w: c.w, h: c.h }, 0, d);
        found.push({
          x: map.offsetX + grown.x / map.scale,
          y: map.offsetY + grown.y / map.scale,
          w: grown.w / map.scale,
          h: grown.h / map.scale,
          score: meanProb,
          target: 'plate',
        });
      }
    }
    return nms(found, 0.3);
  }
}
