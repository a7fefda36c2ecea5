/**
 * The export engine: catalog -> analyse -> render -> encode -> seal, for one camera and
 * one time range. The masked video goes from the encoder's stdout straight into the
 * sealer, so clear video never touches the disk; if anything fails, the partial package
 * (ciphertext under a key that is gone) is removed and nothing leaves.
 */
import { VeilportError } from '../util/errors.js';
import { decodePieces, type DecodePiece } from '../media/decode.js';
import { startEncoder } from '../media/gst-process.js';
import { encodePipeline, type Profile } from '../media/profiles.js';
import { analyse, type AnalysisResult } from '../masking/analyse.js';
import { visibleIds } from '../masking/people.js';
import { maskingReport } from '../masking/report.js';
import { checkPlan, type MaskPlan } from '../masking/plan.js';
import { render, fpsFraction, type RenderStats } from '../masking/render.js';
import type { LoadedModel } from '../masking/models.js';
import type { Detector } from '../masking/detectors/detector.js';
import type { Frame } from '../media/frame.js';
import { Progress, type ProgressListener } from './progress.js';

export interface RangeFootage {
  camera: string;
  from: Date;
  to: Date;
  pieces: (DecodePiece & { framerate?: number })[];
  gaps: { from: Date; to: Date }[];
}

export interface AnalyseStepOptions {
  profile: Profile;
  detectors: Detector[];
  motion: boolean;
  scanHz?: number;
  progress?: boolean;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

export function footageFrames(f: RangeFootage, profile: Profile, stallMs?: number, signal?: AbortSignal) {
  return decodePieces(f.pieces, { profile, from: f.from, to: f.to, ...(stallMs ? { stallMs } : {}), ...(signal ? { signal } : {}) });
}

export function expectedFrames(f: RangeFootage): number {
  const fps = f.pieces[0]?.framerate ?? 30;
  return f.pieces.reduce((n, p) => n + ((p.outpointNs - p.inpointNs) / 1e9) * (p.framerate ?? fps), 0);
}

export async function analyseFootage(f: RangeFootage, o: AnalyseStepOptions): Promise<AnalysisResult & { fps: number }> {
  const progress = new Progress('analyse', expectedFrames(f), o.progress ?? false, o.onProgress);
  const result = await analyse(footageFrames(f, o.profile, undefined, o.signal), {
    detectors: o.detectors,
    motion: o.motion,
    ...(o.scanHz ? { scanHz: o.scanHz } : {}),
    onFrame: () => progress.tick(),
  });
  return { ...result, fps: progress.fps() };
}

export interface RenderStepOptions {
  profile: Profile;
  analysis: AnalysisResult;
  plan: MaskPlan;
  progress?: boolean;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  /** Receives the encoded (masked, clear) bytes; must consume them as they come. */
  sink: (video: AsyncIterable<Uint8Array>) => Promise<unknown>;
  /** Fail a pipeline that makes no progress for this long (default 30 s). */
  stallMs?: number;
  /** Applied to every frame after its masks, before encoding (the forensic watermark). */
  postProcess?: (frame: Frame) => void;
}

/** Renders and hands the encoded stream to `sink`; any failure on either side fails both. */
export async function renderFootage(f: RangeFootage, o: RenderStepOptions): Promise<RenderStats & { fps: number }> {
  checkPlan(o.plan, o.analysis.tracks);
  const fps = f.pieces[0]?.framerate ?? 30;
  const pixels = o.analysis.width * o.analysis.height;
  // About 0.07 bits per pixel per frame: 4.4 Mb/s at 1080p30, clear enough for evidence.
  const bitrateKbps = Math.max(500, (pixels * fps * 0.07) / 1000);
  const encoder = startEncoder(encodePipeline(o.profile, { bitrateKbps, gopFrames: Math.round(fps * 2) }), { label: `encode (${o.profile.name})`, ...(o.stallMs ? { stallMs: o.stallMs } : {}) });
  const progress = new Progress('render', o.analysis.frameTimesNs.length, o.progress ?? false, o.onProgress);
  const sinking = o.sink(encoder.output);
  let stats: RenderStats;
  try {
    stats = await render(footageFrames(f, o.profile, o.stallMs, o.signal), {
      frameTimesNs: o.analysis.frameTimesNs,
      tracks: o.analysis.tracks,
      cameraPath: o.analysis.cameraPath,
      plan: o.plan,
      encoder,
      framerate: fpsFraction(fps),
      ...(o.postProcess ? { postProcess: o.postProcess } : {}),
      onFrame: () => progress.tick(),
    });
    encoder.end();
  } catch (e) {
    encoder.abort(`render failed: ${(e as Error).message}`);
    await sinking.catch(() => undefined);
    throw e;
  }
  await sinking;
  return { ...stats, fps: progress.fps() };
}

/** The masking summary recorded in the package manifest. */
export function maskingSummary(analysis: AnalysisResult, plan: MaskPlan, models: LoadedModel[], targets: string[]) {
  const hidden = visibleIds(analysis.tracks, plan.unmasked);
  return {
    targets,
    style: plan.style,
    personMask: plan.personMask ?? 'head',
    models: models.map((m) => ({ name: m.entry.name, sha256: m.sha256, family: m.entry.family })),
    tracksMasked: analysis.tracks.filter((t) => !hidden.has(t.id)).map((t) => ({ id: t.id, target: t.target })),
    tracksUnmasked: analysis.tracks.filter((t) => hidden.has(t.id)).map((t) => ({ id: t.id, target: t.target })),
    manualRegions: plan.manualRegions.length,
    privacyZones: plan.privacyZones.length,
    frames: analysis.frameTimesNs.length,
    scanHz: analysis.scanHz,
    report: maskingReport(analysis, plan),
  };
}

export function assertNoProblems(problems: { file: string; reason: string }[]): void {
  if (problems.length) {
    const list = problems.map((p) => `${p.file}: ${p.reason}`).join('; ');
    throw new VeilportError('MEDIA_UNREADABLE', `segments in the requested range cannot be read (${list}); nothing was exported`);
  }
}
