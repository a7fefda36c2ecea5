/**
 * NanoDet (COCO, 80 classes) decoder: persons, and vehicles (bicycle, car, motorcycle,
 * bus, truck) that explain motion and carry plates.
 *
 * The graph (converted from TF.js at setup, see scripts/tfjs-to-onnx.mjs) takes a fixed
 * 1x3x416x416 BGR input and gives, for each of three grids (52, 26, 13 cells: strides
 * 8, 16, 32), per-class sigmoid scores [1, cells², 80] and a box distribution
 * [1, cells², 4 x 11]: for each side (left, top, right, bottom) the softmax over 11 bins
 * is the distance from the cell centre ((i + 0.5) x stride) in strides (generalised
 * focal loss, reg_max 10). Outputs are told apart by their shapes, not their names.
 *
 * Tiling: the input size is fixed, so frames are tiled. Level 0 samples the frame so the
 * smallest person we promise (minPersonPx tall, source pixels) is the model's reliable
 * minimum (minObjectPx at its input); coarser levels halve the scale down to the whole
 * frame, for persons too tall for level-0 tiles. Tiles of a level overlap by the
 * smallest object the next level finds, so every person lies whole in some tile of the
 * level where it is big enough. Which intermediate levels to keep is chosen for the
 * fewest inferences.
 */
import ort from 'onnxruntime-node';
import type { Frame } from '../../media/frame.js';
import { area, intersection, iou, type Box } from '../geometry.js';
import type { LoadedModel, MaskTarget } from '../models.js';
import { regionToTensor } from '../tensor.js';
import { VeilportError } from '../../util/errors.js';
import { tileAround, tileGrid, type Detection, type Detector, type Tile } from './detector.js';

/** COCO classes that become vehicle detections. */
const VEHICLE_CLASSES = ['bicycle', 'car', 'motorcycle', 'bus', 'truck'];
/** Same-target boxes overlapping more than this are one object (NanoDet's own NMS uses 0.6). */
const NMS_IOU = 0.5;
/** A box cut by a tile edge and this much inside a whole one is a piece of that one. */
const CUT_INSIDE = 0.6;
/** A box within this many model-input pixels of an inner tile edge counts as cut. */
const CUT_MARGIN = 3;
/** Level 0 may upscale at most this much (when minObjectPx > minPersonPx). */
const MAX_UPSCALE = 2;

interface Candidate extends Detection {
  cut: boolean;
}

interface Head {
  cells: number;
  stride: number;
  scores: Float32Array;
  boxes: Float32Array;
}

export class NanoDetDetector implements Detector {
  readonly target = 'person' as const;
  readonly emits: readonly MaskTarget[] = ['person', 'vehicle'];
  // Persons are the product's core target: every scan looks for them.
  readonly scanEvery = 1;
  /** Inferences run and their total time, for the masking report and the bench. */
  readonly stats = { inferences: 0, ms: 0 };
  private readonly input: Float32Array;
  private readonly size: number;
  /** Model class index -> target, for the classes we keep. */
  private readonly keep: { index: number; label: string; target: MaskTarget }[];
  private readonly classes: number;
  private readonly tileCache = new Map<string, Tile[]>();

  constructor(
    readonly model: LoadedModel,
    /** Smallest person, in source pixels (height), that must be found. */
    private readonly minPersonPx = 24,
  ) {
    const e = model.entry;
    if (e.input.width !== e.input.height || e.input.layout !== 'NCHW') {
      throw new VeilportError('MODEL_MISMATCH', `model ${e.name}: the nanodet decoder needs a square NCHW input, the manifest says ${e.input.width}x${e.input.height} ${e.input.layout}`);
    }
    if (!(minPersonPx > 0)) throw new VeilportError('BAD_INPUT', `smallest person size must be positive, got ${minPersonPx}`);
    this.size = e.input.width;
    this.input = new Float32Array(this.size * this.size * 3);
    this.classes = e.classes.length;
    const person = e.classes.indexOf('person');
    if (person < 0) throw new VeilportError('MODEL_MISMATCH', `model ${e.name}: its classes have no "person"`);
    this.keep = [{ index: person, label: 'person', target: 'person' }];
    for (const label of VEHICLE_CLASSES) {
      const index = e.classes.indexOf(label);
      if (index >= 0) this.keep.push({ index, label, target: 'vehicle' });
    }
  }

