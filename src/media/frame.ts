/** Raw I420 video frames as GStreamer lays them out in system memory. */

export interface I420Layout {
  width: number;
  height: number;
  yStride: number;
  uvStride: number;
  uOffset: number;
  vOffset: number;
  /** Chroma plane size in rows/columns (rounded up for odd sizes). */
  uvWidth: number;
  uvHeight: number;
  size: number;
}

const up2 = (n: number) => (n + 1) & ~1;
const up4 = (n: number) => (n + 3) & ~3;

/** GStreamer's default I420 layout (gst_video_info_set_format): rows padded to 4 bytes. */
export function i420Layout(width: number, height: number): I420Layout {
  const yStride = up4(width);
  const uvStride = up4(up2(width) / 2);
  const uOffset = yStride * up2(height);
  const uvHeight = up2(height) / 2;
  const vOffset = uOffset + uvStride * uvHeight;
  return { width, height, yStride, uvStride, uOffset, vOffset, uvWidth: up2(width) / 2, uvHeight, size: vOffset + uvStride * uvHeight };
}

export interface Frame {
  /** Position from the start of the export, in nanoseconds (source timestamps kept). */
  tNs: number;
  durationNs: number;
  /** Index of the frame within the export, from 0. */
  index: number;
  layout: I420Layout;
  data: Buffer;
}

/** Width, height and framerate read from a raw-video caps string. */
export function parseRawCaps(caps: string): { width: number; height: number; format: string; fps?: number } | undefined {
  const w = /width=\(int\)(\d+)/.exec(caps);
  const h = /height=\(int\)(\d+)/.exec(caps);
  const f = /format=\(string\)(\w+)/.exec(caps);
  if (!w || !h || !f) return undefined;
  const fr = /framerate=\(fraction\)(\d+)\/(\d+)/.exec(caps);
  const fps = fr && Number(fr[2]) > 0 ? Number(fr[1]) / Number(fr[2]) : undefined;
  return fps && fps > 0 ? { width: Number(w[1]), height: Number(h[1]), format: f[1]!, fps } : { width: Number(w[1]), height: Number(h[1]), format: f[1]! };
}
