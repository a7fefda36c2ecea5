/**
 * npm run bench: throughput and memory of the export engine on a 1080p30 H.264 clip
 * of real faces that the bench makes itself, against a baseline measured in the same
 * run: a plain GStreamer transcode (decode + the same encoder settings, no masking).
 * Medians of several runs; ratios against the baseline; targets checked and printed.
 */
import { mkdtemp, rm, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRecords, startEncoder } from '../media/gst-process.js';
import { loadProfiles, encodePipeline, quoteLocation } from '../media/profiles.js';
import { composeClip, scene, type MovingObject } from '../samples/compose.js';
import { faceSprite } from '../samples/faces.js';
import { buildDetectors, DEFAULT_TARGETS } from '../export/detectors.js';
import { analyseFootage, renderFootage, type RangeFootage } from '../export/export.js';
import type { MaskPlan } from '../masking/plan.js';
import { loadOrCreateSigningKey, sealPackage } from '../seal/index.js';
import { PeakMemory } from './memory.js';
import { createEmbedder } from '../watermark/index.js';
import type { Profile } from '../media/profiles.js';
import type { Detector } from '../masking/detectors/detector.js';
import { scaledVtest, VTEST_FPS, windowClip } from './real-footage.js';

const W = 1920, H = 1080, FPS = 30, SECONDS = 20;
const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const seconds = async (f: () => Promise<unknown>) => {
  const t0 = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t0) / 1e9;
};

/** A plain transcode of the clip with the export's encoder chain: the baseline of its workload. */
function transcodePipeline(profile: Profile, clip: string, w: number, h: number, fps: number): string {
  const bitrateKbps = Math.max(500, (w * h * fps * 0.07) / 1000);
  const encodeChain = encodePipeline(profile, { bitrateKbps, gopFrames: fps * 2 }).split(' ! ').slice(1, -1).join(' ! ');
  return `filesrc location=${quoteLocation(clip)} ! qtdemux ! h264parse ! avdec_h264 ! videoconvert ! video/x-raw,format=I420 ! ${encodeChain} ! appsink name=out sync=false`;
}

const footageOf = (clip: string, w: number, h: number, fps: number, frames: number): RangeFootage => ({
  camera: 'cam1', from: new Date(0), to: new Date((frames / fps) * 1000), gaps: [],
  pieces: [{ file: clip, segmentStart: new Date(0), inpointNs: 0, outpointNs: (frames / fps) * 1e9, codec: 'h264', container: 'mp4', width: w, height: h, framerate: fps }],
});

/**
 * Analysis throughput on real footage (default targets, persons included) against the
 * plain transcode of the same clip, medians of RUNS, each pair measured back to back.
 */
