/**
 * Global camera motion (pan, tilt, zoom, shake) and cuts (a PTZ jump to another preset,
 * a scene change), so that the background model, the motion safety net and the scan
 * scheduler can take the camera out before they reason about what moves.
 *
 * How: the luma is averaged into cells (about 240 across, the grid the motion model
 * uses), a coarse whole-picture translation is found on a 4x smaller pyramid level, then
 * about 40 textured blocks are matched around it with sub-cell precision, and a
 * similarity (zoom, roll, translation) is fitted to the block vectors by RANSAC over
 * pairs of blocks and a least-squares refinement on the inliers, then refined to a few
 * hundredths of a cell by Gauss-Newton on the inlier blocks' pixels (Tukey weights).
 * Moving people are a minority of the blocks and fall out as outliers; too few inliers
 * (or a textureless picture that changed) is a cut. Measured (tests/masking/
 * camera-motion.test.ts): worst corner error 0.4-0.7 px at 1080p and 768x576, about
 * 10-25 ms of CPU per analysed frame including the downscale the motion model shares. A homography is not fitted: between
 * two analysed frames a fraction of a second apart the perspective part of a PTZ motion
 * is well under a cell, and four parameters need far fewer good blocks than eight.
 *
 * Each estimate is against a key picture, not the previous frame: while the camera is
 * still the key stays, so a slow drift adds up to a measurable shift instead of being lost
 * below the noise of every single step, and noise does not random-walk the chain.
 */
import type { Frame } from '../media/frame.js';

/** Luma averaged over square cells of `cell` x `cell` source pixels. */
export interface Luma {
  width: number;
  height: number;
  cell: number;
  data: Float32Array;
}

/** The cell size for a frame width: about 240 cells across whatever the resolution. */
export const lumaCell = (width: number) => Math.max(2, Math.round(width / 240));

export function downscaleLuma(frame: Frame, cell: number): Luma {
  const { data, layout } = frame;
  const gw = Math.floor(layout.width / cell);
  const gh = Math.floor(layout.height / cell);
  const out = new Float32Array(gw * gh);
  const inv = 1 / (cell * cell);
  const rowSums = new Float64Array(gw);
  for (let gy = 0; gy < gh; gy++) {
    rowSums.fill(0);
    for (let y = gy * cell; y < gy * cell + cell; y++) {
      const row = y * layout.yStride;
      for (let gx = 0, x = row; gx < gw; gx++) {
        let s = 0;
        for (let k = 0; k < cell; k++) s += data[x++]!;
        rowSums[gx]! += s;
      }
    }
    for (let gx = 0; gx < gw; gx++) out[gy * gw + gx] = rowSums[gx]! * inv;
  }
  return { width: gw, height: gh, cell, data: out };
}

/**
 * Maps a point of the earlier picture to the later one, in source pixels:
 * x' = a x - b y + tx, y' = b x + a y + ty. Zoom is hypot(a, b), roll atan2(b, a).
 */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

export const IDENTITY: Similarity = { a: 1, b: 0, tx: 0, ty: 0 };

export function apply(m: Similarity, x: number, y: number): { x: number; y: number } {
  return { x: m.a * x - m.b * y + m.tx, y: m.b * x + m.a * y + m.ty };
}

export function invert(m: Similarity): Similarity {
  const d = m.a * m.a + m.b * m.b;
  const a = m.a / d;
  const b = -m.b / d;
  return { a, b, tx: -(a * m.tx - b * m.ty), ty: -(b * m.tx + a * m.ty) };
}

/** n then m. */
export function compose(m: Similarity, n: Similarity): Similarity {
  return { a: m.a * n.a - m.b * n.b, b: m.b * n.a + m.a * n.b, tx: m.a * n.tx - m.b * n.ty + m.tx, ty: m.b * n.tx + m.a * n.ty + m.ty };
}

export const zoomOf = (m: Similarity) => Math.hypot(m.a, m.b);

/** Largest displacement of the frame's corners under m, in source pixels. */
export function maxShift(m: Similarity, width: number, height: number): number {
  let worst = 0;
  for (const [x, y] of [[0, 0], [width, 0], [0, height], [width, height]] as const) {
    const p = apply(m, x, y);
    worst = Math.max(worst, Math.hypot(p.x - x, p.y - y));
  }
  return worst;
}

