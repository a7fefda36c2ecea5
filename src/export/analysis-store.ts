/**
 * Stored analyses, so the track ids a reviewer saw from `veilport analyse` are the ids
 * `veilport export --unmask` refers to. The key covers everything that shapes the
 * tracks (footage bytes, range, targets, model hashes, schedule): change any of them
 * and the analysis is run again instead of being trusted.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AnalysisResult, CameraStats } from '../masking/analyse.js';
import type { CameraPath } from '../masking/camera-path.js';
import type { DegradedStretch } from '../masking/scheduler.js';
import { thumbnailPng } from '../masking/thumbnails.js';
import type { Track } from '../masking/tracker.js';

export interface AnalysisKeyParts {
  camera: string;
  from: string;
  to: string;
  targets: string[];
  models: string[];
  segments: { file: string; sha256: string }[];
  scanHz: number;
}

export function analysisKey(k: AnalysisKeyParts): string {
  return createHash('sha256').update(JSON.stringify(k)).digest('hex').slice(0, 32);
}

/** Bumped whenever what an analysis holds, or how tracks are made, changes: older ones are analysed again. */
const VERSION = 4;

export interface StoredAnalysis {
  version: typeof VERSION;
  key: string;
  parts: AnalysisKeyParts;
  width: number;
  height: number;
  scanHz: number;
  frameTimesNs: number[];
  tracks: Track[];
  coastLimitNs: number;
  /** Where coverage was degraded (the export refuses these unreviewed). */
  degraded: DegradedStretch[];
  camera: CameraStats;
  cameraPath: CameraPath;
  /** Thumbnail file per track id, relative to the analysis folder. */
  thumbnails: Record<string, string>;
}

export async function saveAnalysis(dir: string, key: string, parts: AnalysisKeyParts, a: AnalysisResult): Promise<StoredAnalysis> {
  const folder = join(dir, key);
  await mkdir(folder, { recursive: true, mode: 0o700 });
  const thumbnails: Record<string, string> = {};
  for (const [id, th] of a.thumbnails) {
    const name = `track-${id}.png`;
    await writeFile(join(folder, name), thumbnailPng(th), { mode: 0o600 });
    thumbnails[String(id)] = name;
  }
  const stored: StoredAnalysis = {
    version: VERSION,
    key,
    parts,
    width: a.width,
    height: a.height,
    scanHz: a.scanHz,
    frameTimesNs: a.frameTimesNs,
    tracks: a.tracks,
    coastLimitNs: a.coastLimitNs,
    degraded: a.degraded,
    camera: a.camera,
    cameraPath: a.cameraPath,
    thumbnails,
  };
  const file = join(folder, 'analysis.json');
  await writeFile(file + '.tmp', JSON.stringify(stored), { mode: 0o600 });
  await rename(file + '.tmp', file);
  return stored;
}

export async function loadAnalysis(dir: string, key: string): Promise<StoredAnalysis | undefined> {
  try {
    const s = JSON.parse(await readFile(join(dir, key, 'analysis.json'), 'utf8')) as StoredAnalysis;
    return s.version === VERSION && s.key === key ? s : undefined;
  } catch {
    return undefined;
  }
}
