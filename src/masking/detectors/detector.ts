/** What every detector family offers the analyser. */
import type { Frame } from '../../media/frame.js';
import type { Box } from '../geometry.js';
import type { LoadedModel, MaskTarget } from '../models.js';

export interface Detection extends Box {
  score: number;
  target: MaskTarget;
  /** The model's class name, where it has several (car, bus, person...). */
  label?: string;
}

/** A region of the frame fed to the model at one scale. */
export interface Tile extends Box {
  /** 0: finest scale. */
  level: number;
}

export interface Detector {
  readonly target: MaskTarget;
  /** Targets of the detections it returns, where it finds more than one (persons and vehicles). */
  readonly emits?: readonly MaskTarget[];
  readonly model: LoadedModel;
  /** Run on every n-th scan of the analysis (objects that stay long can be scanned less). */
  readonly scanEvery: number;
  /** Tiles that together cover a frame of this size at every scale the model needs. */
  tiles(width: number, height: number): Tile[];
  /**
   * A tile centred on a region where something moves or a track is expected, at the
   * finest scale, large enough for the object (one inference per object instead of
   * every grid tile it touches).
   */
  roiTile(b: Box, width: number, height: number): Tile;
  /**
   * What running a tile costs, relative to other tiles of this detector. Absent: every
   * tile costs the same (a model with a fixed input scales each tile to it).
   */
  tileCost?(tile: Tile, width: number, height: number): number;
  /** Runs the model on the given tiles; boxes in frame pixels, duplicates merged. */
  detect(frame: Frame, tiles: Tile[]): Promise<Detection[]>;
}

/** A tile of at least `minW x minH` around box b (grown to hold it), inside the frame. */
export function tileAround(b: Box, minW: number, minH: number, width: number, height: number): Tile {
  const w = Math.min(width, Math.max(minW, Math.ceil(b.w * 1.5)));
  const h = Math.min(height, Math.max(minH, Math.ceil(b.h * 1.5)));
  const x = Math.max(0, Math.min(width - w, Math.round(b.x + b.w / 2 - w / 2)));
  const y = Math.max(0, Math.min(height - h, Math.round(b.y + b.h / 2 - h / 2)));
  return { x, y, w, h, level: 0 };
}

/**
 * A grid of tiles of `tileW x tileH` source pixels that overlap by at least `overlap`
 * pixels, so an object smaller than the overlap always lies whole inside some tile.
 */
export function tileGrid(width: number, height: number, tileW: number, tileH: number, overlap: number, level: number): Tile[] {
  const axis = (len: number, t: number): number[] => {
    if (t >= len) return [0];
    const n = Math.ceil((len - overlap) / (t - overlap));
    const step = (len - t) / (n - 1 || 1);
    return Array.from({ length: n }, (_, i) => Math.round(i * step));
  };
  const tw = Math.min(tileW, width);
  const th = Math.min(tileH, height);
  const tiles: Tile[] = [];
  for (const y of axis(height, th)) for (const x of axis(width, tw)) tiles.push({ x, y, w: tw, h: th, level });
  return tiles;
}
