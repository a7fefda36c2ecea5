/**
 * Foreground (motion) masking over a learned background, for whole persons that are
 * too small in elevated CCTV views for a face model: whatever moves is masked. Good at:
 * tiny and distant people, any pose, no model needed. Bad at: people who stand still
 * fade into the background within seconds (on purpose: so does the ghost a person leaves
 * where they stood; a person standing still is the person detector's), and it also masks
 * cars, trees in wind, flapping tape and lighting changes (the safe side of the trade).
 *
 * Under a moving camera the model works in scene coordinates: the background lives on a
 * canvas fixed to the scene (the picture at the last anchor, with a margin around it),
 * and every frame is compared with, and learnt into, the canvas through the camera
 * motion accumulated since the anchor (camera-motion.ts). So a pan is not "everything
 * moves", and the background is never resampled frame after frame (which would blur it
 * until every edge looked like motion); it is moved once, when the view leaves the
 * canvas or the zoom changes by more than a sixth. A cut (another preset, another scene)
 * starts a new background. While the camera has moved, a cell is foreground only when it
 * lies outside the range of the 4x4 background cells around where the motion puts it: the
 * estimate is good to a fraction of a cell, and a sub-pixel shift changes how sharp an
 * edge looks in a cell; a person is several cells across and differs from all of them.
 */
