/**
 * Readable licence plates for tests and the demo: real blank plate photos (from a
 * registry package) with registration characters rendered on by GStreamer's
 * textoverlay. The character box, which is what must be masked, is measured exactly by
 * comparing the plate with and without its characters.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readRecords } from '../media/gst-process.js';
import { i420Layout, parseRawCaps, type I420Layout } from '../media/frame.js';
import { quoteLocation } from '../media/profiles.js';
import type { Box } from '../masking/geometry.js';
import { VeilportError } from '../util/errors.js';
import { cropScale, type Picture } from './compose.js';
import { FIXTURES_DIR } from './faces.js';

export const PLATE_PHOTOS = ['ny2010', 'ca1993', 'tx2009', 'pa2004', 'nj1993', 'wa1998', 'oh2004', 'fl2004'];

async function render(file: string, text: string | undefined): Promise<Picture> {
  const overlay = text === undefined ? '' : ` ! textoverlay text=${JSON.stringify(text)} font-desc="DejaVu Sans Condensed Bold 56" valignment=center halignment=center color=0xff141414 draw-shadow=false draw-outline=false ! videoconvert`;
  let layout: I420Layout | undefined;
  for await (const r of readRecords(`filesrc location=${quoteLocation(file)} ! jpegdec ! videoconvert${overlay} ! video/x-raw,format=I420 ! appsink name=out`, { label: `plate ${file}` })) {
    if (r.kind === 'caps') {
      const c = parseRawCaps(r.caps)!;
      layout = i420Layout(c.width, c.height);
    } else if (layout) return { layout, data: r.data };
  }
  throw new VeilportError('MEDIA_UNREADABLE', `${file}: no picture`);
}

export interface Plate {
  picture: Picture;
  /** Where the characters are, in the plate picture's pixels. */
  characters: Box;
}

/** Plate photo i with `text` on it, scaled to `width` pixels wide. */
export async function plate(i: number, text: string, width: number): Promise<Plate> {
  const file = join(FIXTURES_DIR, `${PLATE_PHOTOS[i % PLATE_PHOTOS.length]}.jpg`);
  if (!existsSync(file)) throw new VeilportError('NOT_FOUND', `plate photo ${file} is missing; run "node scripts/fetch-fixtures.mjs"`);
  const blank = await render(file, undefined);
  const printed = await render(file, text);
  const L = blank.layout;
  let x0 = L.width, y0 = L.height, x1 = -1, y1 = -1;
  for (let y = 0; y < L.height; y++) {
    for (let x = 0; x < L.width; x++) {
      if (Math.abs(blank.data[y * L.yStride + x]! - printed.data[y * L.yStride + x]!) > 24) {
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
    }
  }
  if (x1 < 0) throw new VeilportError('MEDIA_UNREADABLE', `${file}: the characters did not render`);
  const s = width / L.width;
  const height = Math.round(L.height * s) & ~1;
  return {
    picture: cropScale(printed, { x: 0, y: 0, w: L.width, h: L.height }, width, height),
    characters: { x: Math.floor(x0 * s), y: Math.floor(y0 * s), w: Math.ceil((x1 - x0 + 1) * s), h: Math.ceil((y1 - y0 + 1) * s) },
  };
}
