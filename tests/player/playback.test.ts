/**
 * A real export played in a real browser: footage of real faces made with GStreamer,
 * exported with `veilport export` (masked, watermarked, sealed with the default scrypt
 * cost), opened in the offline player from file:// with no network. The video's time
 * advances, a frame grabbed from the page matches the masked render (decoded by
 * GStreamer from the package), the manual mask region is masked in it, seeking, frame
 * step and speed work, the overlay names case, recipient and viewing time, a wrong
 * password is refused and the right one then plays; and a long video plays from
 * anywhere while the browser holds only a window of it.
 */
import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { readRecords } from '../../src/media/gst-process.js';
import { parseRawCaps } from '../../src/media/frame.js';
import { quoteLocation } from '../../src/media/profiles.js';
import { composeClip, scene } from '../../src/samples/compose.js';
import { faceSprite } from '../../src/samples/faces.js';
import { openPackage } from '../../src/seal/index.js';
import { choose, haveChromium, startSession, timings, unlock, type Session } from './browser.js';
import { runCli } from './cli.js';
import { makeFragmentedMp4 } from './vectors.js';
import { FAST, makeSigner, seal } from '../seal/helpers.js';
import { boxDir } from '../helpers/box-dir.js';

if (!haveChromium()) {
  t.skip('chromium is not installed at /usr/bin/chromium (scripts/setup.sh installs it)');
  process.exit(0);
}

const W = 640, H = 360, FPS = 10, SECONDS = 6;
const PASSWORD = 'Harbour-Lamp-73 열람';
const REGION = { x: 300, y: 60, w: 120, h: 120 };
const dir = boxDir('playback');
let session: Session;
let pkg: string;
let clear: string;

/** RGBA frames of a video file decoded by GStreamer, by index. */
async function gstFrames(file: string, want: Set<number>): Promise<Map<number, { w: number; h: number; rgba: Buffer }>> {
  const out = new Map<number, { w: number; h: number; rgba: Buffer }>();
  let w = 0, h = 0, i = 0;
  for await (const r of readRecords(`filesrc location=${quoteLocation(file)} ! qtdemux ! h264parse ! avdec_h264 ! videoconvert ! video/x-raw,format=RGBA ! appsink name=out sync=false`, { label: 'decode for comparison' })) {
    if (r.kind === 'caps') {
      const c = parseRawCaps(r.caps)!;
      (w = c.width), (h = c.height);
      continue;
    }
    if (want.has(i)) out.set(i, { w, h, rgba: Buffer.from(r.data) });
    i++;
  }
  return out;
}

/** PSNR over the RGB channels of two RGBA images (optionally a rectangle only). */
function psnr(a: Uint8Array, b: Uint8Array, w: number, rect = { x: 0, y: 0, w, h: a.length / 4 / w }): number {
  let se = 0, n = 0;
  for (let y = rect.y; y < rect.y + rect.h; y++) {
    for (let x = rect.x; x < rect.x + rect.w; x++) {
      for (let c = 0; c < 3; c++) {
        const d = a[(y * w + x) * 4 + c]! - b[(y * w + x) * 4 + c]!;
        se += d * d;
        n++;
      }
    }
  }
  return se === 0 ? 99 : 10 * Math.log10((255 * 255) / (se / n));
}

/** Pauses at frame `k` (time from the first frame) and grabs it from the page through a canvas. */
async function grab(page: Page, k: number): Promise<{ w: number; h: number; rgba: Uint8Array; t: number }> {
  const r = await page.evaluate(async (k) => {
    const v = document.querySelector('video') as HTMLVideoElement;
    v.pause();
    const fd = 0.1;
    const start = v.buffered.length ? v.buffered.start(0) : 0;
    const within = <T,>(p: Promise<T>, ms: number) => Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timed out')), ms))]);
    await within(new Promise<void>((resolve) => {
      v.addEventListener('seeked', () => resolve(), { once: true });
      v.currentTime = start + (k + 0.5) * fd;
    }), 10_000);
    while (v.readyState < 2) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 150));
    const c = document.createElement('canvas');
    c.width = v.videoWidth;
    c.height = v.videoHeight;
    const g = c.getContext('2d')!;
    g.drawImage(v, 0, 0);
    return { w: c.width, h: c.height, data: Array.from(g.getImageData(0, 0, c.width, c.height).data), t: v.currentTime };
  }, k);
  return { w: r.w, h: r.h, rgba: Uint8Array.from(r.data), t: r.t };
}

