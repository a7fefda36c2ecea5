/** Builds the detectors for the requested mask targets from the model manifest. */
import { VeilportError } from '../util/errors.js';
import type { Detector } from '../masking/detectors/detector.js';
import { BlazeFaceDetector } from '../masking/detectors/blazeface.js';
import { DbTextDetector } from '../masking/detectors/db-text.js';
import { loadModel, readManifest, type LoadedModel } from '../masking/models.js';

/** Targets the CLI accepts: model-backed ones, plus "motion" (foreground masking). */
export const TARGETS = ['face', 'plate', 'person', 'motion'] as const;
export type Target = (typeof TARGETS)[number];
export const DEFAULT_TARGETS: Target[] = ['face', 'plate', 'motion'];

export function parseTargets(s: string): Target[] {
  const list = s.split(',').map((x) => x.trim()).filter(Boolean);
  for (const x of list) {
    if (!(TARGETS as readonly string[]).includes(x)) throw new VeilportError('BAD_INPUT', `--mask: unknown target "${x}"; choose from ${TARGETS.join(', ')}`);
  }
  if (list.length === 0) throw new VeilportError('BAD_INPUT', '--mask: name at least one target');
  return [...new Set(list)] as Target[];
}

/** Loads (and checks) every model the targets need; fails closed if one is missing. */
export async function buildDetectors(targets: Target[], minFacePx = 24): Promise<{ detectors: Detector[]; models: LoadedModel[] }> {
  const manifest = readManifest();
  const detectors: Detector[] = [];
  const models: LoadedModel[] = [];
  for (const target of targets) {
    if (target === 'motion') continue;
    const entries = manifest.filter((m) => m.target === target);
    if (entries.length === 0) {
      const hint = target === 'person' ? '; add a YOLOX-family person model to models/manifest.json, or use --mask motion' : '';
      throw new VeilportError('MODEL_MISSING', `no model in models/manifest.json masks "${target}"${hint}`);
    }
    for (const entry of entries) {
      const m = await loadModel(entry);
      models.push(m);
      if (entry.family === 'blazeface') detectors.push(new BlazeFaceDetector(m, minFacePx));
      else if (entry.family === 'db-text') detectors.push(new DbTextDetector(m));
      else throw new VeilportError('MODEL_MISSING', `model ${entry.name}: the ${entry.family} decoder is not implemented yet`);
    }
  }
  return { detectors, models };
}
