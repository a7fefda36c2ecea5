/**
 * Tracing a suspect copy: decode it with GStreamer (any container and codec the box's
 * GStreamer reads), average the luma of its frames, and look for the watermark there.
 */
import { readRecords } from '../media/gst-process.js';
import { i420Layout, parseRawCaps, type I420Layout } from '../media/frame.js';
import { quoteLocation } from '../media/profiles.js';
import { VeilportError } from '../util/errors.js';
import { detect, type Detection } from './detect.js';

export interface TraceOptions {
  /** Start this many seconds into the video (default 0). */
  startS?: number;
  /** Analyse at most this many seconds (default 120). */
  seconds?: number;
  signal?: AbortSignal;
}

export interface TraceResult extends Detection {
  frames: number;
  width: number;
  height: number;
  /** Seconds spent decoding + averaging, and detecting. */
  decodeS: number;
  detectS: number;
}

/** Adds frames' luma into a running sum; the watermark is the same in every frame, the picture is not. */
export class LumaAverager {
  private sum: Float64Array | null = null;
  frames = 0;
  width = 0;
  height = 0;

  add(layout: I420Layout, data: Uint8Array): void {
    if (!this.sum) {
      this.width = layout.width;
      this.height = layout.height;
      this.sum = new Float64Array(layout.width * layout.height);
    }
    if (layout.width !== this.width || layout.height !== this.height) return;
    const s = this.sum;
    const w = this.width;
    for (let y = 0; y < this.height; y++) {
      const row = y * layout.yStride;
      const out = y * w;
      for (let x = 0; x < w; x++) s[out + x] = s[out + x]! + data[row + x]!;
    }
    this.frames++;
  }

  average(): Float32Array {
    if (!this.sum || this.frames === 0) throw new VeilportError('MEDIA_UNREADABLE', 'no video frames to trace');
    const out = new Float32Array(this.sum.length);
    for (let i = 0; i < out.length; i++) out[i] = this.sum[i]! / this.frames;
    return out;
  }
}

/** Decodes `file` and looks for a Veilport watermark in it. */
export async function traceVideo(file: string, opts: TraceOptions = {}): Promise<TraceResult> {
  const t0 = performance.now();
  const avg = new LumaAverager();
  const startNs = Math.round((opts.startS ?? 0) * 1e9);
  const stopNs = startNs + Math.round((opts.seconds ?? 120) * 1e9);
  let layout: I420Layout | null = null;
  const pipeline = `filesrc location=${quoteLocation(file)} ! decodebin ! videoconvert ! video/x-raw,format=I420 ! appsink name=out sync=false max-buffers=4`;
  try {
    // Only a start needs a seek (some streams cannot); the end is where the timestamps pass it.
    for await (const rec of readRecords(pipeline, { label: `trace ${file}`, ...(startNs > 0 ? { startNs } : {}), ...(opts.signal ? { signal: opts.signal } : {}) })) {
      if (rec.kind === 'caps') {
        const c = parseRawCaps(rec.caps);
        if (c) layout = i420Layout(c.width, c.height);
        continue;
      }
      if (rec.ptsNs >= stopNs) break;
      if (!layout || rec.data.length !== layout.size) continue;
      avg.add(layout, rec.data);
    }
  } catch (e) {
    if (avg.frames === 0) throw new VeilportError('MEDIA_UNREADABLE', `${file}: no video could be decoded (${(e as Error).message})`, {}, { cause: e });
    // A damaged tail still leaves the frames before it.
  }
  const average = avg.average();
  const t1 = performance.now();
  const d = detect(average, avg.width, avg.height);
  return { ...d, frames: avg.frames, width: avg.width, height: avg.height, decodeS: (t1 - t0) / 1000, detectS: (performance.now() - t1) / 1000 };
}