export type CameraState = 'stable' | 'moving' | 'cut';

export interface CameraEstimate {
  /**
   * stable: the picture has not moved (since the last estimate that said moving);
   * moving: it has, by `transform`; cut: a different picture (or the first one), nothing
   * learnt about the old one applies.
   */
  state: CameraState;
  /** Previous picture the consumers aligned to -> this one, in source pixels; identity unless moving. */
  transform: Similarity;
  /** Largest corner displacement of `transform`, source pixels. */
  shiftPx: number;
  /** Textured blocks matched, and how many agree with the fitted motion. */
  blocks: number;
  inliers: number;
  /** The cell picture of this frame (for the background model, which uses the same grid). */
  luma: Luma;
}

export interface CameraMotionOptions {
  /** A corner shift below this many cells is "stable" (default 0.25). */
  stableCells?: number;
  /** Share of textured blocks that must agree on one motion, else a cut (default 0.35). */
  minInlierShare?: number;
  /** Stable estimates after which the key picture is renewed (lighting drifts). */
  rekeyAfter?: number;
}

interface BlockVector {
  /** Block centre in the key picture and its displacement, in cells. */
  x: number;
  y: number;
  dx: number;
  dy: number;
}

const BLOCK = 16;
const RADIUS = 3;
const INLIER_CELLS = 0.6;

export class CameraMotionEstimator {
  readonly cell: number;
  private key?: Luma;
  private keyAge = 0;
  private readonly stableCells: number;
  private readonly minInlierShare: number;
  private readonly rekeyAfter: number;

  constructor(readonly width: number, readonly height: number, opts: CameraMotionOptions = {}) {
    this.cell = lumaCell(width);
    this.stableCells = opts.stableCells ?? 0.25;
    this.minInlierShare = opts.minInlierShare ?? 0.35;
    this.rekeyAfter = opts.rekeyAfter ?? 50;
  }

  estimate(frame: Frame): CameraEstimate {
    return this.estimateLuma(downscaleLuma(frame, this.cell));
  }

  estimateLuma(luma: Luma): CameraEstimate {
    const key = this.key;
    if (!key || key.width !== luma.width || key.height !== luma.height) {
      this.setKey(luma);
      return { state: 'cut', transform: IDENTITY, shiftPx: 0, blocks: 0, inliers: 0, luma };
    }
    const m = registerLuma(key, luma);
    const c = this.cell;
    const textureless = m.blocks < 6;
    if (textureless) {
      // Nothing to register on (a blank wall, darkness): a big change of the picture
      // itself is the only sign of a cut; otherwise there is nothing a pan could move.
      const still = meanAbsDiff(key, luma) < 4 || unchangedShare(key, luma) >= UNCHANGED_STILL;
      if (!still) this.setKey(luma);
      return { state: still ? 'stable' : 'cut', transform: IDENTITY, shiftPx: 0, blocks: m.blocks, inliers: m.inliers, luma };
    }
    if (m.inliers < Math.max(4, this.minInlierShare * m.blocks)) {
      // The textured blocks may all lie on things that move over a flat background
      // (big faces over a plain wall): when most of the picture is as it was, the
      // camera is where it was, whatever the blocks say.
      if (unchangedShare(key, luma) >= UNCHANGED_STILL) {
        if (++this.keyAge >= this.rekeyAfter) this.setKey(luma);
        return { state: 'stable', transform: IDENTITY, shiftPx: 0, blocks: m.blocks, inliers: m.inliers, luma };
      }
      this.setKey(luma);
      return { state: 'cut', transform: IDENTITY, shiftPx: 0, blocks: m.blocks, inliers: m.inliers, luma };
    }
    const t = this.toPixels(m.model);
    const shiftPx = maxShift(t, this.width, this.height);
    if (shiftPx < this.stableCells * c) {
      if (++this.keyAge >= this.rekeyAfter) this.setKey(luma);
      return { state: 'stable', transform: IDENTITY, shiftPx, blocks: m.blocks, inliers: m.inliers, luma };
    }
    this.setKey(luma);
    return { state: 'moving', transform: t, shiftPx, blocks: m.blocks, inliers: m.inliers, luma };
  }

