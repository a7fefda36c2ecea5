/**
 * The export fails closed on degraded analysis: where the camera moved faster than the
 * analysis could follow, renderAndSeal refuses before rendering anything, naming each
 * stretch, unless a reviewer accepted it or masked the whole picture there.
 */
import t from 'tap';
import { refuseDegraded } from '../../src/export/degraded.js';
import { renderAndSeal } from '../../src/export/job.js';
import type { MaskPlan } from '../../src/masking/plan.js';

const plan: MaskPlan = { style: 'mosaic', unmasked: [], manualRegions: [], privacyZones: [] };
const slew = { fromNs: 4_000_000_000, toNs: 5_500_000_000, reason: 'camera moved up to 300 px between scans (limit 120 px)' };

t.test('a degraded stretch is refused with its times and reason', async (t) => {
  t.throws(() => refuseDegraded([slew], plan, 1280, 720), { code: 'ANALYSIS_FAILED', message: /4\.000-5\.500 s \(camera moved up to 300 px/ });
  t.doesNotThrow(() => refuseDegraded([], plan, 1280, 720), 'nothing degraded: the export goes on');
  t.throws(() => refuseDegraded(undefined, plan, 1280, 720), { message: /does not record where coverage was degraded/ }, 'an analysis that does not say is not trusted');
});

t.test('cleared only by a decision about that stretch', async (t) => {
  t.doesNotThrow(() => refuseDegraded([slew], plan, 1280, 720, [{ fromNs: 3e9, toNs: 6e9 }]), 'accepted by a reviewer');
  t.throws(() => refuseDegraded([slew], plan, 1280, 720, [{ fromNs: 4.5e9, toNs: 6e9 }]), 'an acceptance of part of it is not enough');
  const blank = { ...plan, manualRegions: [{ x: 0, y: 0, w: 1280, h: 720, fromNs: 4e9, toNs: 5.5e9 }] };
  t.doesNotThrow(() => refuseDegraded([slew], blank, 1280, 720), 'the reviewer masked the whole picture there');
  const part = { ...plan, manualRegions: [{ x: 0, y: 0, w: 1280, h: 700, fromNs: 4e9, toNs: 5.5e9 }] };
  t.throws(() => refuseDegraded([slew], part, 1280, 720), 'a region over part of the picture is not');
});

t.test('renderAndSeal refuses before it renders or seals anything', async (t) => {
  const stored = { width: 1280, height: 720, degraded: [slew] } as never;
  // Footage and seal spec that would fail at once if touched: the refusal must come first.
  await t.rejects(
    renderAndSeal(undefined as never, { stored, models: [] }, { plan } as never),
    { code: 'ANALYSIS_FAILED', message: /degraded at 4\.000-5\.500 s/ },
  );
});
