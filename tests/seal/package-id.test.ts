/**
 * The issuer may choose the package id before sealing (the forensic watermark rendered
 * into the video carries it); the format does not change, and a malformed id is refused.
 */
import t from 'tap';
import { verifyPackage } from '../../src/seal/index.js';
import { NOW, pattern, seal } from './helpers.js';

t.test('a given package id is written to the manifest and reported', async (t) => {
  const id = '0123456789abcdef0123456789abcdef';
  const s = await seal(t.testdir(), 'p.vpkg', pattern(300), { packageId: id });
  t.equal(s.result.packageId, id);
  const v = await verifyPackage(s.path, { now: NOW });
  t.equal(v.packageId, id);
  t.equal(v.manifest.packageId, id);
});

t.test('a malformed package id is refused before anything is written', async (t) => {
  const dir = t.testdir();
  for (const bad of ['0123456789ABCDEF0123456789ABCDEF', 'abc', '0123456789abcdef0123456789abcdeg', 42]) {
    await t.rejects(seal(dir, 'p.vpkg', pattern(10), { packageId: bad as string }), { code: 'BAD_INPUT' }, `refused: ${String(bad)}`);
  }
});
