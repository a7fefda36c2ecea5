/** 4-connected regions of a grid, with bounding boxes: text maps and motion masks. */

export interface Component {
  x: number;
  y: number;
  w: number;
  h: number;
  /** Cells in the region. */
  n: number;
  /** Sum of the values of its cells (for a mean score). */
  sum: number;
}

/** Regions of cells where `values[i] >= threshold`. */
export function components(values: ArrayLike<number>, W: number, H: number, threshold: number): Component[] {
  const seen = new Uint8Array(W * H);
  const stack: number[] = [];
  const out: Component[] = [];
  for (let start = 0; start < W * H; start++) {
    if (seen[start] || values[start]! < threshold) continue;
    let x0 = W, y0 = H, x1 = -1, y1 = -1, sum = 0, n = 0;
    seen[start] = 1;
    stack.push(start);
    while (stack.length) {
      const p = stack.pop()!;
      const x = p % W;
      const y = (p - x) / W;
      sum += values[p]!;
      n++;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      const next = [x > 0 ? p - 1 : -1, x < W - 1 ? p + 1 : -1, y > 0 ? p - W : -1, y < H - 1 ? p + W : -1];
      for (const q of next) {
        if (q >= 0 && !seen[q] && values[q]! >= threshold) {
          seen[q] = 1;
          stack.push(q);
        }
      }
    }
    out.push({ x: x0, y: y0, w: x1 - x0 + 1, h: y1 - y0 + 1, n, sum });
  }
  return out;
}