t.before(async () => {
  const rec = join(dir, 'rec', 'lobby', '2026-03-01');
  mkdirSync(rec, { recursive: true });
  const objects = [
    { sprite: await faceSprite(1, 96), from: { x: 60, y: 160 }, to: { x: 220, y: 190 }, label: 'a' },
    { sprite: await faceSprite(4, 100), from: { x: 310, y: 70 }, to: { x: 318, y: 76 }, label: 'masked by the manual region' },
  ];
  await composeClip({ out: join(rec, '00-00-00.mp4'), width: W, height: H, fps: FPS, seconds: SECONDS, background: scene(W, H, 3), objects, preset: 'veryfast' });
  const pw = join(dir, 'pw.txt');
  writeFileSync(pw, PASSWORD + '\n');
  pkg = join(dir, 'case.vpkg');
  const [e] = await runCli([[
    'export', '--recordings', join(dir, 'rec'), '--camera', 'lobby', '--from', '2026-03-01T00:00:00Z', '--to', `2026-03-01T00:00:0${SECONDS}Z`,
    '--data', join(dir, 'data'), '--mask', 'motion', '--region', `${REGION.x},${REGION.y},${REGION.w},${REGION.h}`, '--out', pkg, '--password-file', pw,
    '--case', 'C-2026-088', '--requester-org', '서울마포경찰서', '--requester-type', 'police', '--purpose', '수사', '--allow-extract', '--quiet', '--json',
  ]], dir);
  if (!e || e.code !== 0) throw new Error(`export failed: ${e?.err}`);
  // The masked render as it is in the package, for comparison (a test may write it out).
  clear = join(dir, 'clear.mp4');
  const parts: Uint8Array[] = [];
  for await (const p of openPackage(pkg, { password: PASSWORD })) parts.push(p);
  writeFileSync(clear, Buffer.concat(parts));
  session = await startSession(dir);
});
t.teardown(() => session?.close());

t.test('a real export plays: time advances, frames match the masked render, controls work', { timeout: 180_000 }, async (t) => {
  const page = await session.newPage();
  await page.goto(session.playerUrl);
  const chosen = await choose(page, pkg);
  t.equal(chosen.state, 'locked', 'verified, asks for the password');
  t.equal(await page.textContent('[data-field=caseId]'), 'C-2026-088');
  t.equal(await page.textContent('[data-field=requesterOrg]'), '서울마포경찰서');
  t.equal(await page.textContent('[data-field=requesterType]'), '수사기관');

  const wrong = await unlock(page, 'Harbour-Lamp-37 열람');
  t.equal(wrong.code, 'WRONG_PASSWORD', 'a wrong password is refused');
  t.equal(wrong.state, 'locked', 'and the password is asked again');
  t.equal(await page.inputValue('input[type=password]'), '', 'the field is cleared');
  const right = await unlock(page, PASSWORD);
  t.equal(right.state, 'playing', right.text);

  // Time advances.
  await page.waitForFunction(() => (document.querySelector('video') as HTMLVideoElement).currentTime > 1.5, null, { timeout: 20_000 });
  const tm = await timings(page);
  t.comment(`player timings (ms): ${JSON.stringify(tm)}`);
  t.equal(tm.kdfWhere, 'worker', 'scrypt ran in a Web Worker');
  t.ok(Number(tm.kdfMs) < 15_000, `scrypt N=2^17 took ${tm.kdfMs} ms`);

  // Overlay: case, recipient, time of viewing.
  const overlay = await page.textContent('#overlay');
  t.match(overlay, /C-2026-088/);
  t.match(overlay, /서울마포경찰서/);
  t.match(overlay, /열람 시각 \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}/);

  // Nothing offers the clear video for download.
  t.equal(await page.locator('a[download], a[href^="blob:"]').count(), 0, 'no download link');
  t.equal(await page.evaluate(() => (document.querySelector('video') as HTMLVideoElement).controls), false, 'no native controls (no save menu)');
  t.match(await page.getAttribute('video', 'controlslist'), /nodownload/);
  t.equal(await page.evaluate(() => !document.getElementById('stage')!.dispatchEvent(new MouseEvent('contextmenu', { cancelable: true, bubbles: true }))), true, 'context menu suppressed');

  // A grabbed frame matches the masked render; the manual region is masked in it.
  const ks = [5, 27, 48];
  const ref = await gstFrames(clear, new Set(ks));
  const src = await gstFrames(join(dir, 'rec', 'lobby', '2026-03-01', '00-00-00.mp4'), new Set(ks));
  for (const k of ks) {
    const g = await grab(page, k);
    const r = ref.get(k)!;
    t.equal(g.w, r.w);
    const p = psnr(g.rgba, r.rgba, g.w);
    t.ok(p >= 30, `frame ${k} from the page vs GStreamer's decode of the package: PSNR ${p.toFixed(1)} dB`);
    const s = src.get(k)!;
    const inRegion = psnr(g.rgba, s.rgba, g.w, REGION);
    const outside = psnr(g.rgba, s.rgba, g.w, { x: 0, y: 200, w: 640, h: 160 });
    t.ok(inRegion < outside - 6, `frame ${k}: the manual region differs from the source (${inRegion.toFixed(1)} dB) far more than the rest (${outside.toFixed(1)} dB)`);
  }

  // Seeking, frame step, speed.
  await page.evaluate(() => new Promise<void>((resolve) => {
    const v = document.querySelector('video') as HTMLVideoElement;
    v.addEventListener('seeked', () => resolve(), { once: true });
    v.currentTime = 4.0;
  }));
  const at = () => page.evaluate(() => (document.querySelector('video') as HTMLVideoElement).currentTime);
  t.ok(Math.abs((await at()) - 4.0) < 0.05, 'seeked to 4 s');
  const before = await at();
  await page.click('#fwd');
  await page.waitForFunction((b) => (document.querySelector('video') as HTMLVideoElement).currentTime > b + 0.01, before);
  const after = await at();
  t.ok(Math.abs(after - before - 0.1) < 0.06, `one frame forward: ${before.toFixed(3)} -> ${after.toFixed(3)}`);
  await page.click('#back');
  await page.click('#back');
  await page.waitForFunction((a) => (document.querySelector('video') as HTMLVideoElement).currentTime < a - 0.15, after);
  t.ok(Math.abs((await at()) - (after - 0.2)) < 0.06, 'two frames back');
  t.match(await page.textContent('#time'), /프레임 \d+/);
  await page.selectOption('#speed', '2');
  t.equal(await page.evaluate(() => (document.querySelector('video') as HTMLVideoElement).playbackRate), 2, 'speed 2x');
  await page.keyboard.press('Space');
  await page.waitForFunction(() => !(document.querySelector('video') as HTMLVideoElement).paused);
  const t0 = await at();
  await page.waitForTimeout(500);
  const t1 = await at();
  t.ok(t1 - t0 > 0.6, `at 2x, 0.5 s of wall time played ${(t1 - t0).toFixed(2)} s`);

  // English toggle relabels the page and the overlay.
  await page.click('#lang');
  t.match(await page.textContent('#overlay'), /Case C-2026-088/);
  t.equal(await page.textContent('[data-field=requesterType]'), 'police');
  await page.close();
  t.same(session.refused, [], 'no network request');
});

