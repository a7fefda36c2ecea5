/**
 * Readable plates (real plate photos with rendered characters) moving over a scene are
 * analysed with the real text detector; frame-level recall of the characters' box is
 * measured, printed and asserted.
 */
import t from 'tap';
import { join } from 'node:path';
import { composeClip, scene } from '../../src/samples/compose.js';
import { plate } from '../../src/samples/plates.js';
import { decodePieces } from '../../src/media/decode.js';
import { loadProfiles } from '../../src/media/profiles.js';
import { readManifest, loadModel } from '../../src/masking/models.js';
import { DbTextDetector } from '../../src/masking/detectors/db-text.js';
import { analyse } from '../../src/masking/analyse.js';
import { masksAt } from '../../src/masking/plan.js';
import { intersection, area, type Box } from '../../src/masking/geometry.js';

const W = 1280, H = 720, FPS = 15, SECONDS = 6;

t.test('plate characters are masked in nearly every frame', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'plates.mp4');
  const specs = [
    { text: 'GKT 4821', width: 110 },
    { text: '7ABC123', width: 150 },
    { text: 'HXJ 2290', width: 200 },
    { text: 'LPN 5107', width: 260 },
  ];
  const plates = await Promise.all(specs.map((s, i) => plate(i, s.text, s.width)));
  const objects = plates.map((p, i) => ({ sprite: p.picture, from: { x: 40 + i * 300, y: 80 + (i % 2) * 300 }, to: { x: 90 + i * 290, y: 160 + ((i + 1) % 2) * 260 }, label: String(i) }));
  const truth = await composeClip({ out: file, width: W, height: H, fps: FPS, seconds: SECONDS, background: scene(W, H, 7), objects });

  const piece = { file, segmentStart: new Date(0), inpointNs: 0, outpointNs: SECONDS * 1e9, codec: 'h264' as const, container: 'mp4' as const, width: W, height: H };
  const model = await loadModel(readManifest().find((m) => m.family === 'db-text')!);
  const result = await analyse(decodePieces([piece], { profile: loadProfiles().find((p) => p.name === 'software')!, from: new Date(0), to: new Date(SECONDS * 1000) }), { detectors: [new DbTextDetector(model)], motion: false });
  const plan = { style: 'mosaic' as const, unmasked: [], manualRegions: [], privacyZones: [] };

  let hit = 0, total = 0;
  const perPlate = specs.map(() => ({ hit: 0, total: 0 }));
  truth.forEach((f, i) => {
    const masks = masksAt(plan, result.tracks, result.frameTimesNs[i]!, W, H, result.cameraPath);
    for (const o of f.objects) {
      const k = Number(o.label);
      const c = plates[k]!.characters;
      const gt: Box = { x: o.x + c.x, y: o.y + c.y, w: c.w, h: c.h };
      const ok = masks.reduce((s, m) => s + intersection(gt, m), 0) / area(gt) >= 0.9;
      perPlate[k]!.total++;
      total++;
      if (ok) { perPlate[k]!.hit++; hit++; }
    }
  });
  specs.forEach((s, k) => t.comment(`recall plate ${s.width} px wide (characters ${plates[k]!.characters.h} px tall): ${(perPlate[k]!.hit / perPlate[k]!.total * 100).toFixed(1)} %`));
  t.comment(`recall all plates: ${(hit / total * 100).toFixed(1)} %`);
  t.ok(hit / total >= 0.95, `frame-level plate recall ${(hit / total).toFixed(3)} >= 0.95`);
});
