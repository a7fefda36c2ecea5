import t from 'tap';
const tap = t;
import { concatBytes } from '@noble/hashes/utils.js';
import { describePackageLayout, openPackage, verifyPackage } from '../../src/seal/index.js';
import { decodeHeader, encodeHeader } from '../../src/seal/header.js';
import { NOW, PASSWORD, TRAILER_BYTES, collect, pattern, redigest, resign, seal, writeBytes } from './helpers.js';

/**
 * Hostile files: length fields and parameters chosen to make a naive reader allocate
 * gigabytes or spin for hours. The digest is recomputed (anyone can) and, where the check
 * sits after the signature, the file is re-signed, so the bound itself must refuse it.
 */

const MiB = 1024 * 1024;

async function refusedWithoutBigAllocation(t: Pick<typeof tap, 'rejects' | 'ok'>, run: () => Promise<unknown>, code: string, message: RegExp, name: string) {
  const before = process.memoryUsage().arrayBuffers;
  const started = Date.now();
  await t.rejects(run(), { code, message }, name);
  const grew = process.memoryUsage().arrayBuffers - before;
  t.ok(grew < 64 * MiB, `${name}: array buffers grew ${Math.round(grew / MiB)} MiB`);
  t.ok(Date.now() - started < 5000, `${name}: refused quickly`);
}

function setU32(bytes: Uint8Array, at: number, v: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  new DataView(out.buffer).setUint32(at, v, false);
  return out;
}

t.test('huge length fields', async (t) => {
  const dir = t.testdir();
  const s = await seal(dir, 'p.vpkg', pattern(300));
  const layout = describePackageLayout(s.bytes);
  const at = (name: string) => layout.find((r) => r.name === name)!.offset;
  const opts = { now: NOW };

  const h = await writeBytes(dir, 'h.vpkg', redigest(setU32(s.bytes, at('headerLength'), 0xffffffff)));
  await refusedWithoutBigAllocation(t, () => verifyPackage(h, opts), 'PACKAGE_FORMAT', /header length 4294967295 is outside/, 'header length');

  const h2 = await writeBytes(dir, 'h2.vpkg', redigest(setU32(s.bytes, at('headerLength'), 4 * MiB)));
  await refusedWithoutBigAllocation(t, () => verifyPackage(h2, opts), 'PACKAGE_FORMAT', /runs past the end of the file/, 'header length within bound but past EOF');

  const m = await writeBytes(dir, 'm.vpkg', redigest(setU32(s.bytes, at('header.manifestLength'), 0xfffffff0)));
  await refusedWithoutBigAllocation(t, () => verifyPackage(m, opts), 'PACKAGE_FORMAT', /manifest length 4294967280 does not fit/, 'manifest length');

  const kb = Uint8Array.from(s.bytes);
  kb[at('header.keyBlockLength')] = 0xff;
  const k = await writeBytes(dir, 'k.vpkg', redigest(kb));
  await refusedWithoutBigAllocation(t, () => verifyPackage(k, opts), 'PACKAGE_FORMAT', /key block length/, 'key block length');

  const c = await writeBytes(dir, 'c.vpkg', resign(setU32(s.bytes, at('chunk[0].length'), 0xffffffff), s.signer.secretKey));
  await refusedWithoutBigAllocation(t, () => verifyPackage(c, opts), 'PACKAGE_FORMAT', /chunk 0 length 4294967295 is outside/, 'chunk length');
  await refusedWithoutBigAllocation(t, () => collect(openPackage(c, { password: PASSWORD, now: NOW })), 'PACKAGE_FORMAT', /chunk 0 length/, 'chunk length (open)');
});

t.test('hostile parameters in a signed manifest', async (t) => {
  const dir = t.testdir();
  const s = await seal(dir, 'p.vpkg', pattern(300));
  const layout = describePackageLayout(s.bytes);
  const chunkStart = layout.find((r) => r.name === 'chunk[0].length')!.offset;
  const header = decodeHeader(s.bytes.subarray(0, chunkStart));
  const text = new TextDecoder().decode(header.manifestBytes);
  /** Rebuilds the package with an edited manifest and signs it with the appliance key. */
  const withManifest = (edited: string) =>
    resign(concatBytes(encodeHeader(new TextEncoder().encode(edited), header.keys), s.bytes.subarray(chunkStart)), s.signer.secretKey);

  const cases: Array<[string, string, RegExp]> = [
    ['scrypt N = 2^30', text.replace('"N":16384', '"N":1073741824'), /scrypt parameters refused/],
    ['scrypt N not a power of two', text.replace('"N":16384', '"N":16385'), /scrypt parameters refused/],
    ['scrypt N below the floor', text.replace('"N":16384', '"N":1024'), /scrypt parameters refused/],
    ['scrypt p = 10^6', text.replace('"p":1', '"p":1000000'), /scrypt parameters refused/],
    ['scrypt r as a string', text.replace('"r":8', '"r":"8"'), /scrypt parameters refused/],
    ['chunk size 2^31', text.replace('"chunkSize":64', '"chunkSize":2147483648'), /chunk size/],
    ['unknown AEAD', text.replace('XChaCha20-Poly1305', 'AES-256-GCM'), /unsupported algorithms/],
    ['zone-less expiry', text.replace('"expiresAt":"2026-03-15T09:00:00.000Z"', '"expiresAt":"2026-03-15T09:00:00"'), /expiresAt/],
    ['expiry a number', text.replace('"expiresAt":"2026-03-15T09:00:00.000Z"', '"expiresAt":0'), /expiresAt/],
    ['not JSON', text.slice(0, -1), /not valid UTF-8 JSON/],
    ['a JSON array', '[1,2,3]', /not a JSON object/],
    ['recipient claimed but absent', text.replace('"recipientWrap":null', '"recipientWrap":"X25519-HKDF-SHA256"'), /recipientWrap/],
    ['packageId edited', text.replace(/"packageId":"[0-9a-f]{32}"/, '"packageId":"../../etc"'), /packageId/],
  ];
  for (const [name, edited, message] of cases) {
    t.not(edited, text, `${name}: edit applied`);
    const p = await writeBytes(dir, `${name}.vpkg`, withManifest(edited));
    await refusedWithoutBigAllocation(t, () => verifyPackage(p, { now: NOW }), 'PACKAGE_FORMAT', message, name);
    await refusedWithoutBigAllocation(t, () => collect(openPackage(p, { password: PASSWORD, now: NOW })), 'PACKAGE_FORMAT', message, `${name} (open)`);
  }
});

t.test('a file of nothing but a valid prefix and a trailer', async (t) => {
  const dir = t.testdir();
  const s = await seal(dir, 'p.vpkg', pattern(10));
  const fake = concatBytes(s.bytes.subarray(0, 14), new Uint8Array(300), s.bytes.subarray(s.bytes.length - TRAILER_BYTES));
  const p = await writeBytes(dir, 'fake.vpkg', redigest(fake));
  await t.rejects(verifyPackage(p, { now: NOW }), { code: 'PACKAGE_FORMAT' });
});
