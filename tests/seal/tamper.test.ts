import t from 'tap';
import { x25519 } from '@noble/curves/ed25519.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { describePackageLayout, openPackage, publicKeyFingerprint, verifyPackage, type Region } from '../../src/seal/index.js';
import { chunkNonce } from '../../src/seal/stream.js';
import { NOW, PASSWORD, TRAILER_BYTES, collect, makeSigner, pattern, redigest, resign, seal, writeBytes } from './helpers.js';

const opts = { password: PASSWORD, now: NOW };

/** What a reader must say when one byte of a region changes (docs/package-format.md, validation order). */
function expectedCode(region: string): string {
  if (region === 'magic' || region === 'version' || region === 'trailer.endMarker') return 'PACKAGE_FORMAT';
  if (region === 'trailer.signature') return 'PACKAGE_SIGNATURE';
  return 'PACKAGE_TAMPERED';
}

interface Extent {
  start: number;
  end: number;
}
/** Chunk record extents from the parsed layout. */
function records(layout: Region[]): Extent[] {
  const out: Extent[] = [];
  for (const r of layout) {
    const m = /^chunk\[(\d+)\]\.(length|tag)$/.exec(r.name);
    if (!m) continue;
    const i = Number(m[1]);
    if (m[2] === 'length') out[i] = { start: r.offset, end: 0 };
    else out[i]!.end = r.offset + r.length;
  }
  return out;
}

const regionOf = (layout: Region[], name: string) => layout.find((r) => r.name === name)!;

t.test('the parsed layout covers every byte exactly once', async (t) => {
  const recipient = x25519.getPublicKey(x25519.utils.randomSecretKey());
  const s = await seal(t.testdir(), 'p.vpkg', pattern(64 * 3 + 10), { recipientPublicKey: recipient });
  const layout = describePackageLayout(s.bytes);
  let pos = 0;
  for (const r of layout) {
    t.equal(r.offset, pos, `${r.name} starts where the previous region ended`);
    pos += r.length;
  }
  t.equal(pos, s.bytes.length, 'regions end at the end of the file');
  const names = layout.map((r) => r.name);
  for (const n of ['magic', 'version', 'headerLength', 'header.manifestLength', 'header.manifest', 'header.keyBlockLength',
    'header.keys.signerPublicKey', 'header.keys.noncePrefix', 'header.keys.password.salt', 'header.keys.password.nonce',
    'header.keys.password.wrappedKey', 'header.keys.recipient.ephemeralPublicKey', 'header.keys.recipient.recipientPublicKey',
    'header.keys.recipient.nonce', 'header.keys.recipient.wrappedKey', 'chunk[3].length', 'chunk[3].nonce', 'chunk[3].ciphertext',
    'chunk[3].tag', 'trailer.digest', 'trailer.signature', 'trailer.endMarker']) {
    t.ok(names.includes(n), `layout has ${n}`);
  }
  t.notOk(names.includes('chunk[4].length'), 'exactly four chunks');
});

t.test('a flipped byte in every region is detected with the right error', async (t) => {
  const dir = t.testdir();
  const recipient = x25519.getPublicKey(x25519.utils.randomSecretKey());
  const s = await seal(dir, 'p.vpkg', pattern(64 * 3 + 10), { recipientPublicKey: recipient });
  const layout = describePackageLayout(s.bytes);
  let n = 0;
  for (const region of layout) {
    if (region.length === 0) continue;
    const at = [...new Set([region.offset, region.offset + (region.length >> 1), region.offset + region.length - 1])];
    for (const offset of at) {
      const bad = Uint8Array.from(s.bytes);
      bad[offset] = bad[offset]! ^ 0x5a;
      const path = await writeBytes(dir, `flip-${n++}.vpkg`, bad);
      const code = expectedCode(region.name);
      await t.rejects(verifyPackage(path, { now: NOW }), { code }, `verify: ${region.name} byte ${offset - region.offset}`);
      await t.rejects(collect(openPackage(path, opts)), { code }, `open: ${region.name} byte ${offset - region.offset}`);
    }
  }
  t.ok(n >= 60, `flipped ${n} bytes`);
});