  /** Level-0 scale: the smallest person we promise becomes the model's floor. */
  private scale0(): number {
    return Math.min(MAX_UPSCALE, this.model.entry.minObjectPx / this.minPersonPx);
  }

  roiTile(b: Box, width: number, height: number): Tile {
    // Square like the input; grown for objects larger than a level-0 tile.
    const side = Math.max(Math.round(this.size / this.scale0()), Math.ceil(1.5 * Math.max(b.w, b.h)));
    return tileAround(b, side, side, width, height);
  }

  tiles(width: number, height: number): Tile[] {
    const k = `${width}x${height}`;
    let t = this.tileCache.get(k);
    if (!t) this.tileCache.set(k, (t = this.plan(width, height)));
    return t;
  }

  private plan(width: number, height: number): Tile[] {
    const min = this.model.entry.minObjectPx;
    const whole = Math.min(this.size / width, this.size / height);
    const s0 = this.scale0();
    // Halving scales from level 0 down to (not reaching) the whole frame.
    const pyramid: number[] = [];
    for (let s = s0; s > whole * 1.1; s /= 2) pyramid.push(s);
    if (pyramid.length === 0) return [{ x: 0, y: 0, w: width, h: height, level: 0 }];
    const gridOf = (scales: number[]): Tile[] => {
      const tiles: Tile[] = [];
      scales.forEach((s, i) => {
        const next = i + 1 < scales.length ? scales[i + 1]! : whole;
        const src = Math.round(this.size / s);
        tiles.push(...tileGrid(width, height, src, src, Math.min(src - 1, Math.ceil(min / next)), i));
      });
      tiles.push({ x: 0, y: 0, w: width, h: height, level: scales.length });
      return tiles;
    };
    // Level 0 always; any subset of the coarser halvings (at most a few), fewest tiles wins.
    let best: Tile[] | undefined;
    const rest = pyramid.slice(1);
    for (let mask = 0; mask < 1 << rest.length; mask++) {
      const scales = [pyramid[0]!, ...rest.filter((_, i) => mask & (1 << i))];
      const tiles = gridOf(scales);
      if (!best || tiles.length < best.length) best = tiles;
    }
    return best!;
  }

  /** Splits the session's outputs into the three heads by their shapes. */
  private heads(out: ort.InferenceSession.OnnxValueMapType): Head[] {
    const byCells = new Map<number, Partial<Head>>();
    for (const name of this.model.session.outputNames) {
      const t = out[name]!;
      const [, n, c] = t.dims as number[];
      const cells = Math.round(Math.sqrt(n!));
      if (t.dims.length !== 3 || cells * cells !== n) throw new VeilportError('MODEL_MISMATCH', `model ${this.model.entry.name}: output ${name} has shape ${t.dims.join('x')}, not [1, cells², k]`);
      const h = byCells.get(cells) ?? { cells, stride: this.size / cells };
      if (c === this.classes) h.scores = t.data as Float32Array;
      else if (c! % 4 === 0) h.boxes = t.data as Float32Array;
      else throw new VeilportError('MODEL_MISMATCH', `model ${this.model.entry.name}: output ${name} has ${c} channels, neither ${this.classes} classes nor 4 box distributions`);
      byCells.set(cells, h);
    }
    const heads = [...byCells.values()];
    if (heads.length !== 3 || heads.some((h) => !h.scores || !h.boxes)) {
      throw new VeilportError('MODEL_MISMATCH', `model ${this.model.entry.name}: expected scores and boxes for three grids, got ${heads.map((h) => h.cells).join(', ')}`);
    }
    return heads as Head[];
  }

