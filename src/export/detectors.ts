/** Builds the detectors for the requested mask targets from the model manifest. */
import { VeilportError } from '../util/errors.js';
import type { Detector } from '../masking/detectors/detector.js';
import { BlazeFaceDetector } from '../masking/detectors/blazeface.js';
import { DbTextDetector } from '../masking/detectors/db-text.js';
import { NanoDetDetector } from '../masking/detectors/nanodet.js';
import { loadModel, readManifest, type LoadedModel, type ModelFamily } from '../masking/models.js';

/** Targets the CLI accepts: model-backed ones, plus "motion" (foreground masking). */
export const TARGETS = ['face', 'plate', 'person', 'motion'] as const;
export type Target = (typeof TARGETS)[number];
export const DEFAULT_TARGETS: Target[] = ['person', 'face', 'plate', 'motion'];

export function parseTargets(s: string): Target[] {
  const list = s.split(',').map((x) => x.trim()).filter(Boolean);
  for (const x of list) {
    if (!(TARGETS as readonly string[]).includes(x)) throw new VeilportError('BAD_INPUT', `--mask: unknown target "${x}"; choose from ${TARGETS.join(', ')}`);
  }
  if (list.length === 0) throw new VeilportError('BAD_INPUT', '--mask: name at least one target');
  return [...new Set(list)] as Target[];
}

/** Sizes the detectors must reach, in source pixels. */
export interface DetectorSizes {
  /** Smallest face (height) to find; default 24. */
  minFacePx?: number;
  /** Smallest person (height) to find; default 24. */
  minPersonPx?: number;
}

/** The decoder of each model family (models/manifest.json "family"). */
const FAMILIES: Record<ModelFamily, (m: LoadedModel, sizes: Required<DetectorSizes>) => Detector> = {
  blazeface: (m, s) => new BlazeFaceDetector(m, s.minFacePx),
  'db-text': (m) => new DbTextDetector(m),
  nanodet: (m, s) => new NanoDetDetector(m, s.minPersonPx),
};

/** Loads (and checks) every model the targets need; fails closed if one is missing. */
export async function buildDetectors(targets: Target[], sizes: DetectorSizes | number = {}): Promise<{ detectors: Detector[]; models: LoadedModel[] }> {
  // A bare number is the smallest face, as callers passed it before persons had a model.
  const s = typeof sizes === 'number' ? { minFacePx: sizes } : sizes;
  const need: Required<DetectorSizes> = { minFacePx: s.minFacePx ?? 24, minPersonPx: s.minPersonPx ?? 24 };
  const manifest = readManifest();
  const detectors: Detector[] = [];
  const models: LoadedModel[] = [];
  for (const target of targets) {
    if (target === 'motion') continue;
    const entries = manifest.filter((m) => m.target === target);
    if (entries.length === 0) {
      const hint = target === 'person' ? '; run "npm run setup:models" (it converts the NanoDet person model), or use --mask motion' : '';
      throw new VeilportError('MODEL_MISSING', `no model in models/manifest.json masks "${target}"${hint}`);
    }
    for (const entry of entries) {
      const make = FAMILIES[entry.family];
      if (!make) throw new VeilportError('MODEL_MISSING', `model ${entry.name}: no decoder for family ${entry.family}`);
      const m = await loadModel(entry);
      models.push(m);
      detectors.push(make(m, need));
    }
  }
  return { detectors, models };
}
