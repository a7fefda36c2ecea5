/**
 * Backup and restore on real LMDB stores: every entry of every database comes back
 * equal, the data key with it; any flipped byte, a wrong password, an untrusted signer,
 * a newer schema and an occupied target are refused, and a refused restore leaves the
 * target as it was. The CLI runs in-process through main().
 */
import t from 'tap';
import { runCli as run } from '../helpers/cli.js';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { DATABASES, openStore, type Store } from '../../src/store/store.js';
import { SCHEMA_VERSION } from '../../src/store/migrations.js';
import { DATA_KEY_FILE, loadOrCreateDataKey } from '../../src/store/data-key.js';
import { loadOrCreateSigningKey, publicKeyFingerprint, type SigningKey } from '../../src/seal/signing-key.js';
import { DEFAULT_BACKUP_SCRYPT, restoreBackup, writeBackup } from '../../src/store/backup.js';
import { boxDir } from '../helpers/box-dir.js';

const PASSWORD = 'correct horse battery';
/** Cheap scrypt for speed; one test checks the default. */
const FAST = { N: 2 ** 14, r: 8, p: 1 };
const TRAILER = 32 + 64 + 8;

interface Box {
  dir: string;
  keys: string;
  store: Store;
  signer: SigningKey;
}

/** A provisioned data directory: store, appliance key, data key. */
async function box(dir: string): Promise<Box> {
  const keys = join(dir, 'keys');
  const signer = await loadOrCreateSigningKey(keys);
  await loadOrCreateDataKey(keys);
  return { dir, keys, store: openStore(dir), signer };
}

/** Records in every database, with the awkward values msgpack keeps and JSON does not. */
async function populate(b: Box, n = 20, noise = 0): Promise<void> {
  const dk = await loadOrCreateDataKey(b.keys);
  b.store.transaction(() => {
    for (let i = 0; i < n; i++) {
      const id = `REQ-2026-${String(i).padStart(4, '0')}`;
      b.store.db('requests').putSync(id, {
        id,
        createdAt: new Date(Date.UTC(2026, 1, 28, 15) + i * 3_600_000).toISOString(),
        requester: { name: dk.seal(`홍길동${i}`, `request:${id}:name`), phone: null, organisation: '마포경찰서', type: 'police' },
        purpose: '범죄 수사, "뺑소니"\n둘째 줄 \u2028 😀',
        history: [{ at: '2026-03-01T00:00:00Z', by: 'clerk', from: null, to: 'registered' }],
        noise: noise ? Buffer.from(Array.from({ length: noise }, (_, j) => (i * 7919 + j * 104729) % 251)).toString('hex') : '',
      });
      b.store.db('accessLog').putSync(i, { seq: i, at: new Date(Date.UTC(2026, 2, 1) + i * 1000), who: 'clerk', hash: Buffer.alloc(32, i) });
    }
    b.store.db('accounts').putSync('clerk', { id: 'clerk', role: 'clerk', passwordHash: 'scrypt$...', failures: 0, lockedUntil: null });
    b.store.db('sessions').putSync('s-1', { account: 'clerk', expires: 1_900_000_000_000 });
    b.store.db('roleChanges').putSync(['clerk', 1], { from: null, to: 'clerk', by: 'admin' });
    b.store.db('jobs').putSync('job-1', { state: 'done', big: -(2n ** 62n), nan: NaN, inf: -Infinity, u: undefined });
    b.store.db('checkpoints').putSync(['head', 7], { $bin: 'not a tag', $date: 1, nested: { $undef: 1 } });
    b.store.db('outbox').putSync(1, { topic: 'veilport/x/state', payload: Buffer.from([0, 255, 10, 13]) });
  });
}

type Dump = Record<string, { key: unknown; value: unknown }[]>;
function dump(s: Store): Dump {
  return Object.fromEntries(DATABASES.map((d) => [d, [...s.db(d).getRange()].map(({ key, value }) => ({ key, value }))]));
}
const countOf = (d: Dump) => Object.values(d).reduce((n, e) => n + e.length, 0);

