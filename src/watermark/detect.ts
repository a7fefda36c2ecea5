/**
 * Detection: finds the tile pattern in the average luma of a suspect copy and decodes
 * the package id, without knowing the id, the original size, the scale or the crop.
 *
 * 1. Whitening: the average frame minus its local mean (box blur applied twice), divided
 *    by its local RMS and clipped, so the picture's structures and strong edges weigh little.
 * 2. Tile period (scale): the pattern repeats with the tile, so the autocorrelation of
 *    the residual along each axis has peaks at multiples of the period (summed over rows,
 *    resp. columns, via FFT). A harmonic comb over candidate periods picks the few best
 *    per axis; x and y are independent, so a crop later stretched to another aspect ratio
 *    is found too.
 * 3. Folding and sync: for a candidate period pair the residual is folded modulo the
 *    period into one tile of 128 x 128 bins (every tile of every frame adds up), and
 *    circularly cross-correlated (FFT) with the known sync chips: the peak gives the
 *    tile's offset (the crop) and its height over the correlation noise says whether a
 *    watermark is there. The period is then refined to maximise that peak.
 * 4. Payload: chips are read with a matched (tent) filter at the found offset, coded bits
 *    combined over their repetitions, Viterbi-decoded, and accepted only if the CRC-32
 *    over the id holds (chance of a false id below 1e-8 over all candidates tried).
 */
import { fft, fft2, nextPow2 } from './fft.js';
import { CHIPS, decodeTile, syncTile, TILE } from './payload.js';

const BINS = 4 * TILE;
const PER_CHIP = BINS / TILE;

export interface Detection {
  packageId: string | null;
  /** Sync peak height over the correlation noise (z-score) of the best geometry. */
  syncScore: number;
  /** Tile period in the suspect copy, pixels (x, y); original 1080p: 256 x 256. */
  period: { x: number; y: number } | null;
  /** Position of the tile origin in the copy, pixels (modulo the period). */
  offset: { x: number; y: number } | null;
  /** Agreement of the coded bits with the decoded payload (1 = error free). */
  agreement: number;
  /** Geometries tried. */
  tried: number;
  /** Found in the horizontally mirrored picture. */
  mirrored?: boolean;
}

/** Box blur of radius r along rows then columns (edges clamped), into `out`. */
function boxBlur(src: Float32Array, w: number, h: number, r: number, out: Float32Array): void {
  const tmp = new Float32Array(w * h);
  const span = 2 * r + 1;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    let acc = 0;
    for (let k = -r; k <= r; k++) acc += src[row + Math.min(w - 1, Math.max(0, k))]!;
    for (let x = 0; x < w; x++) {
      tmp[row + x] = acc / span;
      acc += src[row + Math.min(w - 1, x + r + 1)]! - src[row + Math.max(0, x - r)]!;
    }
  }
  for (let x = 0; x < w; x++) {
    let acc = 0;
    for (let k = -r; k <= r; k++) acc += tmp[Math.min(h - 1, Math.max(0, k)) * w + x]!;
    for (let y = 0; y < h; y++) {
      out[y * w + x] = acc / span;
      acc += tmp[Math.min(h - 1, y + r + 1) * w + x]! - tmp[Math.max(0, y - r) * w + x]!;
    }
  }
}

/**
 * The residual of the average frame: high-passed (minus its local mean), then divided by
 * its local RMS (radius 4 px) and clipped, so every area weighs about the same: strong
 * edges, and periodic things in the picture (windows, fences, floor tiles), no longer
 * drown the faint tile pattern that is everywhere.
 */
export function whiten(avg: Float32Array, w: number, h: number, radius: number): Float32Array {
  const a = new Float32Array(w * h);
  const b = new Float32Array(w * h);
  boxBlur(avg, w, h, radius, a);
  boxBlur(a, w, h, radius, b);
  const r = new Float32Array(w * h);
  for (let i = 0; i < r.length; i++) {
    r[i] = avg[i]! - b[i]!;
    a[i] = r[i]! * r[i]!;
  }
  boxBlur(a, w, h, 4, b);
  for (let i = 0; i < r.length; i++) r[i] = Math.max(-3, Math.min(3, r[i]! / Math.sqrt(b[i]! + 0.25)));
  return r;
}

