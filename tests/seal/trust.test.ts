/**
 * Package trust, played as the attacker would: a recipient who has the password
 * decrypts a real package and re-seals the footage under another Ed25519 key, keeping
 * the real box's applianceId, with allowExtract and no expiry. `veilport verify` and
 * `veilport open` must refuse it (no extract written), and say "authentic" only for a
 * trusted key: this box's (--data), a --trust-key (hex or file), or the fleet trust file.
 * Also: a FIFO given as the package is refused at once instead of hanging.
 */
import t from 'tap';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { runCli } from '../helpers/cli.js';
import { applianceIdFor, loadOrCreateSigningKey, openPackage, publicKeyFingerprint, sealPackage, verifyPackage } from '../../src/seal/index.js';
import { bytesSource, verifyPackage as playerVerify, PackageError } from '../../src/player/format.js';
import { FAST, collect, makeSigner, pattern, pieces } from './helpers.js';
import { forgePackage } from './forge.js';
import { specOpen, SpecError } from './spec-reader.js';
import { FLEET_TRUST_FORMAT } from '../../src/seal/trust.js';

const dir = t.testdir();
// Hermetic: no fleet file or box data folder of the host is consulted unless a test names one.
process.env['VEILPORT_TRUST_FILE'] = join(dir, 'no-fleet-file.json');
process.env['VEILPORT_DATA'] = join(dir, 'no-box');
const data = join(dir, 'box');
const pwFile = join(dir, 'pw.txt');
const PASSWORD = 'correct horse battery';
writeFileSync(pwFile, PASSWORD + '\n');
const video = pattern(20_000, 3);
const genuine = join(dir, 'genuine.vpkg');
let box: Awaited<ReturnType<typeof loadOrCreateSigningKey>>;
const attacker = makeSigner(0x66);

t.before(async () => {
  box = await loadOrCreateSigningKey(join(data, 'keys'));
  await sealPackage({
    out: genuine,
    manifest: { caseId: 'C-2026-0031', expiresAt: new Date(Date.now() + 7 * 86_400_000).toISOString(), allowExtract: false },
    video: pieces(video),
    password: PASSWORD,
    signer: box,
    scrypt: FAST,
    chunkSize: 4096,
  });
});

t.test('a genuine package is authentic only against a trusted key', async (t) => {
  const own = await runCli(['verify', genuine, '--data', data]);
  t.equal(own.code, 0, own.err);
  t.match(own.out, /^authentic: /);
  t.match(own.out, new RegExp(`signed by appliance ${box.applianceId} \\(key ${publicKeyFingerprint(box.publicKey)}\\), trusted as this box's key`));
  t.comment(own.out.trim());

  const none = await runCli(['verify', genuine]);
  t.equal(none.code, 1, 'no trusted key: refused');
  t.match(none.err, new RegExp(`^veilport: error: untrusted: signed by an unknown appliance key ${publicKeyFingerprint(box.publicKey)} \\(${box.applianceId}\\)`));
  t.notMatch(none.out, /authentic/);
  t.comment(none.err.trim());

  const hex = await runCli(['verify', genuine, '--trust-key', bytesToHex(box.publicKey)]);
  t.equal(hex.code, 0, hex.err);
  t.match(hex.out, /trusted as --trust-key/);
  const keyFile = join(dir, 'box.pub');
  writeFileSync(keyFile, bytesToHex(box.publicKey) + '\n');
  t.equal((await runCli(['verify', genuine, '--trust-key', keyFile])).code, 0, '--trust-key FILE with the hex key');
  const jsonKey = join(dir, 'box.json');
  writeFileSync(jsonKey, JSON.stringify({ applianceId: box.applianceId, publicKey: bytesToHex(box.publicKey) }));
  t.equal((await runCli(['verify', genuine, '--trust-key', jsonKey])).code, 0, '--trust-key FILE with JSON');
  const other = await runCli(['verify', genuine, '--trust-key', bytesToHex(attacker.publicKey)]);
  t.equal(other.code, 1, 'another trusted key does not make it authentic');

  const j = await runCli(['verify', genuine, '--data', data, '--json']);
  const r = JSON.parse(j.out);
  t.equal(r.signerTrusted, true);
  t.equal(r.trustedAs.source, 'own');
  const jn = await runCli(['verify', genuine, '--json']);
  t.equal(JSON.parse(jn.out).error.code, 'PACKAGE_SIGNATURE');

  const bad = await runCli(['verify', genuine, '--trust-key', 'abc']);
  t.equal(bad.code, 2);
  t.match(bad.err, /--trust-key "abc": neither 64 hex digits/);
  const noKey = await runCli(['verify', genuine, '--data', join(dir, 'empty')]);
  t.equal(noKey.code, 2);
  t.match(noKey.err, /--data .*empty: no appliance key there/);
});

