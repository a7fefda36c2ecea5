import t from 'tap';
import { join } from 'node:path';
import { stat } from 'node:fs/promises';
import { openPackage, sealPackage, verifyPackage } from '../../src/seal/index.js';
import { FAST, NOW, PASSWORD, baseManifest, makeSigner } from './helpers.js';

/**
 * The sealer and the readers must stream: memory stays flat while far more video than
 * that flows through. 192 MiB in; array-buffer memory (which includes garbage not yet
 * collected, so the bound is loose) must stay under half of that at every sample.
 */
const MiB = 1024 * 1024;
const TOTAL = 192;
const BOUND = (TOTAL / 2) * MiB;

t.test('large video streams through in bounded memory', async (t) => {
  const out = join(t.testdir(), 'big.vpkg');
  const piece = new Uint8Array(MiB).map((_, i) => (i * 31) & 0xff);
  const base = process.memoryUsage().arrayBuffers;
  let peak = 0;
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
  };
  async function* video(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < TOTAL; i++) {
      sample();
      yield piece.slice();
    }
  }
  const sealed = await sealPackage({ out, manifest: baseManifest(), video: video(), password: PASSWORD, signer: makeSigner(), scrypt: FAST, now: NOW });
  t.equal(sealed.chunks, TOTAL);
  t.ok((await stat(out)).size > TOTAL * MiB, 'package holds all the video');
  t.ok(peak < BOUND, `sealing peak array-buffer growth ${Math.round(peak / MiB)} MiB`);

  peak = 0;
  const v = await verifyPackage(out, { now: NOW });
  sample();
  t.equal(v.chunks, TOTAL);
  let n = 0;
  let ok = true;
  for await (const chunk of openPackage(out, { password: PASSWORD, now: NOW })) {
    sample();
    if (chunk.length !== MiB || chunk[MiB - 1] !== piece[MiB - 1]) ok = false;
    n++;
  }
  t.equal(n, TOTAL, 'every chunk back');
  t.ok(ok, 'chunk contents intact');
  t.ok(peak < BOUND, `opening peak array-buffer growth ${Math.round(peak / MiB)} MiB`);
});
