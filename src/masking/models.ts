/**
 * The model manifest (models/manifest.json) and loading models from it. Loading fails
 * closed: a model that is missing, or whose bytes do not match the manifest's SHA-256,
 * is never run, and the error says how to fix it.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { VeilportError } from '../util/errors.js';

/**
 * What a track is of. Models serve face, plate, person and vehicle (vehicles are not
 * masked themselves: they explain motion and carry plates); motion is foreground that
 * no person or vehicle track explains.
 */
export type MaskTarget = 'face' | 'plate' | 'person' | 'vehicle' | 'motion';
export const MODEL_FAMILIES = ['blazeface', 'db-text', 'nanodet'] as const;
export type ModelFamily = (typeof MODEL_FAMILIES)[number];

export interface ModelInput {
  width: number;
  height: number;
  layout: 'NHWC' | 'NCHW';
  channels: 'RGB' | 'BGR';
  /** Linear map of 0..255 onto [lo, hi] ... */
  scale?: [number, number];
  /** ... or per-channel (x/255 - mean) / std, in the model's channel order. */
  mean?: [number, number, number];
  std?: [number, number, number];
}

export interface ModelEntry {
  name: string;
  file: string;
  sha256: string;
  family: ModelFamily;
  target: MaskTarget;
  classes: string[];
  input: ModelInput;
  /** Object sizes (px at model input) the model finds reliably; drives tiling. */
  minObjectPx: number;
  maxObjectPx?: number;
  /** Detections at or above this are confident: they start tracks. */
  scoreThreshold: number;
  /**
   * Where set, detections from here up to scoreThreshold are emitted too, as weak ones
   * that only continue tracks (two-stage association, see masking/tracker.ts).
   */
  lowScoreThreshold?: number;
  source?: { npm?: string; url?: string; path?: string; sha256?: Record<string, string> };
  /**
   * Where the file is made at setup rather than copied: the source (source.path, a
   * TF.js graph model) is converted by scripts/tfjs-to-onnx.mjs, and the result must
   * hash to sha256 above like any other model.
   */
  conversion?: { from: 'tfjs-graph-model'; tool: string; version: string; notes?: string };
  license?: string;
}

export const MODELS_DIR = fileURLToPath(new URL('../../models/', import.meta.url));

function fail(where: string, msg: string): never {
  throw new VeilportError('BAD_INPUT', `models/manifest.json: ${where}: ${msg}`);
}

function parseEntry(i: number, o: unknown): ModelEntry {
  if (typeof o !== 'object' || o === null) fail(`models[${i}]`, 'must be an object');
  const e = o as Record<string, unknown>;
  const str = (k: string) => (typeof e[k] === 'string' && e[k] !== '' ? (e[k] as string) : fail(`models[${i}].${k}`, 'must be a non-empty string'));
  const num = (k: string) => (typeof e[k] === 'number' && Number.isFinite(e[k]) ? (e[k] as number) : fail(`models[${i}].${k}`, 'must be a number'));
  const family = str('family');
  if (!(MODEL_FAMILIES as readonly string[]).includes(family)) fail(`models[${i}].family`, `"${family}" is not one of ${MODEL_FAMILIES.join(', ')}`);
  const target = str('target');
  if (!['face', 'plate', 'person'].includes(target)) fail(`models[${i}].target`, `"${target}" is not face, plate or person`);
  const sha = str('sha256');
  if (!/^[0-9a-f]{64}$/.test(sha)) fail(`models[${i}].sha256`, 'must be 64 lower-case hex digits');
  const input = e['input'] as ModelInput | undefined;
  if (!input || !(input.width > 0) || !(input.height > 0) || !['NHWC', 'NCHW'].includes(input.layout) || !['RGB', 'BGR'].includes(input.channels)) {
    fail(`models[${i}].input`, 'needs width, height, layout (NHWC|NCHW) and channels (RGB|BGR)');
  }
  if (!input.scale && !(input.mean && input.std)) fail(`models[${i}].input`, 'needs scale [lo, hi] or mean and std');
  const file = str('file');
  if (file.includes('/') || file.includes('..')) fail(`models[${i}].file`, 'must be a plain file name');
  const entry: ModelEntry = {
    name: str('name'),
    file,
    sha256: sha,
    family: family as ModelFamily,
    target: target as MaskTarget,
    classes: Array.isArray(e['classes']) ? (e['classes'] as string[]) : fail(`models[${i}].classes`, 'must be a list'),
    input,
    minObjectPx: num('minObjectPx'),
    scoreThreshold: num('scoreThreshold'),
  };
  if (typeof e['maxObjectPx'] === 'number') entry.maxObjectPx = e['maxObjectPx'];
  if (e['lowScoreThreshold'] !== undefined) {
    const low = num('lowScoreThreshold');
    if (!(low > 0 && low <= entry.scoreThreshold)) fail(`models[${i}].lowScoreThreshold`, 'must be above 0 and at most scoreThreshold');
    entry.lowScoreThreshold = low;
  }
  if (typeof e['source'] === 'object' && e['source'] !== null) entry.source = e['source'] as ModelEntry['source'] & object;
  if (e['conversion'] !== undefined) {
    const c = e['conversion'] as Record<string, unknown> | null;
    if (typeof c !== 'object' || c === null || c['from'] !== 'tfjs-graph-model' || typeof c['tool'] !== 'string' || typeof c['version'] !== 'string') {
      fail(`models[${i}].conversion`, 'needs from "tfjs-graph-model", tool and version');
    }
    entry.conversion = c as unknown as NonNullable<ModelEntry['conversion']>;
  }
  if (typeof e['license'] === 'string') entry.license = e['license'];
  return entry;
}

export function readManifest(dir = MODELS_DIR): ModelEntry[] {
  const path = join(dir, 'manifest.json');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new VeilportError('MODEL_MISSING', `cannot read the model manifest ${path}: ${(e as Error).message}`);
  }
  const models = (json as { models?: unknown }).models;
  if (!Array.isArray(models)) fail('models', 'must be a list');
  return models.map((m, i) => parseEntry(i, m));
}

export interface LoadedModel {
  entry: ModelEntry;
  session: ort.InferenceSession;
  /** SHA-256 of the bytes actually loaded (equals entry.sha256). */
  sha256: string;
}

/**
 * Loads a model after checking its bytes, then runs one warm-up inference so the first
 * real frame is not slow and a broken model fails here, before any footage is touched.
 */
export async function loadModel(entry: ModelEntry, dir = join(MODELS_DIR, 'files')): Promise<LoadedModel> {
  const path = join(dir, entry.file);
  if (!existsSync(path)) {
    throw new VeilportError('MODEL_MISSING', `model ${entry.name} is missing (${path}); run "npm run setup:models" or place ${entry.file} with sha256 ${entry.sha256} there`);
  }
  const bytes = await readFile(path);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== entry.sha256) {
    throw new VeilportError('MODEL_MISMATCH', `model ${entry.name} (${path}) has sha256 ${sha256}, the manifest expects ${entry.sha256}; refusing to run it. Reinstall it with "npm run setup:models"`);
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 2, interOpNumThreads: 1, logSeverityLevel: 3 });
    const { width, height, layout } = entry.input;
    const dims = layout === 'NHWC' ? [1, height, width, 3] : [1, 3, height, width];
    await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', new Float32Array(width * height * 3), dims) });
  } catch (e) {
    throw new VeilportError('MODEL_MISMATCH', `model ${entry.name} cannot be loaded by onnxruntime: ${(e as Error).message}`);
  }
  return { entry, session, sha256 };
}