t.test('reordered, dropped and duplicated chunks', async (t) => {
  const dir = t.testdir();
  const s = await seal(dir, 'p.vpkg', pattern(64 * 4 + 20));
  const layout = describePackageLayout(s.bytes);
  const rec = records(layout);
  t.equal(rec.length, 5);
  const part = (a: number, b: number) => s.bytes.subarray(a, b);
  const head = part(0, rec[0]!.start);
  const trailer = part(s.bytes.length - TRAILER_BYTES, s.bytes.length);
  const body = (order: number[]) => concatBytes(...order.map((i) => part(rec[i]!.start, rec[i]!.end)));
  const prefix = regionOf(layout, 'header.keys.noncePrefix');
  const noncePrefix = s.bytes.slice(prefix.offset, prefix.offset + prefix.length);
  /** Rewrites stored nonces to match positions, so only the AEAD can notice the move. */
  const fixNonces = (bytes: Uint8Array) => {
    const out = Uint8Array.from(bytes);
    let i = 0;
    for (let pos = rec[0]!.start; pos < out.length - TRAILER_BYTES; i++) {
      const len = new DataView(out.buffer).getUint32(pos, false);
      out.set(chunkNonce(noncePrefix, i), pos + 4);
      pos += 28 + len;
    }
    return out;
  };
  const cases: Array<[string, number[]]> = [
    ['swapped chunks 1 and 2', [0, 2, 1, 3, 4]],
    ['dropped the last chunk', [0, 1, 2, 3]],
    ['dropped a middle chunk', [0, 1, 3, 4]],
    ['duplicated chunk 1', [0, 1, 1, 2, 3, 4]],
    ['last chunk moved first', [4, 0, 1, 2, 3]],
  ];
  for (const [name, order] of cases) {
    const spliced = concatBytes(head, body(order), trailer);
    const p1 = await writeBytes(dir, `${name}-1.vpkg`, spliced);
    await t.rejects(verifyPackage(p1, { now: NOW }), { code: 'PACKAGE_TAMPERED' }, `${name}: digest`);
    const p2 = await writeBytes(dir, `${name}-2.vpkg`, redigest(spliced));
    await t.rejects(verifyPackage(p2, { now: NOW }), { code: 'PACKAGE_SIGNATURE' }, `${name}: digest recomputed, not re-signed`);
    // With the appliance's own key (the strongest attacker short of the content key), the AEAD is the last line.
    const p3 = await writeBytes(dir, `${name}-3.vpkg`, resign(fixNonces(spliced), s.signer.secretKey));
    const r = await collect(openPackage(p3, opts)).then(() => 'opened', (e: { code?: string }) => e.code);
    t.equal(r, name === 'last chunk moved first' ? 'PACKAGE_FORMAT' : 'PACKAGE_TAMPERED', `${name}: re-signed, stream authentication`);
  }
  const asIs = await writeBytes(dir, 'nonces-not-fixed.vpkg', resign(concatBytes(head, body([0, 2, 1, 3, 4]), trailer), s.signer.secretKey));
  await t.rejects(verifyPackage(asIs, { now: NOW }), { code: 'PACKAGE_TAMPERED', message: /nonce does not match/ }, 'stored nonce betrays the move');
});

t.test('truncated files and appended bytes', async (t) => {
  const dir = t.testdir();
  const s = await seal(dir, 'p.vpkg', pattern(64 * 4 + 20));
  const rec = records(describePackageLayout(s.bytes));
  const cuts = [1, 7, 14, 100, rec[0]!.start, rec[2]!.start, rec[4]!.end, s.bytes.length - 1];
  for (const cut of cuts) {
    const p = await writeBytes(dir, `cut-${cut}.vpkg`, s.bytes.subarray(0, cut));
    await t.rejects(verifyPackage(p, { now: NOW }), { code: 'PACKAGE_FORMAT' }, `cut at ${cut}`);
  }
  const p0 = await writeBytes(dir, 'empty.vpkg', new Uint8Array(0));
  await t.rejects(verifyPackage(p0, { now: NOW }), { code: 'PACKAGE_FORMAT' }, 'empty file');
  const junk = await writeBytes(dir, 'junk.vpkg', concatBytes(s.bytes, pattern(33)));
  await t.rejects(verifyPackage(junk, { now: NOW }), { code: 'PACKAGE_FORMAT', message: /end marker/ }, 'random bytes appended');
  const trailerCopy = s.bytes.subarray(s.bytes.length - TRAILER_BYTES);
  const again = await writeBytes(dir, 'again.vpkg', concatBytes(s.bytes, trailerCopy));
  await t.rejects(verifyPackage(again, { now: NOW }), { code: 'PACKAGE_TAMPERED' }, 'appended a copy of the trailer');
  const zero = await writeBytes(dir, 'one.vpkg', concatBytes(s.bytes, new Uint8Array(1)));
  await t.rejects(collect(openPackage(zero, opts)), { code: 'PACKAGE_FORMAT' }, 'open refuses one appended byte');
});