/** Autocorrelation along one axis, summed over the other, normalised to 1 at lag 0. */
function axisAutocorrelation(r: Float32Array, w: number, h: number, alongX: boolean): Float64Array {
  const len = alongX ? w : h;
  const lines = alongX ? h : w;
  const n = nextPow2(2 * len);
  const power = new Float64Array(n);
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  const step = lines > 1200 ? 2 : 1;
  for (let l = 0; l < lines; l += step) {
    re.fill(0);
    im.fill(0);
    let mean = 0;
    for (let i = 0; i < len; i++) mean += alongX ? r[l * w + i]! : r[i * w + l]!;
    mean /= len;
    for (let i = 0; i < len; i++) re[i] = (alongX ? r[l * w + i]! : r[i * w + l]!) - mean;
    fft(re, im);
    for (let i = 0; i < n; i++) power[i] = power[i]! + re[i]! * re[i]! + im[i]! * im[i]!;
  }
  im.fill(0);
  fft(power, im, true);
  const ac = new Float64Array(len);
  const zero = power[0]! || 1;
  // Unbiased: divide by the number of overlapping samples at each lag.
  for (let lag = 0; lag < len; lag++) ac[lag] = ((power[lag]! / zero) * len) / (len - lag);
  return ac;
}

/** Candidate tile periods along one axis: harmonic comb over the autocorrelation's local peaks. */
function periodCandidates(ac: Float64Array, min: number, max: number, keep: number): number[] {
  const len = ac.length;
  const hp = new Float64Array(len);
  for (let i = 0; i < len; i++) {
    let s = 0;
    let n = 0;
    for (let d = 4; d <= 14; d++) {
      if (i - d >= 0) (s += ac[i - d]!), n++;
      if (i + d < len) (s += ac[i + d]!), n++;
    }
    hp[i] = ac[i]! - (n ? s / n : 0);
  }
  const at = (x: number) => {
    const i = Math.floor(x);
    if (i + 1 >= len) return 0;
    const f = x - i;
    return hp[i]! * (1 - f) + hp[i + 1]! * f;
  };
  const limit = Math.floor(len * 0.75);
  // Mean over the harmonics, not the sum: a sub-multiple of the period (p/2, p/3) also lands
  // on every true peak but between them too, so its mean is lower; a multiple (2p) has the
  // same mean as p, so among the best scores the smallest period is preferred.
  const scores: { p: number; s: number }[] = [];
  for (let p = min; p <= max; p += 0.25) {
    let s = 0;
    let k = 1;
    for (; k * p < limit || k === 1; k++) s += at(k * p);
    scores.push({ p, s: s / (k - 1) });
  }
  const peaks = scores.filter((c, i) => (i === 0 || c.s >= scores[i - 1]!.s) && (i === scores.length - 1 || c.s >= scores[i + 1]!.s));
  peaks.sort((a, b) => b.s - a.s);
  const top = peaks[0]?.s ?? 0;
  const fundamental = peaks.filter((c) => c.s >= 0.75 * top).sort((a, b) => a.p - b.p)[0];
  const out: number[] = fundamental ? [fundamental.p] : [];
  for (const c of peaks) {
    if (out.length >= keep) break;
    if (out.every((p) => Math.abs(p - c.p) / p > 0.03)) out.push(c.p);
  }
  return out;
}

/** Folds the residual modulo (px, py) into BINS x BINS, averaging. */
function fold(r: Float32Array, w: number, h: number, px: number, py: number): Float64Array {
  const bx = new Int32Array(w);
  const by = new Int32Array(h);
  const cx = new Float64Array(BINS);
  const cy = new Float64Array(BINS);
  for (let x = 0; x < w; x++) {
    const u = (x + 0.5) / px;
    bx[x] = Math.min(BINS - 1, Math.floor((u - Math.floor(u)) * BINS));
    cx[bx[x]!] = cx[bx[x]!]! + 1;
  }
  for (let y = 0; y < h; y++) {
    const v = (y + 0.5) / py;
    by[y] = Math.min(BINS - 1, Math.floor((v - Math.floor(v)) * BINS));
    cy[by[y]!] = cy[by[y]!]! + 1;
  }
  const f = new Float64Array(BINS * BINS);
  for (let y = 0; y < h; y++) {
    const base = by[y]! * BINS;
    const row = y * w;
    for (let x = 0; x < w; x++) f[base + bx[x]!] = f[base + bx[x]!]! + r[row + x]!;
  }
  for (let j = 0; j < BINS; j++) for (let i = 0; i < BINS; i++) f[j * BINS + i] = cx[i]! && cy[j]! ? f[j * BINS + i]! / (cx[i]! * cy[j]!) : 0;
  return f;
}

