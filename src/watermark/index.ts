/**
 * Invisible forensic watermark: the package id, embedded in the luma of every rendered
 * frame after masking (embed.ts) and recovered blindly from a leaked copy (detect.ts,
 * trace.ts). Layout and coding in payload.ts; what it survives in the README.
 */
export { createEmbedder, chipPitch, STRENGTH, type Embedder, type EmbedStats } from './embed.js';
export { detect, type Detection } from './detect.js';
export { traceVideo, LumaAverager, type TraceOptions, type TraceResult } from './trace.js';

/** Recorded in the manifest's `video.watermark`, so a reader knows which detector applies. */
export const WATERMARK_SCHEME = 'veilport/watermark/v1';