  async detect(frame: Frame, tiles: Tile[]): Promise<Detection[]> {
    const e = this.model.entry;
    const session = this.model.session;
    const low = e.lowScoreThreshold ?? e.scoreThreshold;
    const found: Candidate[] = [];
    const W = frame.layout.width;
    const H = frame.layout.height;
    for (const tile of tiles) {
      const map = regionToTensor(frame, tile, e.input, this.input);
      const t0 = performance.now();
      const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', this.input, [1, 3, this.size, this.size]) });
      this.stats.ms += performance.now() - t0;
      this.stats.inferences++;
      // The part of the input that holds the tile (the rest is padding).
      const usedW = Math.min(this.size, tile.w * map.scale);
      const usedH = Math.min(this.size, tile.h * map.scale);
      const margin = CUT_MARGIN / map.scale;
      for (const head of this.heads(out)) {
        const { cells, stride, scores, boxes } = head;
        const bins = boxes.length / (cells * cells * 4);
        for (let i = 0; i < cells * cells; i++) {
          let box: Box | undefined;
          for (const k of this.keep) {
            const score = scores[i * this.classes + k.index]!;
            if (score < low) continue;
            box ??= decodeBox(boxes, i, bins, cells, stride, usedW, usedH);
            if (!box) break;
            const x = map.offsetX + box.x / map.scale;
            const y = map.offsetY + box.y / map.scale;
            const w = box.w / map.scale;
            const h = box.h / map.scale;
            const cut =
              (tile.x > 0 && x <= tile.x + margin) ||
              (tile.y > 0 && y <= tile.y + margin) ||
              (tile.x + tile.w < W && x + w >= tile.x + tile.w - margin) ||
              (tile.y + tile.h < H && y + h >= tile.y + tile.h - margin);
            found.push({ x, y, w, h, score, target: k.target, label: k.label, cut });
          }
        }
      }
    }
    return suppress(found);
  }
}

/**
 * The box of cell i in model-input pixels: softmax expectation of each side's bins,
 * times the stride, from the cell centre; clipped to the used input. Undefined when
 * nothing of it is left.
 */
function decodeBox(boxes: Float32Array, i: number, bins: number, cells: number, stride: number, usedW: number, usedH: number): Box | undefined {
  const d = [0, 0, 0, 0];
  const base = i * 4 * bins;
  for (let side = 0; side < 4; side++) {
    const o = base + side * bins;
    let max = -Infinity;
    for (let j = 0; j < bins; j++) max = Math.max(max, boxes[o + j]!);
    let sum = 0;
    let acc = 0;
    for (let j = 0; j < bins; j++) {
      const p = Math.exp(boxes[o + j]! - max);
      sum += p;
      acc += p * j;
    }
    d[side] = (acc / sum) * stride;
  }
  const cx = ((i % cells) + 0.5) * stride;
  const cy = (Math.floor(i / cells) + 0.5) * stride;
  const x1 = Math.max(0, cx - d[0]!);
  const y1 = Math.max(0, cy - d[1]!);
  const x2 = Math.min(usedW, cx + d[2]!);
  const y2 = Math.min(usedH, cy + d[3]!);
  if (!(x2 - x1 >= 1 && y2 - y1 >= 1)) return undefined;
  return { x: x1, y: y1, w: x2 - x1, h: y2 - y1 };
}

/**
 * Non-maximum suppression per target (persons and vehicles apart, so a cyclist keeps
 * both; car, bus and truck together, so one vehicle read as two classes stays one).
 * Whole boxes are considered before boxes cut by a tile edge, so the person found whole
 * in one tile wins over the pieces of them in its neighbours; a cut piece not covered by
 * a whole box is kept (a partial mask is the safe side).
 */
export function suppress(found: Candidate[]): Detection[] {
  const sorted = [...found].sort((a, b) => Number(a.cut) - Number(b.cut) || b.score - a.score);
  const kept: Candidate[] = [];
  for (const d of sorted) {
    const dup = kept.some((k) => k.target === d.target && (iou(k, d) >= NMS_IOU || (d.cut && intersection(k, d) >= CUT_INSIDE * area(d))));
    if (!dup) kept.push(d);
  }
  return kept.map(({ cut: _cut, ...d }) => d);
}