/** A tile of chip values rendered at bin resolution with the embedder's bilinear spread. */
function renderTile(chips: Float64Array): Float64Array {
  const out = new Float64Array(BINS * BINS);
  for (let y = 0; y < BINS; y++) {
    const v = (y + 0.5) / PER_CHIP - 0.5;
    const i0 = Math.floor(v);
    const fy = v - i0;
    const r0 = ((i0 + TILE) % TILE) * TILE;
    const r1 = ((i0 + 1 + TILE) % TILE) * TILE;
    for (let x = 0; x < BINS; x++) {
      const u = (x + 0.5) / PER_CHIP - 0.5;
      const j0 = Math.floor(u);
      const fx = u - j0;
      const c0 = (j0 + TILE) % TILE;
      const c1 = (j0 + 1 + TILE) % TILE;
      out[y * BINS + x] = (chips[r0 + c0]! * (1 - fx) + chips[r0 + c1]! * fx) * (1 - fy) + (chips[r1 + c0]! * (1 - fx) + chips[r1 + c1]! * fx) * fy;
    }
  }
  return out;
}

let syncSpectrum: { re: Float64Array; im: Float64Array } | null = null;
function syncFft() {
  if (!syncSpectrum) {
    const re = renderTile(syncTile());
    const im = new Float64Array(BINS * BINS);
    fft2(re, im, BINS);
    syncSpectrum = { re, im };
  }
  return syncSpectrum;
}

interface SyncPeak {
  dx: number;
  dy: number;
  z: number;
}

/** Circular cross-correlation of a folded tile with the sync pattern; the best peaks by z-score. */
function syncPeaks(f: Float64Array, keep: number): SyncPeak[] {
  const re = Float64Array.from(f);
  const im = new Float64Array(BINS * BINS);
  fft2(re, im, BINS);
  const s = syncFft();
  for (let i = 0; i < re.length; i++) {
    // F * conj(S)
    const a = re[i]!;
    const b = im[i]!;
    re[i] = a * s.re[i]! + b * s.im[i]!;
    im[i] = b * s.re[i]! - a * s.im[i]!;
  }
  fft2(re, im, BINS, true);
  let mean = 0;
  for (const v of re) mean += v;
  mean /= re.length;
  let sd = 0;
  for (const v of re) sd += (v - mean) ** 2;
  sd = Math.sqrt(sd / re.length) || 1;
  const order = Array.from(re.keys()).sort((a, b) => re[b]! - re[a]!);
  const out: SyncPeak[] = [];
  for (const i of order) {
    const dx = i % BINS;
    const dy = Math.floor(i / BINS);
    // Skip the neighbours of a peak already kept.
    if (out.some((p) => Math.min(Math.abs(p.dx - dx), BINS - Math.abs(p.dx - dx)) < 3 && Math.min(Math.abs(p.dy - dy), BINS - Math.abs(p.dy - dy)) < 3)) continue;
    out.push({ dx, dy, z: (re[i]! - mean) / sd });
    if (out.length >= keep) break;
  }
  return out;
}

