/**
 * The whole procedure through the touchscreen UI in a real browser (Debian's chromium,
 * headless, touch emulation on, 1280x800, Korean): bootstrap with the console token,
 * accounts, forced password changes, a request on real footage with the recordings
 * picker, reception, approval by another account, masking review (one track left
 * visible, one manual region drawn on the picture, a masked preview), render, password
 * and download; the downloaded package is verified. On the way: every screen's touch
 * targets are at least 48 px tall, each role sees only its screens, an API error is
 * shown in Korean without losing what was typed, and screenshots of every screen are
 * written to .cache/ui-screens (1280x800, plus the dashboard at 1920x1080).
 */
import t from 'tap';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { verifyPackage } from '../../src/seal/index.js';
import { makeLobby, PASSWORDS, start, testSettings, type Running } from '../api/helpers.js';
// @ts-expect-error: a plain ES module script without types
import { buildUi } from '../../scripts/build-ui.mjs';

const dir = t.testdir();
const recordings = join(dir, 'rec');
const shots = join(process.cwd(), '.cache', 'ui-screens');
let run: Running;
let browser: Browser;

t.before(async () => {
  await buildUi();
  mkdirSync(shots, { recursive: true });
  await makeLobby(recordings);
  run = await start(testSettings(dir, recordings));
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
});
t.teardown(async () => {
  await browser?.close();
  await run?.daemon.close();
});

/** Every visible control a finger must hit: at least 48 px tall (and wide). */
async function smallTargets(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    for (const el of document.querySelectorAll<HTMLElement>('button, a.button, a.nav, select, input:not([type=checkbox]):not([type=range]), input[type=range]')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue; // not shown
      if (el.closest('.timeline')) continue; // the recordings bar: pieces are also listed as full-size buttons
      if (r.height < 47.5 || r.width < 47.5) out.push(`${el.tagName.toLowerCase()}.${el.className} "${(el.textContent ?? '').trim().slice(0, 30)}" ${Math.round(r.width)}x${Math.round(r.height)}`);
    }
    return out;
  });
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core in the page (evaluated by the test driver, so the page's CSP still holds): serious and critical violations. */
async function axeProblems(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, o: object) => Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  });
}

async function shot(t: Tap.Test, page: Page, name: string) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  t.same(await smallTargets(page), [], `${name}: every touch target is at least 48 px`);
  t.same(await axeProblems(page), [], `${name}: axe-core finds no serious accessibility violations`);
}

async function login(page: Page, id: string, password: string) {
  await page.fill('[data-testid=login] input[name=id]', id);
  await page.fill('[data-testid=login] input[name=password]', password);
  await page.tap('[data-testid=login] button[type=submit]');
}

async function firstLogin(t: Tap.Test, page: Page, id: string, temporary: string, next: string) {
  await login(page, id, temporary);
  await page.waitForSelector('[data-testid=change-password]');
  await page.fill('input[name=current]', temporary);
  await page.fill('input[name=next]', next);
  await page.fill('input[name=again]', next);
  await page.tap('[data-testid=change-password] button[type=submit]');
  await page.waitForSelector('[data-testid=dashboard]');
  t.pass(`${id} changed the temporary password at first login`);
}

async function logout(page: Page) {
  await page.tap('[data-testid=logout]');
  await page.waitForSelector('[data-testid=login]');
}

const navLinks = (page: Page) => page.$$eval('nav a.nav', (as) => as.map((a) => a.getAttribute('href')));