  /**
   * The motion of a frame from the key picture (a frame between two scans, while the
   * camera moves), without changing what the estimator keys on; null where the frame
   * cannot be registered (too little texture, too few blocks agreeing).
   */
  registerToKey(frame: Frame): Similarity | null {
    const key = this.key;
    const luma = downscaleLuma(frame, this.cell);
    if (!key || key.width !== luma.width || key.height !== luma.height) return null;
    const m = registerLuma(key, luma);
    if (m.blocks < 6 || m.inliers < Math.max(4, this.minInlierShare * m.blocks)) return null;
    return this.toPixels(m.model);
  }

  /** A model over cells -> source pixels (cell centres at (i + 0.5) * cell). */
  private toPixels(model: Similarity): Similarity {
    const c = this.cell;
    return {
      a: model.a,
      b: model.b,
      tx: c * model.tx + (c / 2) * (1 - model.a) + (c / 2) * model.b,
      ty: c * model.ty + (c / 2) * (1 - model.a) - (c / 2) * model.b,
    };
  }

  private setKey(l: Luma): void {
    this.key = l;
    this.keyAge = 0;
  }
}

/** A cell within this many luma levels of the key is unchanged (noise, compression). */
const UNCHANGED_LEVELS = 6;
/** Share of unchanged cells from which a picture is the same view (a cut or a pan changes nearly all). */
const UNCHANGED_STILL = 0.6;

/** Share of cells within UNCHANGED_LEVELS of the other picture's. */
export function unchangedShare(p: Luma, q: Luma): number {
  let n = 0;
  for (let i = 0; i < p.data.length; i++) if (Math.abs(p.data[i]! - q.data[i]!) < UNCHANGED_LEVELS) n++;
  return n / p.data.length;
}

/** Mean absolute difference of two cell pictures of one size. */
export function meanAbsDiff(p: Luma, q: Luma): number {
  let s = 0;
  for (let i = 0; i < p.data.length; i++) s += Math.abs(p.data[i]! - q.data[i]!);
  return s / p.data.length;
}

/**
 * The similarity (in cell coordinates) that maps `from` onto `to`, with the number of
 * textured blocks and inliers behind it.
 */
export function registerLuma(from: Luma, to: Luma): { model: Similarity; blocks: number; inliers: number } {
  const [gx, gy] = coarseShift(from, to);
  let vectors = matchBlocks(from, to, () => ({ x: gx, y: gy }), RADIUS);
  let fit = robustFit(vectors);
  // Second pass around the fitted motion when it zooms or rolls: blocks far from the
  // centre then move more than the coarse translation said.
  if (fit.inliers.length >= 2 && (Math.abs(zoomOf(fit.model) - 1) > 0.008 || Math.abs(fit.model.b) > 0.008)) {
    const model = fit.model;
    vectors = matchBlocks(from, to, (x, y) => {
      const p = apply(model, x, y);
      return { x: p.x - x, y: p.y - y };
    }, 2);
    fit = robustFit(vectors);
  }
  const model = fit.inliers.length >= 2 ? refine(from, to, fit.model, fit.inliers) : fit.model;
  return { model, blocks: vectors.length, inliers: fit.inliers.length };
}

/**
 * Gauss-Newton on the pixels of the inlier blocks (the block vectors are only good to a
 * few tenths of a cell): minimises the robustly weighted difference between \`from\` and
 * \`to\` seen through the model. Gradients are taken on \`from\` (the pictures are nearly
 * aligned by now). Tukey weights drop what still moves inside a background block.
 */