t.test('a long video plays from anywhere while the browser holds only a window of it', { timeout: 120_000 }, async (t) => {
  const video = await makeFragmentedMp4(join(dir, 'long.mp4'), 90, 10);
  const manifest = { caseId: 'LONG-1', expiresAt: new Date(Date.now() + 86_400_000).toISOString(), video: { container: 'mp4-fragmented', codec: 'h264', width: 160, height: 120 } };
  const long = await seal(dir, 'long.vpkg', video, { signer: makeSigner(5), manifest, now: new Date(), chunkSize: 8192, password: PASSWORD, scrypt: FAST });
  const page = await session.newPage();
  await page.goto(session.playerUrl);
  await choose(page, long.path);
  t.equal((await unlock(page, PASSWORD)).state, 'playing');
  await page.waitForFunction(() => JSON.parse(document.documentElement.dataset.timings ?? '{}').decryptAllMs !== undefined, null, { timeout: 30_000 });
  const ranges = () => page.evaluate(() => {
    const b = (document.querySelector('video') as HTMLVideoElement).buffered;
    return Array.from({ length: b.length }, (_, i) => [b.start(i), b.end(i)] as [number, number]);
  });
  const seekTo = (s: number) => page.evaluate((s) => new Promise<number>((resolve) => {
    const v = document.querySelector('video') as HTMLVideoElement;
    v.pause();
    v.addEventListener('seeked', () => resolve(v.currentTime), { once: true });
    v.currentTime = s;
  }), s);
  t.ok(Math.abs((await page.evaluate(() => (document.querySelector('video') as HTMLVideoElement).duration)) - 90) < 0.5, 'duration 90 s');
  const first = await ranges();
  t.ok(first.every(([, e]) => e <= 45), `buffer starts as a window: ${JSON.stringify(first)}`);
  t.ok(Math.abs((await seekTo(75.05)) - 75.05) < 0.01, 'seek to 75 s');
  await page.waitForFunction(() => (document.querySelector('video') as HTMLVideoElement).readyState >= 2, null, { timeout: 10_000 });
  const late = await ranges();
  t.ok(late.some(([s, e]) => s <= 75.05 && e > 75.05), `75 s is buffered: ${JSON.stringify(late)}`);
  t.ok(late.every(([s]) => s >= 60), 'the start was dropped from the buffer');
  t.ok(Math.abs((await seekTo(3.05)) - 3.05) < 0.01, 'and back to 3 s');
  await page.waitForFunction(() => (document.querySelector('video') as HTMLVideoElement).readyState >= 2, null, { timeout: 10_000 });
  const back = await ranges();
  t.ok(back.some(([s, e]) => s <= 3.05 && e > 3.05), `3 s is buffered again (decrypted anew): ${JSON.stringify(back)}`);
  await page.evaluate(() => (document.querySelector('video') as HTMLVideoElement).play());
  await page.waitForFunction(() => (document.querySelector('video') as HTMLVideoElement).currentTime > 3.6, null, { timeout: 10_000 });
  t.pass('plays on after seeking back');
  await page.close();
  t.same(session.refused, [], 'no network request');
});
