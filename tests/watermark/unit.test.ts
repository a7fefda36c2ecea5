/**
 * The watermark's parts on their own: the convolutional code corrects errors, a tile
 * carries any id and nothing else, the embedder keeps to its distortion budget, and the
 * detector finds the id in a single synthetic frame after crop and rescale but finds
 * nothing in an unmarked one.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { convEncode, crc32, viterbiDecode, toBits, fromBits } from '../../src/watermark/ecc.js';
import { decodeTile, tileFor, CHIPS, CODED_BITS, SYNC_CHIPS, LAYOUT } from '../../src/watermark/payload.js';
import { createEmbedder, chipPitch, STRENGTH } from '../../src/watermark/embed.js';
import { detect } from '../../src/watermark/detect.js';
import { i420Layout, type Frame } from '../../src/media/frame.js';

function noise(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}
const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());

t.test('CRC-32 and the convolutional code', async (t) => {
  t.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926, 'CRC-32 check value');
  const bits = toBits(randomBytes(20));
  t.same(fromBits(bits), fromBits(toBits(fromBits(bits))));
  const coded = convEncode(bits);
  t.equal(coded.length, 2 * (160 + 6));
  // Soft values at Eb/N0 where hard decisions are often wrong: Viterbi still recovers the bits.
  const r = noise(7);
  const soft = Float64Array.from(coded, (b) => (b ? 1 : -1) + 0.7 * gauss(r));
  const hardErrors = coded.reduce((n, b, i) => n + ((soft[i]! > 0 ? 1 : 0) !== b ? 1 : 0), 0);
  t.ok(hardErrors > 10, `${hardErrors} coded bits wrong before decoding`);
  t.same(viterbiDecode(soft, 160), bits, 'decoded without error');
});

t.test('a tile carries its package id and is balanced', async (t) => {
  for (let i = 0; i < 5; i++) {
    const id = Buffer.from(Array.from({ length: 16 }, (_, k) => (k * 37 + i * 101 + 7) & 255)).toString('hex');
    const tile = tileFor(id);
    t.equal(tile.length, CHIPS);
    t.ok(Math.abs(tile.reduce((a, b) => a + b, 0)) < 120, 'about as many +1 as -1 chips');
    t.equal(decodeTile(Float64Array.from(tile)).packageId, id, 'clean tile decodes');
    // One chip in twenty flipped and all of them in noise (a coded bit in 40 wrong): the code recovers the id.
    const r = noise(i + 1);
    const damaged = Float64Array.from(tile, (v) => (r() < 0.05 ? -v : v) + 0.5 * gauss(r));
    t.equal(decodeTile(damaged).packageId, id, 'damaged tile decodes');
  }
  t.equal(LAYOUT.payloadAt.length + SYNC_CHIPS, CHIPS);
  t.ok(LAYOUT.payloadAt.length >= 2 * CODED_BITS, 'every coded bit is repeated at least twice');
  const r = noise(99);
  let falseIds = 0;
  for (let i = 0; i < 200; i++) if (decodeTile(Float64Array.from({ length: CHIPS }, () => gauss(r))).packageId) falseIds++;
  t.equal(falseIds, 0, 'noise never decodes to an id (CRC-32)');
});

function syntheticFrame(w: number, h: number, seed: number): Frame {
  const layout = i420Layout(w, h);
  const data = Buffer.alloc(layout.size, 128);
  const r = noise(seed);
  // Smooth shading, a few edges and some texture: a stand-in for a scene.
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const edge = (Math.floor(x / 97) + Math.floor(y / 61)) % 3 === 0 ? 40 : 0;
      data[y * layout.yStride + x] = Math.max(0, Math.min(255, Math.round(70 + (90 * x) / w + edge + 6 * (r() - 0.5))));
    }
  }
  return { tNs: 0, durationNs: 0, index: 0, layout, data };
}

const lumaOf = (f: Frame) => {
  const L = f.layout;
  const out = new Float32Array(L.width * L.height);
  for (let y = 0; y < L.height; y++) for (let x = 0; x < L.width; x++) out[y * L.width + x] = f.data[y * L.yStride + x]!;
  return out;
};

t.test('the embedder stays within its budget and the detector finds the id in one frame', async (t) => {
  const id = randomBytes(16).toString('hex');
  const frame = syntheticFrame(1280, 720, 3);
  const before = Buffer.from(frame.data);
  const e = createEmbedder(id);
  e.apply(frame);
  let se = 0;
  for (let i = 0; i < 1280 * 720; i++) se += (frame.data[i]! - before[i]!) ** 2;
  const mse = se / (1280 * 720);
  t.ok(mse <= STRENGTH.mseBudget + 0.05, `MSE ${mse.toFixed(2)} within the budget`);
  t.ok(10 * Math.log10((255 * 255) / mse) >= 42, `PSNR ${(10 * Math.log10((255 * 255) / mse)).toFixed(1)} dB`);
  t.same(frame.data.subarray(frame.layout.uOffset), before.subarray(frame.layout.uOffset), 'chroma untouched');
  t.equal(chipPitch(720), 6);

  const avg = lumaOf(frame);
  const found = detect(avg, 1280, 720);
  t.equal(found.packageId, id, `found (sync ${found.syncScore.toFixed(1)})`);
  t.same(found.period && [Math.round(found.period.x), Math.round(found.period.y)], [192, 192]);

  // Cropped by 7 % on the left and 5 % on top: the tile offset moves.
  const cw = 1280 - 90, ch = 720 - 36;
  const crop = new Float32Array(cw * ch);
  for (let y = 0; y < ch; y++) for (let x = 0; x < cw; x++) crop[y * cw + x] = avg[(y + 36) * 1280 + x + 90]!;
  const c = detect(crop, cw, ch);
  t.equal(c.packageId, id, 'found after a crop');

  t.equal(detect(lumaOf(syntheticFrame(1280, 720, 4)), 1280, 720).packageId, null, 'an unmarked frame has no id');
});