/** Restores and reads the restored store back, closing it. */
async function restoredDump(dataDir: string): Promise<Dump> {
  const s = openStore(dataDir);
  try {
    return dump(s);
  } finally {
    await s.close();
  }
}

/** Recomputes digest and signature with the appliance key: a forger holding the key. */
function resign(bytes: Uint8Array, signer: SigningKey): Uint8Array {
  const end = bytes.length - TRAILER;
  const digest = sha256(bytes.subarray(0, end));
  const sig = ed25519.sign(concatBytes(new TextEncoder().encode('veilport/backup/v1/signature'), digest), signer.secretKey);
  return concatBytes(bytes.subarray(0, end), digest, sig, bytes.subarray(bytes.length - 8));
}

/** Offsets of the parts of a backup file, read by this test from the documented layout. */
function layout(bytes: Uint8Array) {
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(10, false);
  const bodyStart = 14 + headerLength;
  const bodyEnd = bytes.length - TRAILER;
  const chunks: { at: number; length: number }[] = [];
  for (let at = bodyStart; at < bodyEnd; ) {
    const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(at, false);
    chunks.push({ at, length });
    at += 4 + length;
  }
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(14, bodyStart))) as Record<string, any>;
  return { headerLength, bodyStart, bodyEnd, chunks, header };
}

const listing = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : []);

t.test('round trip: every entry of every database, and the data key', async (t) => {
  const root = boxDir('backup');
  const src = await box(join(root, 'src'));
  await populate(src);
  const before = dump(src.store);
  const out = join(root, 'b.vpbk');
  const r = await writeBackup(src.store, { out, password: PASSWORD, signer: src.signer, keysDir: src.keys, scrypt: FAST });
  await src.store.close();
  const bytes = readFileSync(out);
  t.equal(r.bytes, bytes.length);
  t.equal(r.sha256, Buffer.from(sha256(bytes)).toString('hex'));
  t.equal(r.records, countOf(before), 'records counts every entry, meta included');
  t.equal(statSync(out).mode & 0o777, 0o600, 'the backup file is private');
  t.notOk(existsSync(`${out}.partial`), 'no partial file left');
  t.same([...bytes.subarray(0, 8)], [0x89, 0x56, 0x50, 0x42, 0x4b, 0x0d, 0x0a, 0x1a], 'magic');
  for (const clear of ['마포경찰서', 'REQ-2026-0001', 'clerk', 'veilport/x/state']) t.notOk(bytes.includes(Buffer.from(clear)), `"${clear}" is not in the file in the clear`);

  const dst = join(root, 'dst');
  const res = await restoreBackup({ file: out, password: PASSWORD, dataDir: dst });
  t.match(res, { records: r.records, applianceId: src.signer.applianceId, schemaVersion: SCHEMA_VERSION, fingerprint: publicKeyFingerprint(src.signer.publicKey), signerCheck: 'unchecked' });
  const after = await restoredDump(dst);
  for (const d of DATABASES) t.strictSame(after[d], before[d], `${d}: every entry equal (${before[d]!.length})`);
  const job = after['jobs']![0]!.value as Record<string, unknown>;
  t.equal(job['big'], -(2n ** 62n), 'bigint kept');
  t.ok(Number.isNaN(job['nan']), 'NaN kept');
  t.ok('u' in job && job['u'] === undefined, 'an undefined property kept');
  t.ok(Buffer.isBuffer((after['outbox']![0]!.value as { payload: unknown }).payload), 'binary stays binary');
  t.ok((after['accessLog']![0]!.value as { at: unknown }).at instanceof Date, 'a Date stays a Date');
  t.strictSame(after['checkpoints']![0]!.value, { $bin: 'not a tag', $date: 1, nested: { $undef: 1 } }, 'objects with $-keys are data, not tags');

  const keyFile = join(dst, 'keys', DATA_KEY_FILE);
  t.equal(readFileSync(keyFile, 'utf8'), readFileSync(join(src.keys, DATA_KEY_FILE), 'utf8'), 'data key restored');
  t.equal(statSync(keyFile).mode & 0o777, 0o600, 'data key file 0600');
  const dk = await loadOrCreateDataKey(join(dst, 'keys'));
  const req = after['requests']![3]!.value as { id: string; requester: { name: Parameters<typeof dk.open>[0] } };
  t.equal(dk.open(req.requester.name, `request:${req.id}:name`), '홍길동3', 'personal data opens with the restored key');
  t.same(listing(dst), ['db', 'keys'], 'no work directories left');
  t.same(listing(join(dst, 'keys')), [DATA_KEY_FILE], 'no temporary key files left');
});

