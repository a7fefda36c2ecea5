import t from 'tap';
import { chmod, mkdir, readFile, stat, symlink, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { loadOrCreateSigningKey, verifyPackage } from '../../src/seal/index.js';
import { NOW, pattern, seal } from './helpers.js';

t.test('creates a private key on first use and reuses it', async (t) => {
  const base = t.testdir();
  const dir = join(base, 'keys');
  const k1 = await loadOrCreateSigningKey(dir);
  t.equal((await stat(dir)).mode & 0o777, 0o700, 'directory 0700');
  const file = join(dir, 'appliance-key.json');
  t.equal((await stat(file)).mode & 0o777, 0o600, 'key file 0600');
  t.same(ed25519.getPublicKey(k1.secretKey), k1.publicKey);
  t.match(k1.applianceId, /^vp-[a-z2-7]{16}$/);
  const k2 = await loadOrCreateSigningKey(dir);
  t.same(k2.publicKey, k1.publicKey, 'same key the second time');
  t.equal(k2.applianceId, k1.applianceId);
  t.same((await readdir(dir)).sort(), ['appliance-key.json'], 'no temporary files left');
  const s = await seal(base, 'p.vpkg', pattern(10), { signer: k1 });
  const r = await verifyPackage(s.path, { now: NOW, trustedPublicKeys: [k2.publicKey] });
  t.equal(r.applianceId, k1.applianceId, 'signs packages that verify against it');
});

t.test('concurrent first use agrees on one key', async (t) => {
  const dir = join(t.testdir(), 'keys');
  const keys = await Promise.all([1, 2, 3, 4, 5].map(() => loadOrCreateSigningKey(dir)));
  for (const k of keys) t.same(k.publicKey, keys[0]!.publicKey);
  t.same(await readdir(dir), ['appliance-key.json']);
});

t.test('refuses a key file others can read', async (t) => {
  const base = t.testdir();
  for (const mode of [0o644, 0o640, 0o604, 0o660]) {
    const dir = join(base, mode.toString(8));
    await loadOrCreateSigningKey(dir);
    const file = join(dir, 'appliance-key.json');
    await chmod(file, mode);
    const m = mode.toString(8).padStart(4, '0');
    await t.rejects(loadOrCreateSigningKey(dir), { code: 'KEY_ERROR', message: `signing key file ${file} is readable or writable by group/others (mode ${m}); chmod 600 it` }, `mode ${m}`);
  }
});

t.test('refuses a group-writable key directory', async (t) => {
  const dir = t.testdir();
  await chmod(dir, 0o770);
  await t.rejects(loadOrCreateSigningKey(dir), { code: 'KEY_ERROR', message: /directory .* writable by group\/others/ });
});

t.test('refuses malformed key files, naming them', async (t) => {
  const base = t.testdir();
  const good = join(base, 'good');
  await loadOrCreateSigningKey(good);
  const doc = JSON.parse(await readFile(join(good, 'appliance-key.json'), 'utf8')) as Record<string, string>;
  const other = ed25519.getPublicKey(new Uint8Array(32).fill(3));
  const variants: Array<[string, string]> = [
    ['not json', '{"version":1,'],
    ['array', '[]'],
    ['short secret', JSON.stringify({ ...doc, secretKey: doc.secretKey!.slice(2) })],
    ['foreign public key', JSON.stringify({ ...doc, publicKey: Buffer.from(other).toString('hex') })],
    ['edited appliance id', JSON.stringify({ ...doc, applianceId: 'vp-aaaaaaaaaaaaaaaa' })],
    ['unknown algorithm', JSON.stringify({ ...doc, algorithm: 'RSA' })],
  ];
  for (const [i, [name, text]] of variants.entries()) {
    const dir = join(base, `bad-${i}`);
    await mkdir(dir, { mode: 0o700 });
    const file = join(dir, 'appliance-key.json');
    await writeFile(file, text, { mode: 0o600 });
    await t.rejects(loadOrCreateSigningKey(dir), { code: 'KEY_ERROR', message: new RegExp(`^signing key file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `) }, name);
  }
});

t.test('refuses a symlinked key file', async (t) => {
  const base = t.testdir();
  const real = join(base, 'real');
  await loadOrCreateSigningKey(real);
  const dir = join(base, 'link');
  await mkdir(dir, { mode: 0o700 });
  await symlink(join(real, 'appliance-key.json'), join(dir, 'appliance-key.json'));
  await t.rejects(loadOrCreateSigningKey(dir), { code: 'KEY_ERROR', message: /symlinks are refused/ });
});
