/**
 * Pass 2: decode the same footage at full resolution, apply the mask plan to every
 * frame and feed the encoder. Fails closed: a frame the analysis did not see (the
 * footage changed, or decoding differs) stops the render, and the caller must discard
 * whatever the encoder produced.
 */
import type { Frame } from '../media/frame.js';
import type { Encoder } from '../media/gst-process.js';
import { VeilportError } from '../util/errors.js';
import { masksAt, type MaskPlan } from './plan.js';
import { applyMask } from './styles.js';
import type { Track } from './tracker.js';
import type { CameraPath } from './camera-path.js';

export interface RenderOptions {
  frameTimesNs: number[];
  tracks: Track[];
  cameraPath: CameraPath;
  plan: MaskPlan;
  encoder: Encoder;
  /** Frame rate for the caps, as a fraction "num/den". */
  framerate: string;
  /** Applied to each masked frame after the masks (the forensic watermark hooks here). */
  postProcess?: (frame: Frame) => void;
  onFrame?: (frame: Frame, masks: number) => void;
}

export interface RenderStats {
  frames: number;
  maskedBoxes: number;
  framesWithMasks: number;
}

export async function render(frames: AsyncIterable<Frame>, opts: RenderOptions): Promise<RenderStats> {
  const stats: RenderStats = { frames: 0, maskedBoxes: 0, framesWithMasks: 0 };
  let capsSent = false;
  for await (const frame of frames) {
    const expected = opts.frameTimesNs[frame.index];
    if (expected !== frame.tNs) {
      throw new VeilportError('RENDER_FAILED', `frame ${frame.index} at ${(frame.tNs / 1e9).toFixed(3)} s was not analysed (expected ${expected === undefined ? 'no frame' : (expected / 1e9).toFixed(3) + ' s'}); the footage changed since analysis`);
    }
    const L = frame.layout;
    if (!capsSent) {
      await opts.encoder.setCaps(`video/x-raw,format=I420,width=${L.width},height=${L.height},framerate=${opts.framerate},pixel-aspect-ratio=1/1`);
      capsSent = true;
    }
    const boxes = masksAt(opts.plan, opts.tracks, frame.tNs, L.width, L.height, opts.cameraPath);
    for (const b of boxes) applyMask(frame.data, L, b, opts.plan.style);
    opts.postProcess?.(frame);
    const next = opts.frameTimesNs[frame.index + 1];
    const duration = next !== undefined ? next - frame.tNs : frame.durationNs;
    await opts.encoder.writeFrame(frame.tNs, duration, frame.data);
    stats.frames++;
    stats.maskedBoxes += boxes.length;
    if (boxes.length) stats.framesWithMasks++;
    opts.onFrame?.(frame, boxes.length);
  }
  if (stats.frames !== opts.frameTimesNs.length) {
    throw new VeilportError('RENDER_FAILED', `the render decoded ${stats.frames} frames but ${opts.frameTimesNs.length} were analysed; no output is produced`);
  }
  return stats;
}

/** A frame rate as a GStreamer fraction: 30 -> "30/1", 29.97 -> "30000/1001". */
export function fpsFraction(fps: number): string {
  if (!(fps > 0)) return '0/1';
  if (Math.abs(fps - Math.round(fps)) < 0.01) return `${Math.round(fps)}/1`;
  return `${Math.round(fps * 1001)}/1001`;
}