t.test('a backup never overwrites, and a value it cannot encode is never half-written', async (t) => {
  const root = t.testdir({ 'taken.vpbk': 'x', 'busy.vpbk.partial': 'x' });
  const b = await box(join(root, 'box'));
  t.teardown(() => b.store.close());
  const opts = { password: PASSWORD, signer: b.signer, keysDir: b.keys, scrypt: FAST };
  await t.rejects(writeBackup(b.store, { ...opts, out: join(root, 'taken.vpbk') }), { code: 'CONFLICT', message: /exists/ });
  t.equal(readFileSync(join(root, 'taken.vpbk'), 'utf8'), 'x', 'the existing file is untouched');
  await t.rejects(writeBackup(b.store, { ...opts, out: join(root, 'busy.vpbk') }), { code: 'CONFLICT', message: /busy\.vpbk\.partial exists/ });
  await t.rejects(writeBackup(b.store, { ...opts, out: join(root, 'x.vpbk'), keysDir: join(root, 'nokeys') }), { code: 'KEY_ERROR', message: /no data key/ });
  await t.rejects(writeBackup(b.store, { ...opts, out: join(root, 'x.vpbk'), scrypt: { N: 2 ** 10, r: 8, p: 1 } }), { code: 'BAD_INPUT', message: /scrypt/ });
  t.notOk(existsSync(join(root, 'x.vpbk')) || existsSync(join(root, 'x.vpbk.partial')), 'nothing written by refused backups');
});

t.test('the default key derivation is strong', async (t) => {
  t.ok(DEFAULT_BACKUP_SCRYPT.N >= 2 ** 17 && DEFAULT_BACKUP_SCRYPT.r >= 8, 'scrypt N >= 2^17, r >= 8 (128 MiB)');
  const root = boxDir('backup');
  const b = await box(join(root, 'box'));
  const out = join(root, 'b.vpbk');
  await writeBackup(b.store, { out, password: PASSWORD, signer: b.signer, keysDir: b.keys });
  await b.store.close();
  t.match(layout(readFileSync(out)).header['kdf'], { algorithm: 'scrypt', N: DEFAULT_BACKUP_SCRYPT.N, r: DEFAULT_BACKUP_SCRYPT.r, p: DEFAULT_BACKUP_SCRYPT.p });
  t.match(await restoreBackup({ file: out, password: PASSWORD, dataDir: join(root, 'dst') }), { signerCheck: 'unchecked' });
});

