/**
 * The player's package reader (src/player/format.ts, the code the HTML page bundles),
 * run in Node against the shared vectors, must reach the same verdict as the CLI on
 * every one of them, and decrypt the same bytes. The browser test repeats this through
 * the page itself.
 */
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { bytesSource, decryptChunk, PackageError, unwrapContentKey, verifyPackage, type DeriveKey } from '../../src/player/format.js';
import { Fmp4Indexer } from '../../src/player/fmp4.js';
import { cliVerdicts, runCli } from './cli.js';
import { buildVectors, type Vector } from './vectors.js';

const derive: DeriveKey = (pw, salt, p) => scryptAsync(pw, salt, { ...p, dkLen: 32 });

async function playerVerdict(v: Vector, trustedKeys?: Uint8Array[]): Promise<{ code: string | null; stage: string; reason?: string; packageId?: string; video?: Uint8Array }> {
  const src = bytesSource(new Uint8Array(await readFile(v.path)));
  let stage = 'verify';
  try {
    const pkg = await verifyPackage(src, { ...(v.now ? { now: v.now } : {}), ...(trustedKeys ? { trustedKeys } : {}) });
    stage = 'unlock';
    const key = await unwrapContentKey(pkg, v.password, derive);
    stage = 'play';
    const parts: Uint8Array[] = [];
    for (let i = 0; i < pkg.chunks.length; i++) parts.push(await decryptChunk(src, pkg, key, i));
    return { code: null, stage: 'ok', packageId: pkg.manifest.packageId, video: Buffer.concat(parts) };
  } catch (e) {
    if (!(e instanceof PackageError)) throw e;
    return { code: e.code, stage, reason: e.reason };
  }
}

const dir = t.testdir();
let built: Awaited<ReturnType<typeof buildVectors>>;
t.before(async () => {
  built = await buildVectors(dir);
});

t.test('CLI and player reader agree on every shared vector', async (t) => {
  const { vectors, video, signerPublicKey, trustedKeys } = built;
  t.ok(vectors.length >= 40, `${vectors.length} vectors`);
  const cliAll = await cliVerdicts(vectors, dir, trustedKeys);
  for (const [i, v] of vectors.entries()) {
    const cli = cliAll[i]!;
    const player = await playerVerdict(v, trustedKeys);
    t.equal(cli.code, v.expect, `${v.name}: CLI says ${cli.code ?? 'ok'}`);
    t.equal(player.code, v.expect, `${v.name}: player says ${player.code ?? 'ok'}`);
    t.equal(player.stage, v.stage, `${v.name}: player decides at the ${v.stage} stage`);
    if (v.reason) t.equal(player.reason, v.reason, `${v.name}: reason ${v.reason}`);
    if (v.expect === null) {
      t.equal(player.packageId, cli.packageId, `${v.name}: same package id`);
      t.ok(Buffer.from(player.video!).equals(Buffer.from(cli.video!)), `${v.name}: same clear bytes`);
      if (v.video) t.ok(Buffer.from(player.video!).equals(Buffer.from(video)), `${v.name}: the sealed video`);
    }
  }
  // A player that pins only the appliance key refuses the other appliance's package...
  const other = vectors.find((v) => v.name === 'signed by another appliance')!;
  t.equal((await playerVerdict(other, [signerPublicKey])).code, 'PACKAGE_SIGNATURE', 'pinned key: another signer is refused');
  t.equal((await playerVerdict(vectors[0]!, [signerPublicKey])).code, null, 'pinned key: its own signer is accepted');
  // ...an unpinned one reads it but never calls it trusted (the page then warns instead of "authentic"),
  const src = bytesSource(new Uint8Array(await readFile(other.path)));
  t.equal((await verifyPackage(src)).trusted, false, 'unpinned: readable, not trusted');
  // ...and the forgery carrying our applianceId is refused by both, pinned or not.
  const forged = vectors.find((v) => v.name.startsWith('re-sealed under another key'))!;
  const unpinned = await playerVerdict(forged);
  t.equal(unpinned.reason, 'applianceMismatch', 'unpinned player refuses the forgery');
});

t.test('verify --json prints the manifest with the package id', async (t) => {
  const { vectors, signerPublicKey } = built;
  const [r] = (await runCli([['verify', vectors[0]!.path, '--trust-key', Buffer.from(signerPublicKey).toString('hex'), '--json']], dir)) as [{ code: number; out: string; err: string }];
  t.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  t.match(j.packageId, /^[0-9a-f]{32}$/);
  t.equal(j.manifest.packageId, j.packageId);
  t.equal(j.manifest.caseId, 'VEC-2026-0007');
  t.equal(j.manifest.requester.organisation, '마포경찰서');
});

t.test('the indexer finds the init segment and every fragment of the sealed video', async (t) => {
  const { video } = built;
  for (const piece of [1, 7, 4096, video.length]) {
    const ix = new Fmp4Indexer();
    for (let i = 0; i < video.length; i += piece) ix.push(video.subarray(i, i + piece));
    ix.finish();
    t.equal(ix.track?.codec.slice(0, 5), 'avc1.', `codec found (pieces of ${piece})`);
    t.equal(ix.track?.width, 160);
    t.equal(ix.fragments.length, 4, '2 s in 0.5 s fragments');
    t.equal(ix.fragments[0]!.start, 0);
    t.ok(Math.abs(ix.fragments[3]!.end - 2) < 1e-6, 'ends at 2 s');
    t.ok(Math.abs(ix.frameDuration - 0.1) < 1e-6, 'frame duration 0.1 s');
    t.equal(ix.fragments.filter((f) => f.syncAt !== null).length, 2, 'a key frame every second');
    const last = ix.fragments[3]!;
    t.ok(last.offset + last.length <= video.length);
  }
});