t.test('the fleet trust file: format, permissions, revocation', async (t) => {
  const fleetDir = join(dir, 'etc');
  mkdirSync(fleetDir, { mode: 0o755 });
  const fleet = join(fleetDir, 'trusted-appliances.json');
  const entry = { applianceId: box.applianceId, publicKey: bytesToHex(box.publicKey), name: '마포점 1번 장비' };
  writeFileSync(fleet, JSON.stringify({ format: FLEET_TRUST_FORMAT, issuer: 'Central IT', updatedAt: '2026-11-01T00:00:00Z', appliances: [entry] }), { mode: 0o644 });
  const ok = await runCli(['verify', genuine, '--trust-file', fleet]);
  t.equal(ok.code, 0, ok.err);
  t.match(ok.out, /trusted as fleet: 마포점 1번 장비/);
  // The default location comes from VEILPORT_TRUST_FILE (else /etc/veilport/trusted-appliances.json).
  process.env['VEILPORT_TRUST_FILE'] = fleet;
  t.equal((await runCli(['verify', genuine])).code, 0, 'found at the default location');
  process.env['VEILPORT_TRUST_FILE'] = join(dir, 'no-fleet-file.json');

  chmodSync(fleet, 0o666);
  const open = await runCli(['verify', genuine, '--trust-file', fleet]);
  t.equal(open.code, 2, 'a trust file anyone can write is refused');
  t.match(open.err, /fleet trust file .* is writable by group or others \(mode 0666\)/);
  chmodSync(fleet, 0o644);

  const typo = { ...entry, applianceId: 'vp-aaaaaaaaaaaaaaaa' };
  writeFileSync(fleet, JSON.stringify({ format: FLEET_TRUST_FORMAT, appliances: [typo] }));
  const mism = await runCli(['verify', genuine, '--trust-file', fleet]);
  t.equal(mism.code, 2);
  t.match(mism.err, /appliances\[0\]: applianceId "vp-aaaaaaaaaaaaaaaa" is not the id of its publicKey/);

  writeFileSync(fleet, JSON.stringify({ format: FLEET_TRUST_FORMAT, appliances: [{ ...entry, revokedAt: '2026-11-20T00:00:00+09:00' }] }));
  const rev = await runCli(['verify', genuine, '--trust-file', fleet]);
  t.equal(rev.code, 1);
  t.match(rev.err, /^veilport: error: revoked: signed by appliance key [0-9a-f]{32} \(vp-[a-z2-7]+\), which the fleet trust file revoked on 2026-11-20T00:00:00\+09:00/);
  t.comment(rev.err.trim());
});