function refine(from: Luma, to: Luma, start: Similarity, blocks: BlockVector[]): Similarity {
  const { width: w, height: h } = from;
  const cx = w / 2, cy = h / 2;
  let m = { ...start };
  const half = (BLOCK - 1) / 2;
  for (let iter = 0; iter < 4; iter++) {
    const A = new Float64Array(16);
    const r = new Float64Array(4);
    const c = iter === 0 ? Infinity : 24;
    let used = 0;
    for (const v of blocks) {
      const x0 = Math.round(v.x - half) + 1, y0 = Math.round(v.y - half) + 1;
      for (let y = y0; y < y0 + BLOCK - 2; y++) {
        for (let x = x0; x < x0 + BLOCK - 2; x++) {
          const u = m.a * x - m.b * y + m.tx, q = m.b * x + m.a * y + m.ty;
          if (u < 0 || q < 0 || u >= w - 1 || q >= h - 1) continue;
          const ui = Math.floor(u), qi = Math.floor(q), fu = u - ui, fq = q - qi;
          const k = qi * w + ui;
          const s = (to.data[k]! * (1 - fu) + to.data[k + 1]! * fu) * (1 - fq) + (to.data[k + w]! * (1 - fu) + to.data[k + w + 1]! * fu) * fq;
          const i = y * w + x;
          const e = from.data[i]! - s;
          if (Math.abs(e) >= c) continue;
          const wt = c === Infinity ? 1 : (1 - (e / c) ** 2) ** 2;
          const gx = (from.data[i + 1]! - from.data[i - 1]!) / 2, gy = (from.data[i + w]! - from.data[i - w]!) / 2;
          const xt = x - cx, yt = y - cy;
          const J0 = wt * (gx * xt + gy * yt), J1 = wt * (-gx * yt + gy * xt), J2 = wt * gx, J3 = wt * gy;
          const K0 = gx * xt + gy * yt, K1 = -gx * yt + gy * xt;
          r[0]! += J0 * e; r[1]! += J1 * e; r[2]! += J2 * e; r[3]! += J3 * e;
          A[0]! += J0 * K0; A[1]! += J0 * K1; A[2]! += J0 * gx; A[3]! += J0 * gy;
          A[5]! += J1 * K1; A[6]! += J1 * gx; A[7]! += J1 * gy;
          A[10]! += J2 * gx; A[11]! += J2 * gy;
          A[15]! += J3 * gy;
          used++;
        }
      }
    }
    if (used < 64) break;
    for (let a = 0; a < 4; a++) for (let b = 0; b < a; b++) A[a * 4 + b] = A[b * 4 + a]!;
    const d = solve4(A, r);
    if (!d) break;
    const [da, db, dtx, dty] = d;
    m = { a: m.a + da!, b: m.b + db!, tx: m.tx + dtx! - da! * cx + db! * cy, ty: m.ty + dty! - db! * cx - da! * cy };
    if (Math.abs(dtx!) < 0.005 && Math.abs(dty!) < 0.005 && Math.abs(da!) * w < 0.005) break;
  }
  // A refinement that walked away from the block vectors found something else: keep the fit.
  return blocks.filter((v) => residual(m, v) < INLIER_CELLS).length >= blocks.length / 2 ? m : start;
}

/** Solves a 4x4 system by Gaussian elimination with partial pivoting. */
function solve4(A: Float64Array, r: Float64Array): number[] | undefined {
  const M = Array.from({ length: 4 }, (_, i) => [A[i * 4]!, A[i * 4 + 1]!, A[i * 4 + 2]!, A[i * 4 + 3]!, r[i]!]);
  for (let c = 0; c < 4; c++) {
    let p = c;
    for (let i = c + 1; i < 4; i++) if (Math.abs(M[i]![c]!) > Math.abs(M[p]![c]!)) p = i;
    if (Math.abs(M[p]![c]!) < 1e-9) return undefined;
    [M[c], M[p]] = [M[p]!, M[c]!];
    for (let i = c + 1; i < 4; i++) {
      const f = M[i]![c]! / M[c]![c]!;
      for (let k = c; k < 5; k++) M[i]![k]! -= f * M[c]![k]!;
    }
  }
  const x = [0, 0, 0, 0];
  for (let i = 3; i >= 0; i--) {
    let s = M[i]![4]!;
    for (let k = i + 1; k < 4; k++) s -= M[i]![k]! * x[k]!;
    x[i] = s / M[i]![i]!;
  }
  return x;
}

/** Box-averages a cell picture by 2. */
function half(p: Luma): Luma {
  const w = p.width >> 1;
  const h = p.height >> 1;
  const d = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = 2 * y * p.width + 2 * x;
      d[y * w + x] = (p.data[i]! + p.data[i + 1]! + p.data[i + p.width]! + p.data[i + p.width + 1]!) / 4;
    }
  }
  return { width: w, height: h, cell: p.cell * 2, data: d };
}

