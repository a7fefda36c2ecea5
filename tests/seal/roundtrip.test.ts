import t from 'tap';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { x25519 } from '@noble/curves/ed25519.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { createHash } from 'node:crypto';
import { assertExtractAllowed, openPackage, openPackageWithInfo, sealPackage, verifyPackage } from '../../src/seal/index.js';
import { NOW, PASSWORD, baseManifest, collect, makeSigner, pattern, pieces, seal } from './helpers.js';

const opts = { password: PASSWORD, now: NOW };

t.test('round trip at several sizes', async (t) => {
  const dir = t.testdir();
  const cases: Array<[string, number, number]> = [
    ['empty', 0, 64],
    ['one byte', 1, 64],
    ['exactly one chunk', 64, 64],
    ['one chunk plus one byte', 65, 64],
    ['many chunks, last partial', 64 * 37 + 5, 64],
    ['many chunks, exact multiple', 64 * 20, 64],
    ['default chunk size, several MiB', 3 * 1024 * 1024 + 17, 1024 * 1024],
  ];
  for (const [name, size, chunkSize] of cases) {
    const video = pattern(size, size + 3);
    const s = await seal(dir, `${size}.vpkg`, video, { chunkSize });
    const expectChunks = Math.max(1, Math.ceil(size / chunkSize));
    t.equal(s.result.chunks, expectChunks, `${name}: chunk count`);
    t.equal(s.result.bytes, s.bytes.length, `${name}: reported size`);
    t.equal(s.result.sha256, createHash('sha256').update(s.bytes).digest('hex'), `${name}: reported sha256`);
    const clear = await collect(openPackage(s.path, opts));
    t.same(bytesToHex(clear), bytesToHex(video), `${name}: same bytes back`);
  }
  t.same((await readdir(dir)).filter((f) => f.endsWith('.partial')), [], 'no partial files left');
});

t.test('verify reports the manifest and signer', async (t) => {
  const s = await seal(t.testdir(), 'p.vpkg', pattern(300));
  const r = await verifyPackage(s.path, { now: NOW, trustedPublicKeys: [s.signer.publicKey] });
  t.equal(r.ok, true);
  t.equal(r.packageId, s.result.packageId);
  t.match(r.packageId, /^[0-9a-f]{32}$/);
  t.equal(r.applianceId, s.signer.applianceId);
  t.equal(r.publicKey, bytesToHex(s.signer.publicKey));
  t.match(r.publicKeyFingerprint, /^[0-9a-f]{32}$/);
  t.equal(r.signerTrusted, true);
  t.equal(r.expiresAt, '2026-03-15T09:00:00.000Z');
  t.equal(r.issuedAt, NOW.toISOString());
  t.equal(r.allowExtract, false);
  t.equal(r.recipientFingerprint, null);
  t.equal(r.chunks, 5);
  t.equal(r.sha256, s.result.sha256);
  t.equal(r.manifest.caseId, 'CASE-2026-0042');
  t.same(r.manifest.requester, { reference: 'REQ-17', organisation: 'Mapo Police Station', type: 'police' });
  t.same(r.manifest.crypto, {
    aead: 'XChaCha20-Poly1305',
    chunkSize: 64,
    kdf: { name: 'scrypt', N: 16384, r: 8, p: 1 },
    recipientWrap: null,
    signature: 'Ed25519',
    digest: 'SHA-256',
  });
  t.equal(r.manifest.formatVersion, 1);
});

t.test('default lifetime and explicit no-expiry', async (t) => {
  const dir = t.testdir();
  const m = baseManifest();
  delete m.expiresAt;
  const a = await seal(dir, 'a.vpkg', pattern(10), { manifest: m });
  t.equal((await verifyPackage(a.path, { now: NOW })).expiresAt, '2026-03-15T09:00:00.000Z', '14 days after issue');
  const b = await seal(dir, 'b.vpkg', pattern(10), { manifest: { ...baseManifest(), expiresAt: null } });
  const r = await verifyPackage(b.path, { now: new Date('2099-01-01T00:00:00Z') });
  t.equal(r.expiresAt, null, 'null means no expiry');
});

