/**
 * Frames of real footage and photos for the NanoDet tests: chosen frames of OpenCV's
 * vtest.avi (Debian opencv-doc, copied to .cache/fixtures by scripts/fetch-fixtures.mjs)
 * decoded by GStreamer into I420 frames as the analyser sees them, and the real photos
 * in .cache/fixtures.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { i420Layout, type Frame } from '../../src/media/frame.js';
import { quoteLocation } from '../../src/media/profiles.js';
import { FIXTURES_DIR } from '../../src/samples/faces.js';
import { loadPicture } from '../../src/samples/compose.js';
import { VTEST_CACHED_PATH, loadVtestTruth } from '../helpers/real-footage.js';

/** Decodes vtest.avi once and keeps the frames with the given indices (from 0). */
export async function vtestFrames(indices: number[]): Promise<Map<number, Frame>> {
  const c = loadVtestTruth().clip;
  if (!existsSync(VTEST_CACHED_PATH)) throw new Error(`${VTEST_CACHED_PATH} is missing: run node scripts/fetch-fixtures.mjs (needs Debian's opencv-doc)`);
  const layout = i420Layout(c.width, c.height);
  const want = new Set(indices);
  const last = Math.max(...indices);
  const desc = `filesrc location=${quoteLocation(VTEST_CACHED_PATH)} ! avidemux ! avdec_msmpeg4 ! videoconvert ! video/x-raw,format=I420,width=${c.width},height=${c.height} ! fdsink fd=1`;
  const child = spawn('gst-launch-1.0', ['-q', ...(desc.match(/(?:[^\s"]+|"(?:\\.|[^"\\])*")+/g) ?? [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const frames = new Map<number, Frame>();
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let index = 0;
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    pending.push(chunk);
    pendingBytes += chunk.length;
    while (pendingBytes >= layout.size) {
      const all = Buffer.concat(pending);
      if (want.has(index)) {
        frames.set(index, { tNs: Math.round((index * 1e9) / c.fps), durationNs: Math.round(1e9 / c.fps), index, layout, data: Buffer.from(all.subarray(0, layout.size)) });
      }
      index++;
      const rest = all.subarray(layout.size);
      pending = [rest];
      pendingBytes = rest.length;
    }
    if (index > last) break;
  }
  child.kill('SIGKILL');
  for (const i of indices) if (!frames.has(i)) throw new Error(`vtest.avi: frame ${i} not decoded (${index} frames read) ${err}`);
  return frames;
}

/** A real photo from .cache/fixtures as a frame. */
export async function photoFrame(name: string): Promise<Frame> {
  const p = await loadPicture(join(FIXTURES_DIR, name));
  return { tNs: 0, durationNs: 0, index: 0, layout: p.layout, data: p.data };
}
