/**
 * Foreground (motion) masking over a learned background, for whole persons that are
 * too small in elevated CCTV views for a face model: whatever moves is masked. Good at:
 * tiny and distant people, any pose, no model needed. Bad at: people who stand still
 * long enough to fade into the background, and it also masks cars, trees in wind and
 * lighting changes (the safe side of the trade).
 */
import type { Frame } from '../media/frame.js';
import type { Detection } from './detectors/detector.js';
import { components } from './components.js';
import type { Box } from './geometry.js';

export interface MotionOptions {
  /** Background learning rate per analysed frame (0..1). */
  learningRate?: number;
  /** Luma difference (0..255) a cell must exceed above the noise floor. */
  threshold?: number;
  /** Smallest blob, as a fraction of the frame area, that counts. */
  minAreaFraction?: number;
}

export class MotionDetector {
  private readonly cell: number;
  private readonly gw: number;
  private readonly gh: number;
  private background?: Float32Array;
  private readonly current: Float32Array;
  private readonly fg: Uint8Array;
  private readonly rate: number;
  private readonly threshold: number;
  private readonly minCells: number;

  constructor(width: number, height: number, opts: MotionOptions = {}) {
    // About 240 cells across whatever the resolution, so cost and sensitivity do not
    // depend on the camera.
    this.cell = Math.max(2, Math.round(width / 240));
    this.gw = Math.floor(width / this.cell);
    this.gh = Math.floor(height / this.cell);
    this.current = new Float32Array(this.gw * this.gh);
    this.fg = new Uint8Array(this.gw * this.gh);
    this.rate = opts.learningRate ?? 0.05;
    this.threshold = opts.threshold ?? 18;
    this.minCells = Math.max(2, Math.round((opts.minAreaFraction ?? 0.0002) * this.gw * this.gh));
  }

  /** Learns from this frame and returns the moving blobs (target "motion"). */
  update(frame: Frame): Detection[] {
    const { data, layout } = frame;
    const c = this.cell;
    const inv = 1 / (c * c);
    for (let gy = 0; gy < this.gh; gy++) {
      for (let gx = 0; gx < this.gw; gx++) {
        let sum = 0;
        for (let y = gy * c; y < gy * c + c; y++) {
          const row = y * layout.yStride + gx * c;
          for (let x = 0; x < c; x++) sum += data[row + x]!;
        }
        this.current[gy * this.gw + gx] = sum * inv;
      }
    }
    if (!this.background) {
      this.background = Float32Array.from(this.current);
      return [];
    }
    const bg = this.background;
    for (let i = 0; i < bg.length; i++) {
      const diff = Math.abs(this.current[i]! - bg[i]!);
      this.fg[i] = diff > this.threshold ? 1 : 0;
      // Foreground cells learn ten times slower, so a slow walker is not absorbed.
      bg[i] = bg[i]! + (this.current[i]! - bg[i]!) * (this.fg[i] ? this.rate * 0.1 : this.rate);
    }
    dilate(this.fg, this.gw, this.gh);
    return this.blobs(this.fg, this.minCells);
  }

  /**
   * The moving parts of the last frame that the given boxes (persons, vehicles being
   * tracked) do not cover: the safety net's share. Leftovers smaller than half a
   * 24 px-tall person (an arm, a shadow's edge) are not a person the detector missed.
   */
  unexplained(explained: Box[]): Detection[] {
    const m = Uint8Array.from(this.fg);
    const c = this.cell;
    for (const b of explained) {
      const x0 = Math.max(0, Math.floor(b.x / c));
      const x1 = Math.min(this.gw, Math.ceil((b.x + b.w) / c));
      for (let gy = Math.max(0, Math.floor(b.y / c)); gy < Math.min(this.gh, Math.ceil((b.y + b.h) / c)); gy++) m.fill(0, gy * this.gw + x0, gy * this.gw + Math.max(x0, x1));
    }
    return this.blobs(m, Math.max(this.minCells, Math.ceil(120 / (c * c))));
  }

  private blobs(m: Uint8Array, minCells: number): Detection[] {
    const c = this.cell;
    return components(m, this.gw, this.gh, 1).filter((b) => b.n >= minCells).map((b) => ({
      x: b.x * c,
      y: b.y * c,
      w: b.w * c,
      h: b.h * c,
      score: 1,
      target: 'motion' as const,
    }));
  }
}

/** One-cell dilation: joins the parts of one person broken by similar colours. */
function dilate(m: Uint8Array, w: number, h: number): void {
  const src = Uint8Array.from(m);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (src[y * w + x]) continue;
      if ((x > 0 && src[y * w + x - 1]) || (x < w - 1 && src[y * w + x + 1]) || (y > 0 && src[(y - 1) * w + x]) || (y < h - 1 && src[(y + 1) * w + x])) {
        m[y * w + x] = 1;
      }
    }
  }
}