import type { Frame } from '../media/frame.js';
import type { Detection } from './detectors/detector.js';
import { components } from './components.js';
import type { Box } from './geometry.js';
import { IDENTITY, apply, compose, downscaleLuma, invert, lumaCell, zoomOf, type CameraEstimate, type Similarity } from './camera-motion.js';

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
  /** Cell pictures of the last second of analysed frames, oldest first. */
  private history: { tNs: number; luma: Float32Array }[] = [];
  /** What this frame is compared with to tell movement from stillness: the picture a second ago. */
  private reference?: Float32Array;
  /** Cells that differ from the picture a second ago (under camera motion: every foreground cell). */
  private readonly changing: Uint8Array;
  private readonly fg: Uint8Array;
  private readonly rate: number;
  private readonly threshold: number;
  private readonly minCells: number;

  constructor(width: number, height: number, opts: MotionOptions = {}) {
    // About 240 cells across whatever the resolution, so cost and sensitivity do not
    // depend on the camera.
    this.cell = lumaCell(width);
    this.gw = Math.floor(width / this.cell);
    this.gh = Math.floor(height / this.cell);
    this.current = new Float32Array(this.gw * this.gh);
    this.changing = new Uint8Array(this.gw * this.gh);
    this.fg = new Uint8Array(this.gw * this.gh);
    this.rate = opts.learningRate ?? 0.05;
    this.threshold = opts.threshold ?? 18;
    this.minCells = Math.max(2, Math.round((opts.minAreaFraction ?? 0.0002) * this.gw * this.gh));
  }

  /** Canvas cells around the anchor picture, per side, and the canvas size. */
  private margin = 0;
  private cw = 0;
  private ch = 0;
  /** Whether a canvas cell has been seen since the anchor. */
  private seen?: Uint8Array;
  /** Anchor picture -> this frame, in source pixels (identity while the camera is still). */
  private anchorToFrame: Similarity = IDENTITY;
  private moved = false;

  /**
   * Learns from this frame and returns the moving blobs (target "motion"). `camera` is
   * the camera-motion estimate for this frame (its cell picture is reused when it is on
   * this model's grid); without one the camera is taken to be still.
   */
  update(frame: Frame, camera?: CameraEstimate): Detection[] {
    const luma = camera && camera.luma.cell === this.cell && camera.luma.width === this.gw ? camera.luma : downscaleLuma(frame, this.cell);
    this.current.set(luma.data);
    this.remember(frame.tNs);
    if (!this.background || camera?.state === 'cut') {
      // First frame, or another picture: nothing learnt about the old one applies.
      this.anchor();
      return [];
    }
    if (camera?.state === 'moving') {
      this.anchorToFrame = compose(camera.transform, this.anchorToFrame);
      this.moved = true;
      if (this.leftCanvas()) this.reanchor();
    }
    if (!this.moved) this.stillUpdate();
    else this.sceneUpdate();
    dilate(this.fg, this.gw, this.gh);
    return this.blobs(this.fg, this.minCells);
  }

  /** The camera has not moved since the anchor: canvas cell (x + margin, y + margin) is frame cell (x, y). */
  private stillUpdate(): void {
    const bg = this.background!;
    const { gw, gh, cw, margin } = this;
    for (let y = 0; y < gh; y++) {
      for (let x = 0; x < gw; x++) {
        const i = y * gw + x, k = (y + margin) * cw + x + margin;
        const cur = this.current[i]!;
        this.fg[i] = Math.abs(cur - bg[k]!) > this.threshold ? 1 : 0;
        // Foreground that changes learns ten times slower, so a slow walker is not
        // absorbed; foreground that holds still learns at the normal rate, so the ghost
        // a person leaves where they stood (or where they were in the first frame) fades
        // in seconds. A person standing still is the person detector's, not this net's.
        // A slow far walker moves a cell or two a second, less than that between scans.
        const changing = !this.reference || Math.abs(cur - this.reference[i]!) > this.threshold / 2;
        this.changing[i] = changing ? 1 : 0;
        bg[k] = bg[k]! + (cur - bg[k]!) * (this.fg[i] && changing ? this.rate * 0.1 : this.rate);
      }
    }
  }

  /** Compare through the accumulated camera motion, then learn into the canvas. */
  private sceneUpdate(): void {
    const bg = this.background!, seen = this.seen!;
    const { gw, gh, cw, ch, margin, cell: c } = this;
    const toAnchor = invert(this.anchorToFrame);
    for (let y = 0; y < gh; y++) {
      for (let x = 0; x < gw; x++) {
        const i = y * gw + x;
        const X = (x + 0.5) * c, Y = (y + 0.5) * c;
        const u = (toAnchor.a * X - toAnchor.b * Y + toAnchor.tx) / c - 0.5 + margin;
        const v = (toAnchor.b * X + toAnchor.a * Y + toAnchor.ty) / c - 0.5 + margin;
        this.fg[i] = 0;
        if (u < 0 || v < 0 || u >= cw - 1 || v >= ch - 1) continue;
        const u0 = Math.floor(u), v0 = Math.floor(v);
        // A cell the canvas has not seen yet (just panned into view) cannot be compared.
        let lo = Infinity, hi = -Infinity, unseen = false;
        for (let yy = Math.max(0, v0 - 1); yy <= Math.min(ch - 1, v0 + 2); yy++) {
          for (let xx = Math.max(0, u0 - 1); xx <= Math.min(cw - 1, u0 + 2); xx++) {
            const k = yy * cw + xx;
            if (!seen[k]) {
              if (Math.abs(xx - u) < 1 && Math.abs(yy - v) < 1) unseen = true;
              continue;
            }
            if (bg[k]! < lo) lo = bg[k]!;
            if (bg[k]! > hi) hi = bg[k]!;
          }
        }
        if (unseen || lo > hi) continue;
        const cur = this.current[i]!;
        const diff = Math.max(cur - hi, lo - cur, 0);
        this.fg[i] = diff > this.threshold ? 1 : 0;
        // Under a moving camera every cell changes: all foreground counts as moving.
        this.changing[i] = this.fg[i]!;
      }
    }
    // Learn: every canvas cell in view takes this frame's value there.
    const m = this.anchorToFrame;
    for (let v = 0; v < ch; v++) {
      for (let u = 0; u < cw; u++) {
        const X = (u - margin + 0.5) * c, Y = (v - margin + 0.5) * c;
        const x = (m.a * X - m.b * Y + m.tx) / c - 0.5, y = (m.b * X + m.a * Y + m.ty) / c - 0.5;
        if (x < 0 || y < 0 || x >= gw - 1 || y >= gh - 1) continue;
        const x0 = Math.floor(x), y0 = Math.floor(y), fx = x - x0, fy = y - y0;
        const i = y0 * gw + x0;
        const cur = (this.current[i]! * (1 - fx) + this.current[i + 1]! * fx) * (1 - fy) + (this.current[i + gw]! * (1 - fx) + this.current[i + gw + 1]! * fx) * fy;
        const k = v * cw + u;
        if (!seen[k]) {
          bg[k] = cur;
          seen[k] = 1;
          continue;
        }
        const fg = this.fg[Math.round(y) * gw + Math.round(x)];
        bg[k] = bg[k]! + (cur - bg[k]!) * (fg ? this.rate * 0.1 : this.rate);
      }
    }
  }

  /** Keeps this frame's cells and picks the newest of those at least a second old as the reference. */
  private remember(tNs: number): void {
    const h = this.history;
    while (h.length > 1 && h[1]!.tNs <= tNs - 1e9) h.shift();
    this.reference = h[0] && h[0].tNs <= tNs - 1e9 ? h[0].luma : undefined;
    h.push({ tNs, luma: Float32Array.from(this.current) });
  }

  /** A new canvas around this frame. */
  private anchor(): void {
    // Another picture: the one before it says nothing about what moves in this one.
    this.history = this.history.slice(-1);
    this.reference = undefined;
    this.margin = Math.round(this.gw / 8);
    this.cw = this.gw + 2 * this.margin;
    this.ch = this.gh + 2 * this.margin;
    this.background = new Float32Array(this.cw * this.ch);
    this.seen = new Uint8Array(this.cw * this.ch);
    for (let y = 0; y < this.gh; y++) {
      for (let x = 0; x < this.gw; x++) {
        const k = (y + this.margin) * this.cw + x + this.margin;
        this.background[k] = this.current[y * this.gw + x]!;
        this.seen[k] = 1;
      }
    }
    this.fg.fill(0);
    this.anchorToFrame = IDENTITY;
    this.moved = false;
  }

  /** Whether this frame reaches outside the canvas, or the zoom has changed too much to compare cells. */
  private leftCanvas(): boolean {
    const inv = invert(this.anchorToFrame);
    const z = zoomOf(this.anchorToFrame);
    if (z > 7 / 6 || z < 6 / 7) return true;
    const W = this.gw * this.cell, H = this.gh * this.cell, M = (this.margin - 1) * this.cell;
    for (const [x, y] of [[0, 0], [W, 0], [0, H], [W, H]] as const) {
      const p = apply(inv, x, y);
      if (p.x < -M || p.y < -M || p.x > W + M || p.y > H + M) return true;
    }
    return false;
  }

  /** Moves the background onto a canvas around this frame (one resampling). */
  private reanchor(): void {
    const old = this.background!, oldSeen = this.seen!;
    const { cw, ch, margin, cell: c } = this;
    const toOld = invert(this.anchorToFrame);
    const bg = new Float32Array(cw * ch);
    const seen = new Uint8Array(cw * ch);
    for (let v = 0; v < ch; v++) {
      for (let u = 0; u < cw; u++) {
        const X = (u - margin + 0.5) * c, Y = (v - margin + 0.5) * c;
        const x = (toOld.a * X - toOld.b * Y + toOld.tx) / c - 0.5 + margin, y = (toOld.b * X + toOld.a * Y + toOld.ty) / c - 0.5 + margin;
        if (x < 0 || y < 0 || x >= cw - 1 || y >= ch - 1) continue;
        const x0 = Math.floor(x), y0 = Math.floor(y), fx = x - x0, fy = y - y0;
        const k = y0 * cw + x0;
        if (!oldSeen[k] || !oldSeen[k + 1] || !oldSeen[k + cw] || !oldSeen[k + cw + 1]) continue;
        bg[v * cw + u] = (old[k]! * (1 - fx) + old[k + 1]! * fx) * (1 - fy) + (old[k + cw]! * (1 - fx) + old[k + cw + 1]! * fx) * fy;
        seen[v * cw + u] = 1;
      }
    }
    this.background = bg;
    this.seen = seen;
    this.anchorToFrame = IDENTITY;
  }

  /**
   * The moving parts of the last frame that the given boxes (persons, vehicles being
   * tracked) do not cover: the safety net's share. Leftovers smaller than half a
   * 24 px-tall person (an arm, a shadow's edge) are not a person the detector missed.
   */
  unexplained(explained: Box[]): Detection[] {
    const m = Uint8Array.from(this.fg);
    const c = this.cell;
    // The ring of cells around an explained box is that object's: the foreground was
    // dilated by one cell, and a detector's box cuts the object's edge by a few pixels.
    for (const b of explained) {
      const x0 = Math.max(0, Math.floor(b.x / c) - 1);
      const x1 = Math.min(this.gw, Math.ceil((b.x + b.w) / c) + 1);
      for (let gy = Math.max(0, Math.floor(b.y / c) - 1); gy < Math.min(this.gh, Math.ceil((b.y + b.h) / c) + 1); gy++) m.fill(0, gy * this.gw + x0, gy * this.gw + Math.max(x0, x1));
    }
    // A blob none of whose cells changed within a second is not movement: the ghost of
    // someone who left (fading), or something set down. (One changing cell keeps it.)
    const min = Math.max(this.minCells, Math.ceil(120 / (c * c)));
    const v = new Uint8Array(m.length);
    for (let i = 0; i < m.length; i++) v[i] = m[i]! ? 1 + this.changing[i]! : 0;
    return components(v, this.gw, this.gh, 1).filter((b) => b.n >= min && b.sum > b.n).map((b) => this.box(b));
  }

  private box(b: { x: number; y: number; w: number; h: number }): Detection {
    const c = this.cell;
    return { x: b.x * c, y: b.y * c, w: b.w * c, h: b.h * c, score: 1, target: 'motion' };
  }

  private blobs(m: Uint8Array, minCells: number): Detection[] {
    return components(m, this.gw, this.gh, 1).filter((b) => b.n >= minCells).map((b) => this.box(b));
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