async function realWorkloads(dir: string, software: Profile, detectors: Detector[]): Promise<string[]> {
  const clipSeconds = 20;
  const big = join(dir, 'vtest-1080.mp4');
  process.stderr.write(`bench: real footage: ${clipSeconds} s of opencv-doc vtest.avi scaled to 1440x1080, and a 1280x720 window over it, still and panning 1.5 px a frame\n`);
  const frames = await scaledVtest(big, 1440, 1080, clipSeconds);
  const still = join(dir, 'vtest-still.mp4');
  const pan = join(dir, 'vtest-pan.mp4');
  await windowClip(big, still, 0);
  await windowClip(big, pan, 1.5);
  const loads = [
    { name: 'pedestrians 1440x1080', clip: big, w: 1440, h: 1080 },
    { name: 'window 1280x720, still', clip: still, w: 1280, h: 720 },
    { name: 'window 1280x720, pan  ', clip: pan, w: 1280, h: 720 },
  ];
  const out: string[] = [];
  const analyseS = new Map<string, number>();
  for (const l of loads) {
    const base: number[] = [];
    const an: number[] = [];
    let stats = '';
    for (let run = 0; run < RUNS; run++) {
      process.stderr.write(`bench: ${l.name.trim()}: run ${run + 1}/${RUNS}\n`);
      base.push(await seconds(async () => {
        for await (const _ of readRecords(transcodePipeline(software, l.clip, l.w, l.h, VTEST_FPS), { label: 'baseline transcode' })) void _;
      }));
      an.push(await seconds(async () => {
        const a = await analyseFootage(footageOf(l.clip, l.w, l.h, VTEST_FPS, frames), { profile: software, detectors, motion: true });
        const byTarget = new Map<string, number>();
        for (const t of a.tracks) byTarget.set(t.target, (byTarget.get(t.target) ?? 0) + 1);
        stats = `tracks ${[...byTarget].map(([k, v]) => `${k} ${v}`).join(', ')}; ${a.scans} scans, ${a.tilesRun} tiles`;
      }));
    }
    const baseFps = frames / median(base);
    const anFps = frames / median(an);
    analyseS.set(l.name, median(an));
    out.push(`${l.name}: transcode ${baseFps.toFixed(1)} fps; analyse ${anFps.toFixed(1)} fps = ${(anFps / baseFps).toFixed(2)}x the transcode (target >= 0.6x: ${anFps / baseFps >= 0.6 ? 'met' : 'MISSED'}), ${(anFps / VTEST_FPS).toFixed(2)}x real time; ${stats}`);
  }
  const stillS = analyseS.get(loads[1]!.name)!;
  const panS = analyseS.get(loads[2]!.name)!;
  out.push(`camera motion: analysing the panning window costs ${(panS / stillS).toFixed(2)}x the same window held still`);
  return out;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'veilport-bench-'));
  try {
    const software = loadProfiles().find((p) => p.name === 'software')!;
    const clip = join(dir, 'cam1', '2026-01-01', '00-00-00.mp4');
    await mkdir(join(dir, 'cam1', '2026-01-01'), { recursive: true });
    process.stderr.write(`bench: making a ${SECONDS} s ${W}x${H}@${FPS} clip of moving faces\n`);
    const objects: MovingObject[] = [];
    for (const [i, s] of [24, 32, 48, 64, 96, 140].entries()) {
      objects.push({ sprite: await faceSprite(i * 3, s), from: { x: 100 + i * 300, y: 150 + (i % 3) * 250 }, to: { x: 200 + i * 280, y: 250 + ((i + 1) % 3) * 230 }, label: `face${s}` });
    }
    await composeClip({ out: clip, width: W, height: H, fps: FPS, seconds: SECONDS, background: scene(W, H), objects, preset: 'veryfast' });
    const frames = FPS * SECONDS;
    const footage: RangeFootage = {
      camera: 'cam1', from: new Date(0), to: new Date(SECONDS * 1000), gaps: [],
      pieces: [{ file: clip, segmentStart: new Date(0), inpointNs: 0, outpointNs: SECONDS * 1e9, codec: 'h264', container: 'mp4', width: W, height: H, framerate: FPS }],
    };
    const bitrateKbps = Math.max(500, (W * H * FPS * 0.07) / 1000);
    // The baseline: exactly the export's encoder chain, fed straight by the decoder.
    const encodeChain = encodePipeline(software, { bitrateKbps, gopFrames: FPS * 2 }).split(' ! ').slice(1, -1).join(' ! ');
    const transcode = `filesrc location=${quoteLocation(clip)} ! qtdemux ! h264parse ! avdec_h264 ! videoconvert ! video/x-raw,format=I420 ! ${encodeChain} ! appsink name=out sync=false`;

    const { detectors, models } = await buildDetectors(DEFAULT_TARGETS);
    // Inference time per detector during the analyse runs: what limits analysis.
    const inferenceS = new Map<string, number>();
    for (const d of detectors) {
      const detect = d.detect.bind(d);
      d.detect = async (frame, tiles) => {
        const t0 = process.hrtime.bigint();
        try {
          return await detect(frame, tiles);
        } finally {
          inferenceS.set(d.target, (inferenceS.get(d.target) ?? 0) + Number(process.hrtime.bigint() - t0) / 1e9);
        }
      };
    }
    const signer = await loadOrCreateSigningKey(join(dir, 'keys'));
    const plan: MaskPlan = { style: 'mosaic', unmasked: [], manualRegions: [], privacyZones: [] };
    const t = { transcode: [] as number[], analyse: [] as number[], render: [] as number[], renderWatermark: [] as number[], export: [] as number[] };
    const exportPeaksMb: number[] = [];
    let lastInference = new Map<string, number>();
    for (let run = 0; run < RUNS; run++) {
      process.stderr.write(`bench: run ${run + 1}/${RUNS}\n`);
      t.transcode.push(await seconds(async () => {
        for await (const _ of readRecords(transcode, { label: 'baseline transcode' })) void _;
      }));
      let analysis: Awaited<ReturnType<typeof analyseFootage>> | undefined;
      inferenceS.clear();
      t.analyse.push(await seconds(async () => {
        analysis = await analyseFootage(footage, { profile: software, detectors, motion: true });
      }));
      lastInference = new Map(inferenceS);
      t.render.push(await seconds(() => renderFootage(footage, { profile: software, analysis: analysis!, plan, sink: async (v) => { for await (const _ of v) void _; } })));
      // The same render with the forensic watermark, as exports make it.
      const watermark = createEmbedder('0123456789abcdef0123456789abcdef');
      t.renderWatermark.push(await seconds(() => renderFootage(footage, { profile: software, analysis: analysis!, plan, postProcess: (f) => watermark.apply(f), sink: async (v) => { for await (const _ of v) void _; } })));
      const out = join(dir, `bench-${run}.vpkg`);
      const mem = new PeakMemory();
      t.export.push(await seconds(async () => {
        const a = await analyseFootage(footage, { profile: software, detectors, motion: true });
        await renderFootage(footage, { profile: software, analysis: a, plan, sink: (video) => sealPackage({ out, manifest: { bench: true, expiresAt: null }, video, password: 'bench-password', signer }) });
      }));
      exportPeaksMb.push(mem.stop());
    }
    const fps = (k: keyof typeof t) => frames / median(t[k]);
    const base = fps('transcode');
    const rssMb = median(exportPeaksMb);
    const lines = [
      `Veilport bench: ${W}x${H}@${FPS} H.264, ${SECONDS} s (${frames} frames), software profile, ${RUNS} runs, medians`,
      `models: ${models.map((m) => m.entry.name).join(', ')}; targets: ${DEFAULT_TARGETS.join(', ')}`,
      `baseline transcode   ${base.toFixed(1).padStart(6)} fps   1.00x`,
      `analyse              ${fps('analyse').toFixed(1).padStart(6)} fps   ${(fps('analyse') / base).toFixed(2)}x   ${(fps('analyse') / FPS).toFixed(2)}x real time   target >= 1x real time: ${fps('analyse') >= FPS ? 'met' : 'MISSED'}`,
      `render               ${fps('render').toFixed(1).padStart(6)} fps   ${(fps('render') / base).toFixed(2)}x   target >= 0.9x transcode: ${fps('render') / base >= 0.9 ? 'met' : 'MISSED'}`,
      `render + watermark   ${fps('renderWatermark').toFixed(1).padStart(6)} fps   ${(fps('renderWatermark') / base).toFixed(2)}x   watermark costs ${(((median(t.renderWatermark) - median(t.render)) / frames) * 1000).toFixed(1)} ms per frame (${((1 - fps('renderWatermark') / fps('render')) * 100).toFixed(0)}% of render throughput)`,
      `  analyse time spent in inference (last run): ${[...lastInference].map(([k, v]) => `${k} ${((100 * v) / t.analyse[t.analyse.length - 1]!).toFixed(0)}%`).join(', ')}; the rest is decoding, tiling, motion and tracking`,
      `whole export         ${fps('export').toFixed(1).padStart(6)} fps   ${(fps('export') / base).toFixed(2)}x   ${(fps('export') / FPS).toFixed(2)}x real time`,
      `peak RSS (export)    ${rssMb.toFixed(0).padStart(6)} MiB          daemon + pipeline processes, sampled every 100 ms   target < 1024 MiB: ${rssMb < 1024 ? 'met' : 'MISSED'}`,
    ];
    lines.push(...(await realWorkloads(dir, software, detectors)));
    process.stdout.write(lines.join('\n') + '\n');
    await writeFile(join(process.cwd(), 'bench-result.txt'), lines.join('\n') + '\n').catch(() => undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