t.test('any flipped byte is refused before the password is tried', async (t) => {
  const root = boxDir('backup');
  const src = await box(join(root, 'src'));
  await populate(src, 3);
  const out = join(root, 'b.vpbk');
  await writeBackup(src.store, { out, password: PASSWORD, signer: src.signer, keysDir: src.keys, scrypt: FAST });
  await src.store.close();
  const good = readFileSync(out);
  const { bodyStart, bodyEnd } = layout(good);
  const region = (i: number) => (i < 14 ? 'prefix' : i < bodyStart ? 'header' : i < bodyEnd ? 'ciphertext' : i < bodyEnd + 32 ? 'digest' : i < bodyEnd + 96 ? 'signature' : 'end marker');
  const seen: Record<string, Record<string, number>> = {};
  const bad = join(root, 'bad.vpbk');
  const dataDir = join(root, 'dst');
  let wrong = 0;
  for (let i = 0; i < good.length; i++) {
    const copy = Buffer.from(good);
    copy[i]! ^= 1 << i % 8;
    writeFileSync(bad, copy);
    try {
      await restoreBackup({ file: bad, password: 'not the password at all', dataDir });
      wrong++;
      t.fail(`byte ${i} (${region(i)}) flipped: accepted`);
    } catch (e) {
      const err = e as { code?: string; details?: { check?: string } };
      if (err.code !== 'BACKUP_TAMPERED') {
        wrong++;
        t.fail(`byte ${i} (${region(i)}) flipped: ${err.code}, not BACKUP_TAMPERED`);
      }
      const r = (seen[region(i)] ??= {});
      r[err.details?.check ?? '?'] = (r[err.details?.check ?? '?'] ?? 0) + 1;
    }
  }
  t.equal(wrong, 0, `all ${good.length} single-bit flips refused as BACKUP_TAMPERED`);
  t.same(Object.keys(seen['ciphertext']!), ['signature'], 'ciphertext: the signature check');
  t.same(Object.keys(seen['signature']!), ['signature'], 'signature: the signature check');
  t.same(Object.keys(seen['digest']!), ['signature'], 'digest: the signature check');
  t.ok(Object.keys(seen['header']!).every((c) => c === 'signature' || c === 'format'), `header: ${JSON.stringify(seen['header'])}`);
  t.same(Object.keys(seen['prefix']!), ['format'], 'prefix: the format check');
  t.same(Object.keys(seen['end marker']!), ['format'], 'end marker: the format check');
  t.notOk(existsSync(dataDir), 'nothing was created in the target');
  await t.rejects(restoreBackup({ file: join(root, 'missing.vpbk'), password: PASSWORD, dataDir }), { code: 'NOT_FOUND' });
  writeFileSync(bad, good.subarray(0, good.length - 1));
  await t.rejects(restoreBackup({ file: bad, password: PASSWORD, dataDir }), { code: 'BACKUP_TAMPERED', details: { check: 'format' } }, 'one byte cut off the end');
});

t.test('re-signed by the appliance key: each chunk’s tag still catches changes, and the target is untouched', async (t) => {
  const root = boxDir('backup');
  const src = await box(join(root, 'src'));
  await populate(src, 40, 400);
  const out = join(root, 'b.vpbk');
  await writeBackup(src.store, { out, password: PASSWORD, signer: src.signer, keysDir: src.keys, scrypt: FAST, chunkSize: 1024 });
  await src.store.close();
  const good = readFileSync(out);
  const { chunks, bodyStart, bodyEnd } = layout(good);
  t.ok(chunks.length >= 4, `several chunks (${chunks.length})`);

  // The target: a store with its own records, restored over with --force.
  const target = await box(join(root, 'target'));
  target.store.db('requests').putSync('OLD-1', { id: 'OLD-1' });
  const targetBefore = dump(target.store);
  await target.store.close();
  const keyBefore = readFileSync(join(target.keys, DATA_KEY_FILE), 'utf8');
  const bad = join(root, 'bad.vpbk');
  const attempt = async (bytes: Uint8Array, chunk: number | undefined, name: string) => {
    writeFileSync(bad, resign(bytes, src.signer));
    await t.rejects(restoreBackup({ file: bad, password: PASSWORD, dataDir: target.dir, trustedPublicKey: src.signer.publicKey, force: true }), { code: 'BACKUP_TAMPERED', details: { check: 'aead', ...(chunk === undefined ? {} : { chunk }) } }, name);
    t.strictSame(await restoredDump(target.dir), targetBefore, `${name}: the target store is as it was`);
    t.equal(readFileSync(join(target.keys, DATA_KEY_FILE), 'utf8'), keyBefore, `${name}: the target data key is as it was`);
    t.same(listing(target.dir), ['db', 'keys'], `${name}: no work directories left`);
  };
  const last = chunks.length - 1;
  const flipped = Buffer.from(good);
  flipped[chunks[last - 1]!.at + 10]! ^= 0x40;
  await attempt(flipped, last - 1, 'a flipped ciphertext byte in a late chunk (after entries were written to the fresh store)');
  const cut = concatBytes(good.subarray(0, chunks[last]!.at), good.subarray(bodyEnd));
  await attempt(cut, last - 1, 'the last chunk dropped (the one before it is not marked final)');
  const a = chunks[1]!, b = chunks[2]!;
  t.equal(a.length, b.length, 'two full chunks');
  const swapped = concatBytes(good.subarray(0, a.at), good.subarray(b.at, b.at + 4 + b.length), good.subarray(a.at, a.at + 4 + a.length), good.subarray(b.at + 4 + b.length));
  await attempt(swapped, 1, 'two chunks swapped');
  const noPayload = concatBytes(good.subarray(0, bodyStart), good.subarray(bodyEnd));
  await attempt(noPayload, undefined, 'no chunks at all');
});