/** Integer translation of the whole picture, searched on the pyramid (4x, then 2x). */
function coarseShift(from: Luma, to: Luma): [number, number] {
  const f1 = half(from), t1 = half(to);
  const f2 = half(f1), t2 = half(t1);
  let [sx, sy] = bestShift(f2, t2, 0, 0, 8);
  [sx, sy] = bestShift(f1, t1, sx * 2, sy * 2, 2);
  // The blocks search +-RADIUS around this at full resolution.
  return [sx * 2, sy * 2];
}

/** The shift (within +-r of cx, cy) with the smallest mean absolute difference over the overlap. */
function bestShift(from: Luma, to: Luma, cx: number, cy: number, r: number): [number, number] {
  const { width: w, height: h } = from;
  const m = Math.max(1, Math.round(Math.min(w, h) / 16));
  let best = Infinity;
  let bx = cx, by = cy;
  for (let dy = cy - r; dy <= cy + r; dy++) {
    for (let dx = cx - r; dx <= cx + r; dx++) {
      const x0 = Math.max(m, m - dx), x1 = Math.min(w - m, w - m - dx);
      const y0 = Math.max(m, m - dy), y1 = Math.min(h - m, h - m - dy);
      if (x1 - x0 < w / 3 || y1 - y0 < h / 3) continue;
      let s = 0;
      for (let y = y0; y < y1; y++) {
        const a = y * w, b = (y + dy) * w + dx;
        for (let x = x0; x < x1; x++) s += Math.abs(from.data[a + x]! - to.data[b + x]!);
      }
      s /= (x1 - x0) * (y1 - y0);
      // Ties go to the smaller shift, so a flat picture reads as still.
      if (s < best - 1e-6 || (Math.abs(s - best) <= 1e-6 && Math.hypot(dx, dy) < Math.hypot(bx, by))) {
        best = s;
        bx = dx;
        by = dy;
      }
    }
  }
  return [bx, by];
}

/**
 * Block vectors: a grid of BLOCK x BLOCK blocks of `from`, each searched in `to` within
 * `radius` cells of its guess, refined to a fraction of a cell by a parabola through the
 * differences. Flat blocks and blocks whose best match is not clearly better in both
 * directions (an edge, a repeated pattern) give nothing.
 */
function matchBlocks(from: Luma, to: Luma, guess: (x: number, y: number) => { x: number; y: number }, radius: number): BlockVector[] {
  const { width: w, height: h } = from;
  const cols = 8, rows = 5;
  const out: BlockVector[] = [];
  const n = 2 * radius + 1;
  const sad = new Float64Array(n * n);
  const margin = 2;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const bx = Math.round(margin + ((w - BLOCK - 2 * margin) * c) / (cols - 1));
      const by = Math.round(margin + ((h - BLOCK - 2 * margin) * r) / (rows - 1));
      const cx = bx + (BLOCK - 1) / 2, cy = by + (BLOCK - 1) / 2;
      if (texture(from, bx, by) < 2.5) continue;
      const g = guess(cx, cy);
      const gx = Math.round(g.x), gy = Math.round(g.y);
      let best = Infinity, bi = -1;
      for (let j = 0; j < n; j++) {
        for (let i = 0; i < n; i++) {
          const ox = bx + gx + i - radius, oy = by + gy + j - radius;
          if (ox < 0 || oy < 0 || ox + BLOCK > w || oy + BLOCK > h) {
            sad[j * n + i] = Infinity;
            continue;
          }
          let s = 0;
          for (let y = 0; y < BLOCK; y++) {
            const a = (by + y) * w + bx, b = (oy + y) * w + ox;
            for (let x = 0; x < BLOCK; x++) s += Math.abs(from.data[a + x]! - to.data[b + x]!);
          }
          sad[j * n + i] = s;
          if (s < best) {
            best = s;
            bi = j * n + i;
          }
        }
      }
      if (bi < 0) continue;
      const i = bi % n, j = (bi - i) / n;
      if (i === 0 || j === 0 || i === n - 1 || j === n - 1) continue; // at the edge of the search: unreliable
      const l = sad[bi - 1]!, rr = sad[bi + 1]!, u = sad[bi - n]!, d = sad[bi + n]!;
      const curvX = l + rr - 2 * best, curvY = u + d - 2 * best;
      // A match must stand out by more than the noise of a block in both directions.
      const floor = BLOCK * BLOCK * 0.8;
      if (curvX < floor || curvY < floor) continue;
      const fx = (l - rr) / (2 * curvX), fy = (u - d) / (2 * curvY);
      out.push({ x: cx, y: cy, dx: gx + i - radius + fx, dy: gy + j - radius + fy });
    }
  }
  return out;
}