t.test('header swapped from another package', async (t) => {
  const dir = t.testdir();
  const a = await seal(dir, 'a.vpkg', pattern(300, 1));
  const b = await seal(dir, 'b.vpkg', pattern(300, 2));
  const la = describePackageLayout(a.bytes);
  const lb = describePackageLayout(b.bytes);
  const startA = records(la)[0]!.start;
  const startB = records(lb)[0]!.start;
  t.equal(startA, startB, 'same header size, so a swap lines up');
  const swapped = concatBytes(b.bytes.subarray(0, startB), a.bytes.subarray(startA));
  const p1 = await writeBytes(dir, 'swap.vpkg', swapped);
  await t.rejects(verifyPackage(p1, { now: NOW }), { code: 'PACKAGE_TAMPERED' }, 'digest');
  const p2 = await writeBytes(dir, 'swap-signed.vpkg', resign(swapped, a.signer.secretKey));
  await t.rejects(verifyPackage(p2, { now: NOW }), { code: 'PACKAGE_TAMPERED', message: /nonce/ }, 're-signed: nonces are from another package');
  // Same password, re-signed, nonces rewritten: the wrapped key and the header hash still differ.
  const pb = regionOf(lb, 'header.keys.noncePrefix');
  const prefixB = b.bytes.slice(pb.offset, pb.offset + pb.length);
  const fixed = Uint8Array.from(swapped);
  let pos = startB;
  for (let i = 0; pos < fixed.length - TRAILER_BYTES; i++) {
    const len = new DataView(fixed.buffer).getUint32(pos, false);
    fixed.set(chunkNonce(prefixB, i), pos + 4);
    pos += 28 + len;
  }
  const p3 = await writeBytes(dir, 'swap-fixed.vpkg', resign(fixed, a.signer.secretKey));
  t.equal((await verifyPackage(p3, { now: NOW })).ok, true, 'structurally valid and signed');
  await t.rejects(collect(openPackage(p3, opts)), { code: 'PACKAGE_TAMPERED', message: /chunk 0/ });
});

t.test('the header hash is bound into every chunk', async (t) => {
  const dir = t.testdir();
  const s = await seal(dir, 'p.vpkg', pattern(200));
  const m = regionOf(describePackageLayout(s.bytes), 'header.manifest');
  const text = new TextDecoder().decode(s.bytes.subarray(m.offset, m.offset + m.length));
  const edited = text.replace('"allowExtract":false', '"allowExtract":true ');
  t.not(edited, text);
  const bad = Uint8Array.from(s.bytes);
  bad.set(new TextEncoder().encode(edited), m.offset);
  const p = await writeBytes(dir, 'edited.vpkg', resign(bad, s.signer.secretKey));
  t.equal((await verifyPackage(p, { now: NOW })).allowExtract, true, 'the signer could say so');
  await t.rejects(collect(openPackage(p, opts)), { code: 'PACKAGE_TAMPERED' }, 'but the chunks were sealed under the original header');
});