t.test('wrong password', async (t) => {
  const root = boxDir('backup');
  const src = await box(join(root, 'src'));
  await populate(src, 2);
  const out = join(root, 'b.vpbk');
  await writeBackup(src.store, { out, password: PASSWORD, signer: src.signer, keysDir: src.keys, scrypt: FAST });
  await src.store.close();
  await t.rejects(restoreBackup({ file: out, password: 'Correct horse battery', dataDir: join(root, 'dst') }), { code: 'WRONG_PASSWORD', message: /wrong password/ });
  t.notOk(existsSync(join(root, 'dst', 'db')), 'no store created');
  t.match(await restoreBackup({ file: out, password: PASSWORD.normalize('NFD'), dataDir: join(root, 'dst') }), { records: 2 * 2 + 8 }, 'the right password, whatever its Unicode form');
});

t.test('who signed it: this box’s key, a trusted key, or refused naming both fingerprints', async (t) => {
  const root = boxDir('backup');
  const src = await box(join(root, 'src'));
  await populate(src, 2);
  const out = join(root, 'b.vpbk');
  await writeBackup(src.store, { out, password: PASSWORD, signer: src.signer, keysDir: src.keys, scrypt: FAST });
  await src.store.close();
  const srcFp = publicKeyFingerprint(src.signer.publicKey);

  // A replacement box: its own key, empty store.
  const other = await box(join(root, 'replacement'));
  await other.store.close();
  const otherFp = publicKeyFingerprint(other.signer.publicKey);
  const refused = (await restoreBackup({ file: out, password: PASSWORD, dataDir: other.dir }).catch((e: unknown) => e)) as { code: string; message: string; details: Record<string, unknown> };
  t.match(refused, { code: 'BACKUP_TAMPERED', details: { check: 'signer', signer: srcFp, box: otherFp } });
  t.match(refused.message, srcFp);
  t.match(refused.message, otherFp);
  t.match(refused.message, /--trust-key/);
  await t.rejects(restoreBackup({ file: out, password: PASSWORD, dataDir: other.dir, trustedPublicKey: other.signer.publicKey }), { code: 'BACKUP_TAMPERED', details: { check: 'signer', trusted: otherFp } }, 'a given trusted key that is not the signer');
  await t.rejects(restoreBackup({ file: out, password: PASSWORD, dataDir: join(root, 'fresh'), trustedFingerprint: otherFp }), { code: 'BACKUP_TAMPERED', details: { check: 'signer' } }, 'refused on a box without a key too');
  await t.rejects(restoreBackup({ file: out, password: PASSWORD, dataDir: other.dir, trustedFingerprint: 'abc' }), { code: 'BAD_INPUT', message: /32 hex digits/ });
  const spaced = srcFp.toUpperCase().replace(/(....)/g, '$1 ').trim();
  t.match(await restoreBackup({ file: out, password: PASSWORD, dataDir: other.dir, trustedFingerprint: spaced }), { signerCheck: 'trusted-key', applianceId: src.signer.applianceId }, 'the replacement restores with the old key’s fingerprint');

  // The same box, restoring its own backup.
  const same = join(root, 'same');
  await restoreBackup({ file: out, password: PASSWORD, dataDir: same });
  const { cpSync } = await import('node:fs');
  cpSync(join(src.keys, 'appliance-key.json'), join(same, 'keys', 'appliance-key.json'));
  t.match(await restoreBackup({ file: out, password: PASSWORD, dataDir: same, force: true }), { signerCheck: 'box-key' });
});