t.test('the attack: re-sealed under another key with the real applianceId, allowExtract, no expiry', async (t) => {
  // The recipient has the password, so the clear video is theirs to re-seal.
  const info = await verifyPackage(genuine, { trustedPublicKeys: [box.publicKey] });
  const clear = await collect(openPackage(genuine, { password: PASSWORD }));
  t.ok(Buffer.from(clear).equals(Buffer.from(video)), 'the attacker starts from the real clear video');
  const forgedManifest = { ...info.manifest, packageId: undefined, crypto: undefined, formatVersion: undefined, allowExtract: true, expiresAt: null };
  const forged = join(dir, 'forged.vpkg');
  writeFileSync(forged, await forgePackage({ manifest: JSON.parse(JSON.stringify(forgedManifest)), video: clear, password: PASSWORD, secretKey: attacker.secretKey }));
  const fp = publicKeyFingerprint(attacker.publicKey);

  const v = await runCli(['verify', forged, '--data', data]);
  t.equal(v.code, 1, 'verify refuses it');
  t.match(v.err, new RegExp(`^veilport: error: forged: package names appliance ${box.applianceId} but is signed by an unknown appliance key ${fp}`));
  t.notMatch(v.out, /authentic/);
  t.comment(v.err.trim());
  const v0 = await runCli(['verify', forged]);
  t.equal(v0.code, 1, 'refused without any trust list too: the id is bound to the key');

  const out = join(dir, 'extracted.mp4');
  const o = await runCli(['open', forged, '--data', data, '--password-file', pwFile, '--extract', out]);
  t.equal(o.code, 1, 'open refuses it');
  t.match(o.err, /forged: package names appliance/);
  t.notOk(existsSync(out), 'no extract written');
  t.same(readdirSync(dir).filter((f) => f.startsWith('extracted')), [], 'not even a partial file');

  // The same footage re-sealed under the attacker's own id: consistent, but an unknown key.
  const own = join(dir, 'forged-own-id.vpkg');
  writeFileSync(own, await forgePackage({ manifest: { ...JSON.parse(JSON.stringify(forgedManifest)), applianceId: applianceIdFor(attacker.publicKey) }, video: clear, password: PASSWORD, secretKey: attacker.secretKey }));
  const v2 = await runCli(['verify', own, '--data', data]);
  t.equal(v2.code, 1);
  t.match(v2.err, new RegExp(`^veilport: error: untrusted: signed by an unknown appliance key ${fp} \\(${applianceIdFor(attacker.publicKey)}\\)`));
  const o2 = await runCli(['open', own, '--data', data, '--password-file', pwFile, '--extract', out]);
  t.equal(o2.code, 1);
  t.notOk(existsSync(out), 'no extract written');

  // The other two readers agree: the spec reader and the offline player's.
  const bytes = new Uint8Array((await import('node:fs')).readFileSync(forged));
  await t.rejects(specOpen(bytes, { password: PASSWORD }, new Date()), new SpecError('PACKAGE_SIGNATURE', "applianceId is not the signing key's"));
  const pe = await playerVerify(bytesSource(bytes)).catch((e: unknown) => e);
  t.ok(pe instanceof PackageError && pe.code === 'PACKAGE_SIGNATURE' && pe.reason === 'applianceMismatch', `player reader: ${(pe as Error).message}`);
  const ownBytes = new Uint8Array((await import('node:fs')).readFileSync(own));
  const pu = await playerVerify(bytesSource(ownBytes), { trustedKeys: [box.publicKey] }).catch((e: unknown) => e);
  t.ok(pu instanceof PackageError && pu.reason === 'untrusted', 'a player pinning the box key refuses the attacker-id copy');
  const unpinned = await playerVerify(bytesSource(ownBytes));
  t.equal(unpinned.trusted, false, 'an unpinned player never calls it trusted');
  t.equal(unpinned.keyApplianceId, applianceIdFor(attacker.publicKey));
});

t.test('a FIFO is refused before it is opened (no hang)', async (t) => {
  const fifo = join(dir, 'pipe.vpkg');
  execFileSync('mkfifo', [fifo]);
  const hang = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 5000).unref());
  for (const argv of [['verify', fifo, '--data', data], ['open', fifo, '--data', data, '--password-file', pwFile, '--extract', join(dir, 'fifo.mp4')]]) {
    const t0 = Date.now();
    const r = await Promise.race([runCli(argv), hang]);
    t.not(r, 'hung', `${argv[0]} returned`);
    if (r === 'hung') continue;
    t.equal(r.code, 1, `${argv[0]} exits 1`);
    t.match(r.err, new RegExp(`^veilport: error: not a package: ${fifo.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is a FIFO \\(named pipe\\), not a package file: only regular files are read`));
    t.comment(`${argv[0]}: ${r.err.trim()} (${Date.now() - t0} ms)`);
  }
  t.notOk(existsSync(join(dir, 'fifo.mp4')));
  await t.rejects(verifyPackage(dir), { code: 'PACKAGE_FORMAT', message: /is a directory, not a package file/ });
});
