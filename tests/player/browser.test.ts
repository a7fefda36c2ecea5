/**
 * The offline player in a real browser (Debian's chromium, offline, file:// URL, every
 * request recorded): the CLI and the page reach the same verdict, with the right
 * message, on every shared vector; the page has exactly one file input and one password
 * field; a package dropped on the page opens; a player that pins the appliance key
 * refuses another appliance's package.
 */
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { translate } from '../../src/player/i18n.js';
import { choose, haveChromium, outcome, startSession, unlock, waitState, type Outcome, type Session } from './browser.js';
import { cliVerdicts } from './cli.js';
import { buildVectors, type Vector } from './vectors.js';
import type { Page } from 'playwright-core';
import { boxDir } from '../helpers/box-dir.js';

if (!haveChromium()) {
  t.skip('chromium is not installed at /usr/bin/chromium (scripts/setup.sh installs it)');
  process.exit(0);
}

const dir = boxDir('browser');
let built: Awaited<ReturnType<typeof buildVectors>>;
let session: Session;
t.before(async () => {
  built = await buildVectors(dir);
  // The page trusts what the CLI is told to trust (--trust-key), so both can agree on every vector.
  session = await startSession(dir, 'player.html', built.trustedKeys.flatMap((k) => ['--trust-key', Buffer.from(k).toString('hex')]));
});
t.teardown(() => session?.close());

/** The page's verdict on a vector: its code (null: opened and decrypted) and the message shown. */
async function pageVerdict(page: Page, v: Vector): Promise<Outcome & { verdict: string | null }> {
  let o = await choose(page, v.path);
  if (o.state === 'error') return { ...o, verdict: o.code };
  o = await unlock(page, v.password);
  if (o.state !== 'playing') {
    // A payload that is not a video decrypted fine and only then failed to play.
    return { ...o, verdict: o.code === 'PLAYBACK' && o.reason === 'notVideo' ? null : o.code };
  }
  // Playing: wait until every chunk has been decrypted and authenticated, or playback was stopped.
  await page.waitForFunction(() => document.documentElement.dataset.state === 'error' || JSON.parse(document.documentElement.dataset.timings ?? '{}').decryptAllMs !== undefined, null, { timeout: 60_000 });
  o = await outcome(page);
  return { ...o, verdict: o.state === 'error' ? o.code : null };
}

t.test('CLI and page agree on every vector, with the right message', async (t) => {
  const { vectors } = built;
  const cli = await cliVerdicts(vectors, dir, built.trustedKeys);
  const page = await session.newPage();
  await page.goto(session.playerUrl);
  t.equal(await page.locator('input[type=file]').count(), 1, 'one file input');
  t.equal(await page.locator('input[type=password]').count(), 1, 'one password field');
  t.equal(await page.evaluate(() => document.documentElement.lang), 'ko', 'Korean first');
  const clocked = new Map<number, Page>();
  for (const [i, v] of vectors.entries()) {
    let p = page;
    if (v.now) {
      p = clocked.get(v.now.getTime()) ?? (await session.clockedPage(v.now));
      if (!clocked.has(v.now.getTime())) await p.goto(session.playerUrl);
      clocked.set(v.now.getTime(), p);
    }
    const o = await pageVerdict(p, v);
    t.equal(o.verdict, v.expect, `${v.name}: page says ${o.verdict ?? 'ok'}`);
    t.equal(cli[i]!.code, o.verdict, `${v.name}: CLI agrees`);
    if (v.expect && v.reason) {
      t.equal(o.reason, v.reason, `${v.name}: reason ${v.reason}`);
      t.ok(o.text.startsWith(translate('ko', `code${v.expect}`)), `${v.name}: shows "${translate('ko', `code${v.expect}`)}"`);
      t.ok(o.text.length > 20, `${v.name}: explains: ${o.text}`);
    }
    if (v.expect === null && v.video) {
      const shown = await p.textContent('[data-field=packageId]');
      t.equal(shown, cli[i]!.packageId, `${v.name}: the manifest shown has the CLI's package id`);
      t.equal(await p.evaluate(() => (document.querySelector('video') as HTMLVideoElement).src.startsWith('blob:')), true, 'video from a Media Source');
    }
    if (v.stage === 'play') {
      t.equal(await p.evaluate(() => (document.querySelector('video') as HTMLVideoElement).getAttribute('src')), null, 'playback torn down after the failed chunk');
    }
  }
  // The message follows the language toggle.
  await choose(page, vectors.find((v) => v.name === 'expired')!.path);
  await page.click('#lang');
  const en = await outcome(page);
  t.ok(en.text.startsWith('Expired') && en.text.includes('has expired'), `English: ${en.text}`);
  t.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  await page.close();
  for (const p of clocked.values()) await p.close();
});