t.test('the whole procedure through the touchscreen UI', async (t) => {
  const started = Date.now();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, hasTouch: true, isMobile: false, locale: 'ko-KR', timezoneId: 'Asia/Seoul', acceptDownloads: true });
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  const base = run.daemon.url;

  const res = await page.goto(base + '/');
  t.match(res?.headers()['content-security-policy'] ?? '', /default-src 'none'.*script-src 'self'/, 'the UI is served with a strict CSP');

  // First admin with the console token.
  await page.waitForSelector('[data-testid=bootstrap]');
  t.equal(await page.getAttribute('html', 'lang'), 'ko', 'Korean first');
  await shot(t, page, '01-bootstrap');
  await page.fill('input[name=token]', run.token);
  await page.fill('input[name=id]', 'admin1');
  await page.fill('input[name=displayName]', '관리자');
  await page.fill('input[name=password]', PASSWORDS.admin);
  await page.tap('[data-testid=bootstrap] button[type=submit]');
  await page.waitForSelector('[data-testid=login]');
  await shot(t, page, '02-login');

  // A wrong password: the error is in Korean and the typed id stays.
  await login(page, 'admin1', 'Wrong-Pass-000');
  await page.waitForSelector('[role=alert]');
  t.match(await page.textContent('[role=alert]'), /[가-힣]/, 'the error is shown in Korean');
  t.equal(await page.inputValue('[data-testid=login] input[name=id]'), 'admin1', 'what was typed is kept');

  await login(page, 'admin1', PASSWORDS.admin);
  await page.waitForSelector('[data-testid=dashboard]');
  t.same(await navLinks(page), ['#/', '#/accounts'], 'the admin gets status and accounts');

  // Accounts, one per person, with temporary passwords.
  await page.tap('a.nav[href="#/accounts"]');
  await page.waitForSelector('[data-testid=new-account]');
  for (const role of ['clerk', 'approver', 'auditor', 'viewer'] as const) {
    await page.fill('[data-testid=new-account] input[name=id]', `${role}1`);
    await page.fill('[data-testid=new-account] input[name=displayName]', role === 'clerk' ? '김주무관' : role === 'approver' ? '이보호관' : role);
    await page.fill('[data-testid=new-account] input[name=password]', `Temp-${role}-Word-83`);
    await page.tap(`[data-testid=new-account] .choice button:nth-child(${['viewer', 'clerk', 'approver', 'auditor', 'admin'].indexOf(role) + 1})`);
    await page.tap('[data-testid=create-account]');
    await page.waitForSelector(`[data-account="${role}1"]`);
  }
  // A duplicate id: refused, shown in Korean, the form keeps its content.
  await page.fill('[data-testid=new-account] input[name=id]', 'clerk1');
  await page.fill('[data-testid=new-account] input[name=displayName]', '중복');
  await page.fill('[data-testid=new-account] input[name=password]', 'Temp-dup-Word-83');
  await page.tap('[data-testid=create-account]');
  await page.waitForSelector('[data-testid=new-account] [role=alert]');
  t.equal(await page.inputValue('[data-testid=new-account] input[name=displayName]'), '중복', 'nothing typed is lost on an API error');
  await shot(t, page, '03-accounts');
  await logout(page);

  // Viewer: status only.
  await firstLogin(t, page, 'viewer1', 'Temp-viewer-Word-83', PASSWORDS.viewer);
  t.same(await navLinks(page), ['#/'], 'a viewer sees the dashboard only');
  await page.goto(base + '/#/requests');
  await page.waitForSelector('[data-testid=dashboard]');
  t.equal(await page.$('[data-testid=request-list]'), null, 'a viewer typing a request URL still gets the dashboard');
  await logout(page);

  // Clerk: register the request on the recorded footage and receive it.
  await firstLogin(t, page, 'clerk1', 'Temp-clerk-Word-83', PASSWORDS.clerk);
  t.same(await navLinks(page), ['#/', '#/requests', '#/new'], 'the clerk gets status, requests and the form');
  await shot(t, page, '04-dashboard');
  await page.tap('a.nav[href="#/new"]');
  await page.waitForSelector('[data-testid=new-request]');
  await page.fill('input[name=name]', '홍길동');
  await page.fill('input[name=phone]', '010-1234-5678');
  await page.fill('input[name=purpose]', '본인 영상 확인');
  await page.fill('input[name=legalBasis]', '개인정보 보호법 제35조');
  await page.fill('input[name=documentNumber]', 'DOC-2026-0301');
  await page.fill('input[name=from]', '2026-03-01T08:59:00');
  await page.fill('input[name=to]', '2026-03-01T09:01:00');
  await page.tap('[data-testid=check-recordings]');
  await page.waitForSelector('[data-testid=piece]');
  t.equal((await page.$$('[data-testid=piece]')).length, 1, 'one recorded piece in the window');
  t.equal((await page.$$('.timeline .span.gap')).length, 2, 'the gaps around it are shown');
  await page.tap('[data-testid=piece]');
  t.match(await page.inputValue('input[name=from]'), /^2026-03-01T09:00(:00)?$/, 'tapping the piece selects it');
  t.equal(await page.inputValue('input[name=to]'), '2026-03-01T09:00:06');
  await page.tap('button[data-target=plate]');
  await page.tap('button[data-target=motion]');
  await page.fill('input[name=expiresAfterDays]', '1');
  await shot(t, page, '05-new-request');
  await page.tap('[data-testid=register]');
  await page.waitForSelector('[data-testid=request-detail]');
  const id = /#\/requests\/([\d-]+)/.exec(page.url())?.[1] ?? '';
  t.match(id, /^\d{8}-\d{3}$/, `request ${id} registered`);
  t.equal(await page.$('[data-testid=approve]'), null, 'the clerk is offered no approval');
  await page.tap('[data-testid=receive]');
  await page.waitForSelector('[data-testid=history] li:nth-child(2)');
  t.match(await page.textContent('[data-testid=history]'), /접수/, 'the history shows the reception');
  await shot(t, page, '06-request-detail');
  await page.tap('a.nav[href="#/requests"]');
  await page.waitForSelector(`[data-testid=request-list] a[href="#/requests/${id}"]`);
  await shot(t, page, '07-request-list');
  await logout(page);

  // Approver (another account): approve, wait for the analysis, review the masking.
  await firstLogin(t, page, 'approver1', 'Temp-approver-Word-83', PASSWORDS.approver);
  t.same(await navLinks(page), ['#/', '#/requests', '#/ledger'], 'the approver gets status, requests and the ledger');
  await page.goto(`${base}/#/requests/${id}`);
  await page.waitForSelector('[data-testid=approve]');
  t.equal(await page.$('[data-testid=receive]'), null, 'the approver is offered no reception');
  await page.tap('[data-testid=approve]');
  await page.waitForSelector('[data-testid=go-review]', { timeout: 120_000 });
  await page.tap('[data-testid=go-review]');
  await page.waitForSelector('[data-testid=track-card]');
  const tracks = (await (await context.request.get(`${base}/api/requests/${id}/tracks`)).json()) as { tracks: { id: number; points: { y: number }[] }[] };
  const subject = tracks.tracks.find((tr) => tr.points.every((p) => p.y > 150));
  t.ok(subject, `the subject's track is among ${tracks.tracks.length}`);
  t.equal((await page.$$('[data-testid=track-card]')).length, tracks.tracks.length, 'one card per track');
  await page.tap(`[data-track="${subject!.id}"]`);
  await page.waitForSelector(`[data-track="${subject!.id}"][aria-pressed=true]`);
  await page.waitForFunction(() => document.querySelector('[aria-live]')?.textContent === '저장됨');

  // The clip plays in the browser.
  const clip = await page.waitForFunction(() => {
    const v = document.querySelector('video');
    return v && v.readyState >= 2 ? { duration: v.duration, w: v.videoWidth } : false;
  }, null, { timeout: 60_000 }).then((h) => h.jsonValue()).catch(() => null);
  t.ok(clip && clip.duration > 4, `the review clip plays (${JSON.stringify(clip)})`);

  // Draw one manual region on the picture.
  await page.tap('[data-testid=draw]');
  const box = (await (await page.$('[data-testid=overlay]'))!.boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.05, box.y + box.height * 0.05);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.2, box.y + box.height * 0.15, { steps: 5 });
  await page.mouse.move(box.x + box.width * 0.25, box.y + box.height * 0.2, { steps: 5 });
  await page.mouse.up();
  await page.waitForSelector('[data-testid=region]');
  await page.waitForFunction(() => document.querySelector('[aria-live]')?.textContent === '저장됨');
  await page.tap('[data-testid=preview]');
  await page.waitForFunction(() => {
    const img = document.querySelector<HTMLImageElement>('[data-testid=preview-img]');
    return img && img.complete && img.naturalWidth > 0;
  });
  t.pass('the masked preview frame is shown');
  await shot(t, page, '08-review');
  const saved = (await (await context.request.get(`${base}/api/requests/${id}`)).json()) as { review: { unmasked: number[]; manualRegions: { x: number; y: number; w: number; h: number }[] } };
  t.same(saved.review.unmasked, [subject!.id], 'the decision saved: the subject left visible');
  t.equal(saved.review.manualRegions.length, 1, 'the drawn region saved');
  const r0 = saved.review.manualRegions[0]!;
  t.ok(r0.x >= 20 && r0.x <= 45 && r0.w >= 100 && r0.w <= 150, `the region is where it was drawn (${JSON.stringify(r0)})`);
  // The preview route masks with the saved decision; as recorded it does not.
  const frame = async (masked: boolean) => context.request.get(`${base}/api/requests/${id}/review/frame?t=1&masked=${masked}`);
  const [plain, maskedFrame] = [await frame(false), await frame(true)];
  t.equal(plain.status(), 200);
  t.equal(plain.headers()['content-type'], 'image/png');
  t.equal(plain.headers()['x-veilport-masked-boxes'], '0', 'as recorded: nothing masked');
  t.ok(Number(maskedFrame.headers()['x-veilport-masked-boxes']) >= 2, `masked: the other track and the manual region (${maskedFrame.headers()['x-veilport-masked-boxes']} boxes)`);
  t.notSame(await plain.body(), await maskedFrame.body(), 'the masked frame differs');
  await page.tap('[data-testid=confirm-review]');
  await page.waitForSelector('[data-testid=request-detail]');
  await page.tap('a.nav[href="#/ledger"]');
  await page.waitForSelector('[data-testid=stats] .bar-row');
  await shot(t, page, '09-ledger');
  await logout(page);

  // Clerk: once sealed, the password (out of band) and the package.
  await login(page, 'clerk1', PASSWORDS.clerk);
  await page.waitForSelector('[data-testid=dashboard]');
  await page.goto(`${base}/#/requests/${id}`);
  await page.waitForSelector('[data-testid=reveal-password]', { timeout: 120_000 });
  t.equal(await page.$('[data-testid=go-review]'), null, 'the clerk is offered no masking review');
  await page.tap('[data-testid=reveal-password]');
  const password = (await (await page.waitForSelector('[data-testid=password]')).textContent())!.trim();
  t.match(password, /^[0-9A-Z]{5}(-[0-9A-Z]{5}){3}$/, 'the password is shown for hand-over');
  const [download] = await Promise.all([page.waitForEvent('download'), page.tap('[data-testid=download]')]);
  const file = join(dir, 'from-ui.vpkg');
  await download.saveAs(file);
  await page.waitForFunction(() => /제공 완료/.test(document.querySelector('[data-testid=request-detail] h1')?.textContent ?? ''));
  await shot(t, page, '10-delivery');
  const verified = await verifyPackage(file, { trustedPublicKeys: [run.daemon.ctx.signer.publicKey] });
  t.equal(verified.manifest.caseId, id, 'the downloaded package verifies and names the request');
  t.same(verified.manifest.masking.tracksUnmasked.map((x: { id: number }) => x.id), [subject!.id], 'the reviewed track is left visible in the package');
  t.equal(verified.manifest.masking.manualRegions, 1, 'the drawn region is in the package');
  await logout(page);

  // Auditor: the access log and its verification.
  await firstLogin(t, page, 'auditor1', 'Temp-auditor-Word-83', PASSWORDS.auditor);
  t.same(await navLinks(page), ['#/', '#/requests', '#/ledger', '#/audit'], 'the auditor gets status, requests, ledger and the access log');
  await page.tap('a.nav[href="#/audit"]');
  await page.tap('[data-testid=verify]');
  t.match(await (await page.waitForSelector('[data-testid=verify-result]')).textContent(), /무결성 확인/, 'the access log verifies, said in Korean');
  await shot(t, page, '11-access-log');

  // English by the toggle; the big screen.
  await page.tap('[data-testid=lang]');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  t.pass('the toggle switches the page to English');
  t.match(await page.textContent('nav'), /Access log/, 'English labels after the toggle');
  await page.tap('[data-testid=lang]');
  await page.tap('a.nav[href="#/"]');
  await page.setViewportSize({ width: 1920, height: 1080 });
  await page.waitForSelector('[data-testid=dashboard] .card');
  await page.screenshot({ path: join(shots, '12-dashboard-1920x1080.png') });
  t.same(await smallTargets(page), [], '1920x1080: every touch target is at least 48 px');
  t.notOk(await page.evaluate(() => document.documentElement.scrollWidth > innerWidth), 'no horizontal scrolling at 1920x1080');

  // Idle: the session is closed and the login screen comes back.
  const idleCtx = await browser.newContext({ viewport: { width: 1280, height: 800 }, hasTouch: true, isMobile: false, locale: 'ko-KR', timezoneId: 'Asia/Seoul' });
  await idleCtx.addInitScript(() => ((window as unknown as { VEILPORT_IDLE_SECONDS: number }).VEILPORT_IDLE_SECONDS = 3));
  const idlePage = await idleCtx.newPage();
  await idlePage.goto(base + '/#/new');
  await login(idlePage, 'clerk1', PASSWORDS.clerk);
  await idlePage.waitForSelector('[data-testid=new-request]');
  await idlePage.fill('input[name=name]', '임시');
  await idlePage.waitForSelector('[data-testid=login] .notice', { timeout: 10_000 });
  t.match(await idlePage.textContent('[data-testid=login] .notice'), /로그아웃/, 'idle: back to the login screen, said in Korean');
  t.equal((await idleCtx.request.get(`${base}/api/session`)).status(), 401, 'idle: the session is closed on the box too');
  await login(idlePage, 'clerk1', PASSWORDS.clerk);
  await idlePage.waitForSelector('[data-testid=dashboard]');
  await idlePage.tap('a.nav[href="#/new"]');
  await idlePage.waitForSelector('[data-testid=new-request]');
  t.equal(await idlePage.inputValue('input[name=name]'), '', 'idle: the draft (personal data) was dropped');
  await idleCtx.close();

  t.same(consoleErrors.filter((e) => !/status of 4\d\d/.test(e)), [], 'no script errors and no CSP violations in the page');
  writeFileSync(join(shots, 'timing.txt'), `UI procedure test: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  await context.close();
});
