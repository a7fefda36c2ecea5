/**
 * BlazeFace (MediaPipe) decoder. Outputs: scores for 16x16x2 and 8x8x6 anchors and 16
 * regressors per anchor (centre offset, size, six key points) in input pixels.
 *
 * Tiling follows from the model's reliable object range (minObjectPx..maxObjectPx at
 * its input): level 0 scales the frame so the smallest face we promise to mask
 * (minFacePx) becomes minObjectPx; level 1 is the whole frame for faces too big for
 * level-0 tiles. Tiles overlap by the smallest face level 1 finds, so every face lies
 * whole in some tile of one level or the other.
 */
import ort from 'onnxruntime-node';
import type { Frame } from '../../media/frame.js';
import { nms } from '../geometry.js';
import type { LoadedModel } from '../models.js';
import { regionToTensor } from '../tensor.js';
import { tileAround, tileGrid, type Detection, type Detector, type Tile } from './detector.js';
import type { Box } from '../geometry.js';

const LAYERS = [
  { cells: 16, anchors: 2 },
  { cells: 8, anchors: 6 },
];

export class BlazeFaceDetector implements Detector {
  readonly target = 'face' as const;
  readonly scanEvery = 1;
  private readonly input: Float32Array;

  constructor(
    readonly model: LoadedModel,
    /** Smallest face, in source pixels, that must be found. */
    private readonly minFacePx = 24,
  ) {
    const { width, height } = model.entry.input;
    this.input = new Float32Array(width * height * 3);
  }

  /** Level-0 scale: the smallest face we promise becomes the model's floor + 15 %. */
  private scale0(): number {
    // The headroom keeps recall up on soft, compressed CCTV faces.
    return Math.min(1, (this.model.entry.minObjectPx * 1.15) / this.minFacePx);
  }

  roiTile(b: Box, width: number, height: number): Tile {
    // Square, because the model's input is; grown for objects bigger than a tile.
    const side = Math.max(Math.round(this.model.entry.input.width / this.scale0()), Math.ceil(1.5 * Math.max(b.w, b.h)));
    return tileAround(b, side, side, width, height);
  }

  tiles(width: number, height: number): Tile[] {
    const e = this.model.entry;
    const size = e.input.width;
    const scale0 = this.scale0();
    const wholeScale = Math.min(size / width, size / height);
    const tiles: Tile[] = [];
    if (wholeScale < scale0 * 0.9) {
      const tileSrc = Math.round(size / scale0);
      const smallestAtWhole = e.minObjectPx / wholeScale;
      tiles.push(...tileGrid(width, height, tileSrc, tileSrc, Math.min(tileSrc - 1, Math.ceil(smallestAtWhole)), 0));
    }
    tiles.push({ x: 0, y: 0, w: width, h: height, level: 1 });
    return tiles;
  }

  async detect(frame: Frame, tiles: Tile[]): Promise<Detection[]> {
    const e = this.model.entry;
    const size = e.input.width;
    const session = this.model.session;
    const found: Detection[] = [];
    for (const tile of tiles) {
      const map = regionToTensor(frame, tile, e.input, this.input);
      const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', this.input, [1, size, size, 3]) });
      const names = session.outputNames;
      const scores = [out[names[0]!]!.data as Float32Array, out[names[1]!]!.data as Float32Array];
      const boxes = [out[names[2]!]!.data as Float32Array, out[names[3]!]!.data as Float32Array];
      for (let l = 0; l < 2; l++) {
        const { cells, anchors } = LAYERS[l]!;
        const sc = scores[l]!;
        const bx = boxes[l]!;
        const logitThreshold = Math.log(e.scoreThreshold / (1 - e.scoreThreshold));
        for (let i = 0; i < sc.length; i++) {
          if (sc[i]! < logitThreshold) continue;
          const cell = Math.floor(i / anchors);
          const ax = ((cell % cells) + 0.5) / cells;
          const ay = (Math.floor(cell / cells) + 0.5) / cells;
          const cx = ax * size + bx[i * 16]!;
          const cy = ay * size + bx[i * 16 + 1]!;
          const w = bx[i * 16 + 2]!;
          const h = bx[i * 16 + 3]!;
          if (!(w > 0 && h > 0)) continue;
          found.push({
            x: map.offsetX + (cx - w / 2) / map.scale,
            y: map.offsetY + (cy - h / 2) / map.scale,
            w: w / map.scale,
            h: h / map.scale,
            score: 1 / (1 + Math.exp(-sc[i]!)),
            target: 'face',
          });
        }
      }
    }
    return nms(found, 0.3);
  }
}