/** Mean absolute horizontal + vertical difference inside a block. */
function texture(p: Luma, bx: number, by: number): number {
  let s = 0;
  for (let y = by; y < by + BLOCK - 1; y++) {
    for (let x = bx; x < bx + BLOCK - 1; x++) {
      const v = p.data[y * p.width + x]!;
      s += Math.abs(p.data[y * p.width + x + 1]! - v) + Math.abs(p.data[(y + 1) * p.width + x]! - v);
    }
  }
  return s / ((BLOCK - 1) * (BLOCK - 1));
}

const residual = (m: Similarity, v: BlockVector) => {
  const p = apply(m, v.x, v.y);
  return Math.hypot(p.x - (v.x + v.dx), p.y - (v.y + v.dy));
};

/**
 * RANSAC over every pair of blocks (and every single block as a pure translation, and
 * no motion at all), then least squares on the inliers of the best hypothesis.
 */
function robustFit(vs: BlockVector[]): { model: Similarity; inliers: BlockVector[] } {
  const hyps: Similarity[] = [IDENTITY];
  for (const v of vs) hyps.push({ a: 1, b: 0, tx: v.dx, ty: v.dy });
  for (let i = 0; i < vs.length; i++) {
    for (let j = i + 1; j < vs.length; j++) {
      const p = vs[i]!, q = vs[j]!;
      if (Math.hypot(p.x - q.x, p.y - q.y) < BLOCK) continue;
      const m = fitSimilarity([p, q]);
      // A PTZ step between two analysed frames does not zoom by more than a third or roll.
      if (m && Math.abs(zoomOf(m) - 1) < 0.33 && Math.abs(m.b) < 0.1) hyps.push(m);
    }
  }
  let best: { model: Similarity; inliers: BlockVector[]; cost: number } = { model: IDENTITY, inliers: [], cost: Infinity };
  const lim = INLIER_CELLS * INLIER_CELLS;
  for (const m of hyps) {
    let count = 0, cost = 0;
    for (const v of vs) {
      const ex = m.a * v.x - m.b * v.y + m.tx - v.x - v.dx, ey = m.b * v.x + m.a * v.y + m.ty - v.y - v.dy;
      const e2 = ex * ex + ey * ey;
      if (e2 < lim) {
        count++;
        cost += e2;
      }
    }
    if (count > best.inliers.length || (count === best.inliers.length && cost < best.cost)) {
      best = { model: m, inliers: vs.filter((v) => residual(m, v) < INLIER_CELLS), cost };
    }
  }
  if (best.inliers.length < 2) return { model: best.model, inliers: best.inliers };
  for (let k = 0; k < 2; k++) {
    const m = fitSimilarity(best.inliers);
    if (!m) break;
    const inl = vs.filter((v) => residual(m, v) < INLIER_CELLS);
    if (inl.length < best.inliers.length) break;
    best = { model: m, inliers: inl, cost: 0 };
  }
  return { model: best.model, inliers: best.inliers };
}

/** Least-squares similarity through block vectors (at least two), centred for conditioning. */
function fitSimilarity(vs: BlockVector[]): Similarity | undefined {
  const n = vs.length;
  if (n < 2) return undefined;
  let mx = 0, my = 0, mu = 0, mv = 0;
  for (const v of vs) {
    mx += v.x;
    my += v.y;
    mu += v.x + v.dx;
    mv += v.y + v.dy;
  }
  mx /= n; my /= n; mu /= n; mv /= n;
  let sxx = 0, sa = 0, sb = 0;
  for (const v of vs) {
    const x = v.x - mx, y = v.y - my, u = v.x + v.dx - mu, w = v.y + v.dy - mv;
    sxx += x * x + y * y;
    sa += x * u + y * w;
    sb += x * w - y * u;
  }
  if (sxx < 1e-9) return undefined;
  const a = sa / sxx, b = sb / sxx;
  return { a, b, tx: mu - (a * mx - b * my), ty: mv - (b * mx + a * my) };
}