t.test('an occupied target needs force; a newer schema is refused; a store in use is refused', async (t) => {
  const root = boxDir('backup');
  const src = await box(join(root, 'src'));
  await populate(src, 2);
  const out = join(root, 'b.vpbk');
  await writeBackup(src.store, { out, password: PASSWORD, signer: src.signer, keysDir: src.keys, scrypt: FAST });
  const srcDump = dump(src.store);

  const target = await box(join(root, 'target'));
  target.store.db('requests').putSync('OLD-1', { id: 'OLD-1' });
  await target.store.close();
  const trust = { trustedPublicKey: src.signer.publicKey };
  await t.rejects(restoreBackup({ file: out, password: PASSWORD, dataDir: target.dir, ...trust }), { code: 'CONFLICT', message: /holds 1 records.*--force/ });
  t.equal((await restoredDump(target.dir))['requests']!.length, 1, 'untouched without force');
  await restoreBackup({ file: out, password: PASSWORD, dataDir: target.dir, ...trust, force: true });
  const after = await restoredDump(target.dir);
  t.strictSame(after, srcDump, 'with force: exactly the backup, the old record gone');

  // A store that only has meta (a freshly provisioned box) is empty: no force needed.
  const fresh = await box(join(root, 'fresh'));
  await fresh.store.close();
  await restoreBackup({ file: out, password: PASSWORD, dataDir: fresh.dir, ...trust });

  // A store open in another process (the running service).
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['--input-type=module', '-e', `import { open } from 'lmdb'; const r = open({ path: ${JSON.stringify(join(target.dir, 'db'))}, maxDbs: 32 }); r.openDB({ name: 'meta' }).get('schemaVersion'); console.log('ready'); setInterval(() => {}, 1000);`], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill());
  await new Promise((resolve) => child.stdout!.once('data', resolve));
  await t.rejects(restoreBackup({ file: out, password: PASSWORD, dataDir: target.dir, ...trust, force: true }), { code: 'CONFLICT', message: new RegExp(`open in process ${child.pid}.*stop the Veilport service`) });
  child.kill();

  // A backup from a newer Veilport.
  src.store.db('meta').putSync('schemaVersion', SCHEMA_VERSION + 1);
  const newer = join(root, 'newer.vpbk');
  await writeBackup(src.store, { out: newer, password: PASSWORD, signer: src.signer, keysDir: src.keys, scrypt: FAST });
  await src.store.close();
  await t.rejects(restoreBackup({ file: newer, password: PASSWORD, dataDir: join(root, 'n') }), { code: 'BAD_INPUT', message: new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer`) });
});

t.test('hostile header values signed by the appliance key are bounded', async (t) => {
  const root = boxDir('backup');
  const src = await box(join(root, 'src'));
  const out = join(root, 'b.vpbk');
  await writeBackup(src.store, { out, password: PASSWORD, signer: src.signer, keysDir: src.keys, scrypt: FAST });
  await src.store.close();
  const good = readFileSync(out);
  const { bodyStart } = layout(good);
  const headerText = good.subarray(14, bodyStart).toString('utf8');
  const withHeader = (text: string) => {
    const h = Buffer.from(text);
    const prefix = Buffer.from(good.subarray(0, 14));
    prefix.writeUInt32BE(h.length, 10);
    return resign(concatBytes(prefix, h, good.subarray(bodyStart)), src.signer);
  };
  const bad = join(root, 'bad.vpbk');
  writeFileSync(bad, withHeader(headerText.replace('"N":16384', '"N":1073741824')));
  const started = Date.now();
  await t.rejects(restoreBackup({ file: bad, password: PASSWORD, dataDir: join(root, 'd') }), { code: 'BACKUP_TAMPERED', details: { check: 'format' }, message: /scrypt parameters refused/ });
  t.ok(Date.now() - started < 3000, 'refused without running scrypt at 2^30');
  writeFileSync(bad, withHeader(headerText.replace(/"applianceId":"[^"]+"/, '"applianceId":"vp-someoneelse"')));
  await t.rejects(restoreBackup({ file: bad, password: PASSWORD, dataDir: join(root, 'd') }), { code: 'BACKUP_TAMPERED', details: { check: 'format' }, message: /appliance id/ });
  writeFileSync(bad, withHeader(headerText.replace('"chunkSize":1048576', '"chunkSize":2147483648')));
  await t.rejects(restoreBackup({ file: bad, password: PASSWORD, dataDir: join(root, 'd') }), { code: 'BACKUP_TAMPERED', details: { check: 'format' } });
});


t.test('CLI: veilport backup and restore', async (t) => {
  const root = t.testdir({ 'pw.txt': `${PASSWORD}\n`, 'wrong.txt': 'not the password\n' });
  const src = await box(join(root, 'src'));
  await populate(src, 5);
  const before = dump(src.store);
  await src.store.close();
  const pw = join(root, 'pw.txt');
  const file = join(root, 'b.vpbk');
  const fp = publicKeyFingerprint(src.signer.publicKey);

  const b = await run(['backup', '--data', src.dir, '--out', file, '--password-file', pw, '--json']);
  t.equal(b.code, 0, b.err);
  const j = JSON.parse(b.out);
  t.match(j, { ok: true, file, records: countOf(before), applianceId: src.signer.applianceId, fingerprint: fp, bytes: statSync(file).size });
  t.equal(j.sha256, Buffer.from(sha256(readFileSync(file))).toString('hex'));
  const again = await run(['backup', '--data', src.dir, '--out', file, '--password-file', pw]);
  t.equal(again.code, 1);
  t.match(again.err, /veilport: error: .*exists/);
  const text = await run(['backup', '--data', src.dir, '--out', join(root, 'c.vpbk'), '--password-file', pw]);
  t.equal(text.code, 0, text.err);
  t.match(text.out, `key fingerprint ${fp}`);
  t.match(text.out, `--trust-key ${fp}`, 'prints how a replacement box restores it');
  t.equal((await run(['backup', '--data', src.dir, '--password-file', pw])).code, 2, 'missing --out is bad input');
  t.equal((await run(['backup', '--data', join(root, 'nowhere'), '--out', join(root, 'd.vpbk'), '--password-file', pw])).code, 1, 'no store there');

  const dst = join(root, 'dst');
  const w = await run(['restore', '--data', dst, '--in', file, '--password-file', join(root, 'wrong.txt'), '--json']);
  t.equal(w.code, 1);
  t.match(JSON.parse(w.out), { ok: false, error: { code: 'WRONG_PASSWORD' } });
  const r = await run(['restore', '--data', dst, '--in', file, '--password-file', pw, '--json']);
  t.equal(r.code, 0, r.err);
  t.match(JSON.parse(r.out), { ok: true, records: countOf(before), fingerprint: fp, signerCheck: 'unchecked' });
  t.strictSame(await restoredDump(dst), before, 'restored through the CLI: equal');
  const occupied = await run(['restore', '--data', dst, '--in', file, '--password-file', pw]);
  t.equal(occupied.code, 1);
  t.match(occupied.err, /--force/);

  const other = await box(join(root, 'other'));
  await other.store.close();
  const untrusted = await run(['restore', '--data', other.dir, '--in', file, '--password-file', pw]);
  t.equal(untrusted.code, 1);
  t.match(untrusted.err, fp);
  const trusted = await run(['restore', '--data', other.dir, '--in', file, '--password-file', pw, '--trust-key', fp]);
  t.equal(trusted.code, 0, trusted.err);
  t.match(trusted.out, `key fingerprint ${fp} (matches --trust-key)`);
  t.strictSame(await restoredDump(other.dir), before);
});