/** Soft chip values read at a tile offset (bins) with a tent filter matching the bilinear spread. */
function readChips(f: Float64Array, dx: number, dy: number): Float64Array {
  const chips = new Float64Array(CHIPS);
  for (let i = 0; i < TILE; i++) {
    for (let j = 0; j < TILE; j++) {
      const cx = (j + 0.5) * PER_CHIP - 0.5 + dx;
      const cy = (i + 0.5) * PER_CHIP - 0.5 + dy;
      let s = 0;
      for (let oy = -PER_CHIP + 1; oy < PER_CHIP; oy++) {
        const wy = 1 - Math.abs(oy) / PER_CHIP;
        const yy = (((Math.round(cy) + oy) % BINS) + BINS) % BINS;
        for (let ox = -PER_CHIP + 1; ox < PER_CHIP; ox++) {
          const wx = 1 - Math.abs(ox) / PER_CHIP;
          const xx = (((Math.round(cx) + ox) % BINS) + BINS) % BINS;
          s += wx * wy * f[yy * BINS + xx]!;
        }
      }
      chips[i * TILE + j] = s;
    }
  }
  return chips;
}

/**
 * Finds and decodes the watermark in an average luma image (w x h, row-major).
 * @returns the package id, or null with the best sync score seen.
 */
export function detect(avg: Float32Array, w: number, h: number): Detection {
  const direct = detectAs(avg, w, h);
  if (direct.packageId) return direct;
  // A mirrored copy (a common way to dodge matching) carries the mirrored tile.
  const mirrored = new Float32Array(avg.length);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) mirrored[y * w + x] = avg[y * w + w - 1 - x]!;
  const m = detectAs(mirrored, w, h);
  if (m.packageId) return { ...m, mirrored: true, tried: m.tried + direct.tried };
  return { ...(m.syncScore > direct.syncScore ? m : direct), tried: m.tried + direct.tried };
}

function detectAs(avg: Float32Array, w: number, h: number): Detection {
  const none: Detection = { packageId: null, syncScore: 0, period: null, offset: null, agreement: 0, tried: 0 };
  const minPeriod = 64;
  const maxX = Math.min(640, Math.floor(w * 0.45));
  const maxY = Math.min(640, Math.floor(h * 0.45));
  if (maxX < minPeriod || maxY < minPeriod) return none;
  const r = whiten(avg, w, h, 3);
  // Periodic things in the picture (windows, fences, tiles) also make autocorrelation
  // peaks: several candidates per axis, every pair checked against the sync chips, the
  // best few refined and decoded.
  const candX = periodCandidates(axisAutocorrelation(r, w, h, true), minPeriod, maxX, 6);
  const candY = periodCandidates(axisAutocorrelation(r, w, h, false), minPeriod, maxY, 6);
  let best = none;
  let tried = 0;
  const scored: { px: number; py: number; z: number }[] = [];
  for (const px of candX) {
    for (const py of candY) {
      tried++;
      scored.push({ px, py, z: syncPeaks(fold(r, w, h, px, py), 1)[0]!.z });
    }
  }
  scored.sort((a, b) => b.z - a.z);
  const attempt = (px: number, py: number, peaks: number): Detection | null => {
    const f = fold(r, w, h, px, py);
    tried++;
    for (const p of syncPeaks(f, peaks)) {
      const offset = { x: (p.dx / BINS) * px, y: (p.dy / BINS) * py };
      if (p.z > best.syncScore) best = { ...none, syncScore: p.z, period: { x: px, y: py }, offset };
      const d = decodeTile(readChips(f, p.dx, p.dy));
      if (d.packageId) return { packageId: d.packageId, syncScore: p.z, period: { x: px, y: py }, offset, agreement: d.agreement, tried };
    }
    return null;
  };
  for (const { px, py } of scored.slice(0, 4)) {
    // Refine the period: the sync peak is highest where the folded tiles line up.
    let bx = px;
    let by = py;
    let bz = -Infinity;
    for (const axis of ['x', 'y'] as const) {
      const base = axis === 'x' ? bx : by;
      for (let e = -0.006; e <= 0.0061; e += 0.002) {
        const qx = axis === 'x' ? base * (1 + e) : bx;
        const qy = axis === 'y' ? base * (1 + e) : by;
        tried++;
        const z = syncPeaks(fold(r, w, h, qx, qy), 1)[0]!.z;
        if (z > bz) (bz = z), (bx = qx), (by = qy);
      }
    }
    const found = attempt(bx, by, 3);
    if (found) return { ...found, tried };
  }
  return { ...best, tried };
}