t.test('signer trust', async (t) => {
  const dir = t.testdir();
  const s = await seal(dir, 'p.vpkg', pattern(100));
  const other = makeSigner(42);
  await t.rejects(verifyPackage(s.path, { now: NOW, trustedPublicKeys: [other.publicKey] }), { code: 'PACKAGE_SIGNATURE', message: /^signed by an unknown appliance key [0-9a-f]{32} / });
  await t.rejects(verifyPackage(s.path, { now: NOW, trustedPublicKeys: [] }), { code: 'PACKAGE_SIGNATURE' });
  const own = await verifyPackage(s.path, { now: NOW, trustedPublicKeys: [s.signer.publicKey] });
  t.equal(own.signerTrusted, true, 'its own key is trusted');
  t.same(own.trustedAs, { source: 'trust-key', label: 'given key' });
  t.equal((await verifyPackage(s.path, { now: NOW })).signerTrusted, false, 'without a trust list only self-consistency is proven');
  // An attacker re-signing with their own key, put in the header, keeping the real
  // applianceId: the id is not the key's, so every reader refuses it, trust list or not.
  const bad = Uint8Array.from(s.bytes);
  const k = regionOf(describePackageLayout(s.bytes), 'header.keys.signerPublicKey');
  bad.set(other.publicKey, k.offset);
  const p = await writeBytes(dir, 'resigned.vpkg', resign(bad, other.secretKey));
  const forged = new RegExp(`^package names appliance ${s.signer.applianceId} but is signed by an unknown appliance key ${publicKeyFingerprint(other.publicKey)}`);
  await t.rejects(verifyPackage(p, { now: NOW }), { code: 'PACKAGE_SIGNATURE', message: forged });
  await t.rejects(verifyPackage(p, { now: NOW, trustedPublicKeys: [s.signer.publicKey] }), { code: 'PACKAGE_SIGNATURE', message: forged });
  await t.rejects(collect(openPackage(p, { ...opts, trustedPublicKeys: [s.signer.publicKey] })), { code: 'PACKAGE_SIGNATURE' });
  await t.rejects(collect(openPackage(p, opts)), { code: 'PACKAGE_SIGNATURE' }, 'opening refuses it too, before any chunk');
});

t.test('expiry', async (t) => {
  const dir = t.testdir();
  const s = await seal(dir, 'p.vpkg', pattern(100));
  const before = new Date('2026-03-15T08:59:59.999Z');
  const at = new Date('2026-03-15T09:00:00.000Z');
  t.equal((await verifyPackage(s.path, { now: before })).ok, true, 'valid until the last millisecond');
  await t.rejects(verifyPackage(s.path, { now: at }), { code: 'PACKAGE_EXPIRED', message: 'package expired on 2026-03-15T09:00:00.000Z' });
  await t.rejects(collect(openPackage(s.path, { password: PASSWORD, now: at })), { code: 'PACKAGE_EXPIRED' });
  const tampered = Uint8Array.from(s.bytes);
  tampered[tampered.length - 200] = tampered[tampered.length - 200]! ^ 1;
  const p = await writeBytes(dir, 't.vpkg', tampered);
  await t.rejects(verifyPackage(p, { now: at }), { code: 'PACKAGE_TAMPERED' }, 'tampered and expired says tampered');
  const sig = Uint8Array.from(s.bytes);
  sig[sig.length - 20] = sig[sig.length - 20]! ^ 1;
  const p2 = await writeBytes(dir, 's.vpkg', sig);
  await t.rejects(verifyPackage(p2, { now: at }), { code: 'PACKAGE_SIGNATURE' }, 'bad signature and expired says signature');
});

t.test('not a package', async (t) => {
  const dir = t.testdir({ 'notes.txt': 'hello, this is not a package at all, it is a text file of some length'.repeat(5) });
  await t.rejects(verifyPackage(`${dir}/notes.txt`), { code: 'PACKAGE_FORMAT', message: /not a Veilport package/ });
  await t.rejects(verifyPackage(`${dir}/missing.vpkg`), { code: 'NOT_FOUND' });
  await t.rejects(verifyPackage(dir), { code: 'PACKAGE_FORMAT' }, 'a directory');
  const s = await seal(dir, 'p.vpkg', pattern(10));
  const v2 = Uint8Array.from(s.bytes);
  v2[9] = 2;
  const p = await writeBytes(dir, 'v2.vpkg', v2);
  await t.rejects(verifyPackage(p), { code: 'PACKAGE_FORMAT', message: /unsupported package format version 2/ });
});
