/**
 * Persons and their faces in the mask plan: a "person" that is a face seen close is
 * masked by that face alone; a standing person keeps their head band; text read on a
 * face is not a plate.
 */
import t from 'tap';
import { Tracker, boxAt, type Track } from '../../src/masking/tracker.js';
import { attachFaces } from '../../src/masking/people.js';
import { masksAt, type MaskPlan } from '../../src/masking/plan.js';
import { dropTextOnFaces } from '../../src/masking/analyse.js';
import type { MaskTarget } from '../../src/masking/models.js';
import { clip, type Box } from '../../src/masking/geometry.js';

const plan = (unmasked: number[] = []): MaskPlan => ({ style: 'mosaic', unmasked, manualRegions: [], privacyZones: [] });
const always = () => true;

/** Tracks of still objects detected at 0, 100 and 200 ns. */
function tracks(objects: { target: MaskTarget; box: Box }[]): Track[] {
  const tr = new Tracker();
  for (const tNs of [0, 100, 200]) {
    for (const target of new Set(objects.map((o) => o.target))) {
      tr.update(target, tNs, objects.filter((o) => o.target === target).map((o) => ({ ...o.box, score: 0.9, target })), always, () => 0);
    }
  }
  const out = tr.finish(200);
  attachFaces(out);
  return out;
}

t.test('a person box that its face fills is masked by the face alone', async (t) => {
  const all = tracks([{ target: 'person', box: { x: 100, y: 100, w: 60, h: 62 } }, { target: 'face', box: { x: 104, y: 104, w: 52, h: 52 } }]);
  const face = all.find((x) => x.target === 'face')!;
  const person = all.find((x) => x.target === 'person')!;
  t.equal(face.ownerId, person.id, 'the face belongs to the close-up person');
  const masks = masksAt(plan(), all, 100, 1280, 720);
  t.equal(masks.length, 1, 'one mask');
  t.same(masks[0], clip(boxAt(face, 100)!, 1280, 720), "the face's own mask, not a head band across it");
  t.equal(masksAt(plan([person.id]), all, 100, 1280, 720).length, 0, 'leaving the person visible leaves the face visible');
  t.equal(masksAt(plan([face.id]), all, 100, 1280, 720).length, 1, 'leaving only the face visible keeps the person masked');
});

t.test('a standing person keeps their head band beside their face', async (t) => {
  const all = tracks([{ target: 'person', box: { x: 100, y: 100, w: 40, h: 120 } }, { target: 'face', box: { x: 112, y: 104, w: 16, h: 16 } }]);
  t.equal(all.find((x) => x.target === 'face')!.ownerId, all.find((x) => x.target === 'person')!.id, 'the face belongs to the person');
  t.equal(masksAt(plan(), all, 100, 1280, 720).length, 2, 'the head band and the face');
});

t.test('a plate read on a face is dropped, a plate beside one is kept', async (t) => {
  const all = tracks([
    { target: 'face', box: { x: 100, y: 100, w: 50, h: 50 } },
    { target: 'plate', box: { x: 110, y: 115, w: 40, h: 20 } },
    { target: 'plate', box: { x: 300, y: 300, w: 80, h: 20 } },
  ]);
  const kept = dropTextOnFaces(all);
  t.equal(kept.filter((x) => x.target === 'plate').length, 1, 'one plate left');
  t.equal(kept.find((x) => x.target === 'plate')!.points[0]!.x, 300, 'the one away from the face');
  t.equal(kept.filter((x) => x.target === 'face').length, 1, 'the face stays');
});