t.test('wrong password', async (t) => {
  const s = await seal(t.testdir(), 'p.vpkg', pattern(100));
  await t.rejects(collect(openPackage(s.path, { password: 'correct horse battery!', now: NOW })), { code: 'WRONG_PASSWORD' });
  await t.rejects(openPackageWithInfo(s.path, { password: 'short', now: NOW }), { code: 'WRONG_PASSWORD' });
  await t.rejects(openPackageWithInfo(s.path, { now: NOW }), { code: 'BAD_INPUT' }, 'no credential at all');
});

t.test('password is NFC-normalised (composed and decomposed Hangul open alike)', async (t) => {
  const composed = '비밀번호는안전하게'.normalize('NFC');
  const decomposed = composed.normalize('NFD');
  t.not(composed, decomposed);
  const s = await seal(t.testdir(), 'p.vpkg', pattern(50), { password: composed });
  t.same(await collect(openPackage(s.path, { password: decomposed, now: NOW })), pattern(50));
});

t.test('recipient key opens without the password', async (t) => {
  const dir = t.testdir();
  const recipientSecret = x25519.utils.randomSecretKey();
  const recipientPublic = x25519.getPublicKey(recipientSecret);
  const video = pattern(500, 9);
  const s = await seal(dir, 'r.vpkg', video, { recipientPublicKey: recipientPublic });
  const info = await verifyPackage(s.path, { now: NOW });
  t.match(info.recipientFingerprint, /^[0-9a-f]{32}$/);
  t.equal(info.manifest.crypto.recipientWrap, 'X25519-HKDF-SHA256');
  t.same(await collect(openPackage(s.path, { recipientSecretKey: recipientSecret, now: NOW })), video, 'recipient key');
  t.same(await collect(openPackage(s.path, { password: PASSWORD, now: NOW })), video, 'password still works');
  const other = x25519.utils.randomSecretKey();
  await t.rejects(collect(openPackage(s.path, { recipientSecretKey: other, now: NOW })), { code: 'KEY_ERROR' });
  t.same(await collect(openPackage(s.path, { recipientSecretKey: other, password: PASSWORD, now: NOW })), video, 'falls back to the password');
  const plain = await seal(dir, 'plain.vpkg', video);
  await t.rejects(collect(openPackage(plain.path, { recipientSecretKey: recipientSecret, now: NOW })), { code: 'KEY_ERROR' });
  await t.rejects(seal(dir, 'bad.vpkg', video, { recipientPublicKey: new Uint8Array(32) }), { code: 'BAD_INPUT' }, 'low-order key refused');
});

t.test('default scrypt cost (N=2^17) round trip', async (t) => {
  const signer = makeSigner();
  const out = join(t.testdir(), 'default.vpkg');
  await sealPackage({ out, manifest: baseManifest(), video: pieces(pattern(1000)), password: PASSWORD, signer, now: NOW });
  const info = await openPackageWithInfo(out, opts);
  t.same(info.manifest.crypto.kdf, { name: 'scrypt', N: 131072, r: 8, p: 1 });
  t.equal(info.manifest.crypto.chunkSize, 1024 * 1024);
  t.same(await collect(info.video), pattern(1000));
});