t.test('a package dropped on the page opens like a chosen one', async (t) => {
  const page = await session.newPage();
  await page.goto(session.playerUrl);
  const good = built.vectors.find((v) => v.name === 'good')!;
  const bytes = [...(await readFile(good.path))];
  await page.evaluate((b) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(b)], 'dropped.vpkg'));
    document.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, cancelable: true }));
    document.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, cancelable: true }));
  }, bytes);
  t.equal(await waitState(page, ['locked', 'error']), 'locked');
  t.equal(await page.textContent('[data-field=caseId]'), 'VEC-2026-0007');
  t.equal(await page.textContent('[data-field=requesterOrg]'), '마포경찰서');
  t.equal(page.url(), session.playerUrl, 'the browser did not navigate to the dropped file');
  t.equal(await page.evaluate(() => document.activeElement?.getAttribute('type')), 'password', 'the password field has the focus');
  await page.close();
});

t.test('a player that pins the appliance key refuses other appliances', async (t) => {
  const pinned = await startSession(dir, 'pinned.html', ['--trust-key', Buffer.from(built.signerPublicKey).toString('hex')]);
  try {
    const page = await pinned.newPage();
    await page.goto(pinned.playerUrl);
    const other = await choose(page, built.vectors.find((v) => v.name === 'signed by another appliance')!.path);
    t.equal(other.code, 'PACKAGE_SIGNATURE');
    t.equal(other.reason, 'untrusted');
    const own = await choose(page, built.vectors.find((v) => v.name === 'good')!.path);
    t.equal(own.state, 'locked', 'its own appliance is accepted');
    t.match(own.text, /신뢰하는 발급 장비/);
    t.same(pinned.refused, [], 'no request left the page');
  } finally {
    await pinned.close();
  }
});

t.test('a player that pins no key warns "unknown appliance key" instead of saying authentic', async (t) => {
  const bare = await startSession(dir, 'unpinned.html');
  try {
    const page = await bare.newPage();
    await page.goto(bare.playerUrl);
    const good = await choose(page, built.vectors.find((v) => v.name === 'good')!.path);
    t.equal(good.state, 'locked', 'it can still be opened');
    t.equal(good.reason, 'verifiedUnknownKey');
    t.equal(await page.evaluate(() => document.getElementById('status')!.className), 'warning');
    t.equal(await page.evaluate(() => document.documentElement.dataset.trust), 'unknown');
    t.match(good.text, /알 수 없는 장비 키가 서명한 패키지/);
    t.notMatch(good.text, /확인 완료|신뢰하는 발급 장비/, 'never the "verified / trusted" wording');
    t.comment(good.text);
    const forged = await choose(page, built.vectors.find((v) => v.name.startsWith('re-sealed under another key'))!.path);
    t.equal(forged.code, 'PACKAGE_SIGNATURE');
    t.equal(forged.reason, 'applianceMismatch', 'the forgery is refused even unpinned');
    t.comment(forged.text);
    t.same(bare.refused, [], 'no request left the page');
  } finally {
    await bare.close();
  }
});

t.test('nothing but the page and its own blob: URLs was requested', async (t) => {
  t.ok(session.requests.length > 0);
  t.same(session.refused, [], 'no network request');
  t.ok(session.requests.every((u) => u === session.playerUrl || u.startsWith('blob:')), 'only the player file and blob: URLs');
  t.same(session.errors.filter((e) => !/Failed to load resource|MEDIA_ERR|PIPELINE_ERROR/.test(e)), [], 'no script errors');
});
