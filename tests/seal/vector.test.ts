import t from 'tap';
import { readFile } from 'node:fs/promises';
import { x25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { describePackageLayout, openPackage, verifyPackage } from '../../src/seal/index.js';
import { NOW, PASSWORD, collect, pattern, seal, writeBytes } from './helpers.js';
import { specOpen } from './spec-reader.js';
import { VECTOR, buildVector, hexdump } from './vector.js';

const DOC = new URL('../../docs/package-format.md', import.meta.url);

t.test('the worked example in the spec is what the sealer writes', async (t) => {
  const bytes = await buildVector(t.testdir());
  const doc = await readFile(DOC, 'utf8');
  const block = /<!-- vector:begin -->\n```\n([\s\S]*?)\n```\n<!-- vector:end -->/.exec(doc);
  t.ok(block, 'doc has the vector block');
  t.equal(block?.[1], hexdump(bytes), 'hex dump in the doc matches byte for byte');
  t.ok(doc.includes(bytesToHex(sha256(bytes))), 'doc states the file SHA-256');
  const firstChunk = describePackageLayout(bytes).find((r) => r.name === 'chunk[0].length')!.offset;
  t.ok(doc.includes(bytesToHex(sha256(bytes.subarray(0, firstChunk)))), 'doc states the header hash');
});

t.test('the worked example opens with both readers', async (t) => {
  const dir = t.testdir();
  const bytes = await buildVector(dir);
  const path = await writeBytes(dir, 'copy.vpkg', bytes);
  t.same(await collect(openPackage(path, { password: VECTOR.password, now: VECTOR.now })), VECTOR.video, 'reference reader, password');
  t.same(await collect(openPackage(path, { recipientSecretKey: VECTOR.recipientSecretKey, now: VECTOR.now })), VECTOR.video, 'reference reader, recipient key');
  t.same((await specOpen(bytes, { password: VECTOR.password }, VECTOR.now)).video, VECTOR.video, 'spec reader, password');
  t.same((await specOpen(bytes, { recipientSecretKey: VECTOR.recipientSecretKey }, VECTOR.now)).video, VECTOR.video, 'spec reader, recipient key');
  await t.rejects(specOpen(bytes, { password: 'wrong password' }, VECTOR.now), { code: 'WRONG_PASSWORD' });
  await t.rejects(specOpen(bytes, { password: VECTOR.password }, new Date('2026-03-15T09:00:00Z')), { code: 'PACKAGE_EXPIRED' });
  t.equal((await verifyPackage(path, { now: VECTOR.now })).publicKeyFingerprint, 'fe812c12f3ab4ce6ac5db69ac352f906');
});

t.test('the spec reader agrees with the reference on real packages', async (t) => {
  const dir = t.testdir();
  const recipientSecret = x25519.utils.randomSecretKey();
  for (const [i, size] of [0, 1, 64, 65, 1000].entries()) {
    const video = pattern(size, i + 5);
    const s = await seal(dir, `p${i}.vpkg`, video, i % 2 ? { recipientPublicKey: x25519.getPublicKey(recipientSecret) } : {});
    t.same((await specOpen(s.bytes, { password: PASSWORD }, NOW)).video, video, `${size} bytes, password`);
    if (i % 2) t.same((await specOpen(s.bytes, { recipientSecretKey: recipientSecret }, NOW)).video, video, `${size} bytes, recipient`);
  }
  // Same verdict as the reference reader for a changed byte in every region.
  const s = await seal(dir, 'flip.vpkg', pattern(150));
  for (const region of describePackageLayout(s.bytes)) {
    if (region.length === 0) continue;
    const bad = Uint8Array.from(s.bytes);
    const at = region.offset + (region.length >> 1);
    bad[at] = bad[at]! ^ 0x01;
    const path = await writeBytes(dir, `flip-${region.offset}.vpkg`, bad);
    const ours = await verifyPackage(path, { now: NOW }).then(() => 'ok', (e: { code: string }) => e.code);
    const theirs = await specOpen(bad, { password: PASSWORD }, NOW).then(() => 'ok', (e: { code: string }) => e.code);
    t.equal(theirs, ours, `${region.name}: both say ${ours}`);
  }
});
