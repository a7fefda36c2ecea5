/** Axis-aligned boxes in frame pixels. */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export function area(b: Box): number {
  return Math.max(0, b.w) * Math.max(0, b.h);
}

export function intersection(a: Box, b: Box): number {
  const x0 = Math.max(a.x, b.x);
  const y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.w, b.x + b.w);
  const y1 = Math.min(a.y + a.h, b.y + b.h);
  return Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
}

export function iou(a: Box, b: Box): number {
  const i = intersection(a, b);
  const u = area(a) + area(b) - i;
  return u > 0 ? i / u : 0;
}

/** Grows a box by a fraction of its size on every side, plus a fixed margin in pixels. */
export function pad(b: Box, fraction: number, px = 0): Box {
  const dx = b.w * fraction + px;
  const dy = b.h * fraction + px;
  return { x: b.x - dx, y: b.y - dy, w: b.w + 2 * dx, h: b.h + 2 * dy };
}

export function hull(a: Box, b: Box): Box {
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, w: Math.max(a.x + a.w, b.x + b.w) - x, h: Math.max(a.y + a.h, b.y + b.h) - y };
}

export function lerpBox(a: Box, b: Box, t: number): Box {
  return { x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t, w: a.w + (b.w - a.w) * t, h: a.h + (b.h - a.h) * t };
}

/** Clips to the frame and snaps outward to whole pixels. */
export function clip(b: Box, width: number, height: number): Box | undefined {
  const x0 = Math.max(0, Math.floor(b.x));
  const y0 = Math.max(0, Math.floor(b.y));
  const x1 = Math.min(width, Math.ceil(b.x + b.w));
  const y1 = Math.min(height, Math.ceil(b.y + b.h));
  return x1 > x0 && y1 > y0 ? { x: x0, y: y0, w: x1 - x0, h: y1 - y0 } : undefined;
}

/** Greedy non-maximum suppression; keeps the higher score. */
export function nms<T extends Box & { score: number }>(items: T[], threshold: number): T[] {
  const sorted = [...items].sort((a, b) => b.score - a.score);
  const kept: T[] = [];
  for (const d of sorted) {
    // Also drop a box mostly inside a kept one: tiles cut faces, and a cut face inside a
    // whole one is the same face.
    if (kept.every((k) => iou(k, d) < threshold && intersection(k, d) < 0.7 * Math.min(area(k), area(d)))) kept.push(d);
  }
  return kept;
}