t.test('input checks', async (t) => {
  const dir = t.testdir();
  const v = pattern(10);
  await t.rejects(seal(dir, 'a.vpkg', v, { password: '1234567' }), { code: 'BAD_INPUT', message: /at least 8/ });
  t.ok(await seal(dir, 'ok8.vpkg', v, { password: '12345678' }), 'exactly 8 is enough');
  for (const key of ['packageId', 'formatVersion', 'crypto']) {
    await t.rejects(seal(dir, `r-${key}.vpkg`, v, { manifest: { ...baseManifest(), [key]: 1 } }), { code: 'BAD_INPUT' }, `reserved ${key}`);
  }
  await t.rejects(seal(dir, 'b.vpkg', v, { manifest: { ...baseManifest(), applianceId: 'someone-else' } }), { code: 'BAD_INPUT' });
  await t.rejects(seal(dir, 'c.vpkg', v, { manifest: { ...baseManifest(), expiresAt: '2026-03-15 09:00' } }), { code: 'BAD_INPUT' }, 'zone-less date');
  await t.rejects(seal(dir, 'd.vpkg', v, { manifest: { ...baseManifest(), expiresAt: '2026-02-01T00:00:00Z' } }), { code: 'BAD_INPUT' }, 'already expired');
  await t.rejects(seal(dir, 'e.vpkg', v, { manifest: { ...baseManifest(), allowExtract: 'true' } }), { code: 'BAD_INPUT' });
  await t.rejects(seal(dir, 'f.vpkg', v, { scrypt: { N: 2 ** 10, r: 8, p: 1 } }), { code: 'BAD_INPUT' });
  await t.rejects(seal(dir, 'g.vpkg', v, { scrypt: { N: 3 * 2 ** 14, r: 8, p: 1 } }), { code: 'BAD_INPUT' });
  await t.rejects(seal(dir, 'h.vpkg', v, { chunkSize: 8 }), { code: 'BAD_INPUT' });
  await t.rejects(seal(dir, 'i.vpkg', v, { signer: { ...makeSigner(), publicKey: makeSigner(9).publicKey } }), { code: 'KEY_ERROR' });
  await t.rejects(seal(dir, 'ok8.vpkg', v), { code: 'BAD_INPUT', message: /already exists/ }, 'never overwrites');
  await t.rejects(seal(dir, 'no/such/dir.vpkg', v), { code: 'BAD_INPUT', message: /cannot create .*ENOENT/ }, 'missing directory');
  const entries = (await readdir(dir)).sort();
  t.same(entries, ['ok8.vpkg'], 'refused seals leave nothing behind');
});

t.test('a failing video stream leaves no file', async (t) => {
  const dir = t.testdir();
  async function* failing(): AsyncGenerator<Uint8Array> {
    yield pattern(1000);
    throw new Error('decoder crashed');
  }
  await t.rejects(seal(dir, 'x.vpkg', new Uint8Array(0), { video: failing() }), { message: 'decoder crashed' });
  async function* wrongType(): AsyncGenerator<Uint8Array> {
    yield 'text' as unknown as Uint8Array;
  }
  await t.rejects(seal(dir, 'y.vpkg', new Uint8Array(0), { video: wrongType() }), { code: 'BAD_INPUT' });
  const producer = pieces(pattern(10));
  await t.rejects(seal(dir, 'z.vpkg', new Uint8Array(0), { video: producer, password: 'short' }), { code: 'BAD_INPUT' });
  t.same(await producer.next(), { done: true, value: undefined }, 'an early refusal still closes the video source');
  t.same(await readdir(dir), [], 'neither package nor partial');
});

t.test('a stale partial is not overwritten', async (t) => {
  const dir = t.testdir({ 'x.vpkg.partial': 'someone else is writing this' });
  await t.rejects(seal(dir, 'x.vpkg', pattern(10)), { code: 'BAD_INPUT', message: /partial exists/ });
  t.equal((await stat(join(dir, 'x.vpkg.partial'))).size, 28, 'left as it was');
});

t.test('assertExtractAllowed', async (t) => {
  t.throws(() => assertExtractAllowed({ allowExtract: false }), { code: 'EXTRACT_FORBIDDEN' });
  t.throws(() => assertExtractAllowed({}), { code: 'EXTRACT_FORBIDDEN' });
  t.throws(() => assertExtractAllowed({ allowExtract: 'true' }), { code: 'EXTRACT_FORBIDDEN' });
  t.doesNotThrow(() => assertExtractAllowed({ allowExtract: true }));
  const s = await seal(t.testdir(), 'p.vpkg', pattern(10), { manifest: { ...baseManifest(), allowExtract: true } });
  const r = await verifyPackage(s.path, { now: NOW });
  t.doesNotThrow(() => assertExtractAllowed(r.manifest));
});
