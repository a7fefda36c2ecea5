/**
 * The whole procedure through the touchscreen UI in a real browser (Debian's chromium,
 * headless, touch emulation on, 1280x800, Korean): bootstrap with the console token,
 * accounts, forced password changes, a request on real footage with the recordings
 * picker, reception, approval by another account, masking review (tracks in sections,
 * two merged as the same person and the group left visible then unmerged, unexplained
 * motion dismissed and masked again, head/body, the masking report and the strip under
 * the scrubber; one track left visible, one manual region drawn on the picture, a masked
 * preview), render, password
 * and download; the downloaded package is verified. On the way: every screen's touch
 * targets are at least 48 px tall, each role sees only its screens, an API error is
 * shown in Korean without losing what was typed, and screenshots of every screen are
 * written to .cache/ui-screens (1280x800, plus the dashboard at 1920x1080).
 */
import t from 'tap';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type APIRequestContext, type Browser, type Page } from 'playwright-core';
import { verifyPackage } from '../../src/seal/index.js';
import { makeLobby, PASSWORDS, start, testSettings, type Running } from '../api/helpers.js';
// @ts-expect-error: a plain ES module script without types
import { buildUi } from '../../scripts/build-ui.mjs';
import { boxDir } from '../helpers/box-dir.js';

const dir = boxDir('procedure');
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

/** Polls until `ok` holds for what `get` returns (the saved decision follows a tap after a round trip). */
async function until<T>(get: () => Promise<T>, ok: (v: T) => boolean, what: string, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  let last: T = await get();
  while (!ok(last)) {
    if (Date.now() > end) throw new Error(`${what}: still ${JSON.stringify(last).slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 100));
    last = await get();
  }
  return last;
}

interface SavedReview {
  unmasked: number[];
  groups?: number[][];
  personMask?: string;
}

interface ApiTrack {
  id: number;
  target: string;
  ownerId?: number;
  unmasked: boolean;
  points: { y: number }[];
}

/**
 * The review screen's sections (persons with their attached faces, loose faces and
 * plates, unexplained motion), merge and undo, the group's decision in the saved review
 * and in the preview plan, dismissing unexplained motion, head or body, the masking
 * report and the strip. Ends with the subject's card (the person holding the subject's
 * face, or the face itself) alone visible, persons by head; returns the ids that saves.
 */
async function reviewScreen(t: Tap.Test, page: Page, request: APIRequestContext, base: string, id: string): Promise<{ unmasked: number[]; visible: number[] }> {
  const review = async () => ((await (await request.get(`${base}/api/requests/${id}`)).json()) as { review: SavedReview }).review;
  const fetchTracks = async () =>
    (await (await request.get(`${base}/api/requests/${id}/tracks`)).json()) as { tracks: ApiTrack[]; report: { maskedSharePerSecond: number[]; unexplainedMotion: { tracks: number } } };
  const { tracks, report } = await fetchTracks();
  const count = (sel: string) => page.$$eval(sel, (els) => els.length);
  const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
  const persons = tracks.filter((x) => x.target === 'person');
  const attached = tracks.filter((x) => x.target === 'face' && x.ownerId !== undefined);
  const loose = tracks.filter((x) => (x.target === 'face' && x.ownerId === undefined) || x.target === 'plate');
  const motion = tracks.filter((x) => x.target === 'motion');
  const vehicles = tracks.filter((x) => x.target === 'vehicle');
  t.comment(`tracks: ${tracks.length} (${persons.length} person, ${attached.length} face attached to a person, ${loose.length} loose face/plate, ${motion.length} unexplained motion, ${vehicles.length} vehicle)`);

  t.match(await page.textContent('[data-testid=section-persons] h2'), new RegExp(`^사람 \\(${persons.length}\\)`), `the persons section leads: one card per person (${persons.length})`);
  t.equal(await count('[data-testid=section-persons] [data-testid=unit-card]'), persons.length, 'one card per person track before any merge');
  for (const f of attached) t.match(await page.textContent(`[data-unit="t${f.ownerId}"] [data-testid=attached-faces]`), `#${f.id}`, `face #${f.id} is shown with its person #${f.ownerId}, not as a card`);
  t.equal(await count('[data-testid=section-facesPlates] [data-testid=unit-card]'), loose.length, `loose faces and plates under 얼굴·번호판 (${loose.length})`);
  t.equal(await count('[data-testid=section-motion] [data-testid=unit-card]'), motion.length, `unexplained motion apart (${motion.length} cards)`);
  t.equal(await count('[data-testid=section-vehicles] [data-testid=unit-card]'), vehicles.length, `vehicles apart, for information (${vehicles.length})`);
  t.equal(await count('[data-testid=section-vehicles] [data-testid=track-card]'), 0, 'a vehicle card has no masked/visible switch');
  t.equal(await count('[data-testid=track-card]'), tracks.length - attached.length - vehicles.length, 'a switch per track, attached faces inside their person');

  // The strip under the scrubber draws the report's share per second; the summary says it.
  const drawn = await page.$$eval('[data-testid=strip-second]', (els) => els.map((e) => Number(e.getAttribute('data-share'))));
  t.same(drawn, report.maskedSharePerSecond.filter((x) => x > 0), `the strip draws the masked share of each second (${drawn.join(', ')})`);
  t.ok(drawn.length >= 4, `${drawn.length} seconds drawn`);
  t.match(await page.textContent('[data-testid=report-tracks]'), new RegExp(`^추적 ${tracks.length - vehicles.length}개 가림 · 0개 공개`), 'the report: every track but vehicles masked');
  t.match(await page.textContent('[data-testid=report-persons]'), new RegExp(`^사람 ${persons.length}명 가림 · 0명 공개`), 'the report: every person masked');
  t.match(await page.textContent('[data-testid=report-motion]'), new RegExp(`설명되지 않은 움직임 ${report.unexplainedMotion.tracks}개: 화면의 평균 [\\d.]+%`), 'the report: unexplained motion and its share');
  t.comment(`report before confirm: ${(await page.textContent('[data-testid=masking-report] ul'))?.replace(/\s+/g, ' ')}`);
  await shot(t, page, '08a-review-sections');

  // Merge two cards as the same person (two persons if there are, else two loose faces); one tap leaves the group visible.
  const pair = (persons.length >= 2 ? persons : loose.filter((x) => x.target === 'face')).slice(0, 2).map((x) => x.id);
  t.equal(pair.length, 2, `two cards of one kind to merge (${pair.join(', ')})`);
  const both = sorted(pair);
  t.ok(await page.isDisabled('[data-testid=merge]'), 'merge is offered only once two cards are chosen');
  await page.tap(`[data-unit="t${pair[0]}"] [data-testid=choose]`);
  await page.tap(`[data-unit="t${pair[1]}"] [data-testid=choose]`);
  await page.tap('[data-testid=merge]');
  const group = `[data-unit="g${both[0]}"]`;
  await page.waitForSelector(group);
  let saved = await until(review, (r) => (r.groups ?? []).length === 1, 'the merge is saved');
  t.same(saved.groups, [both], `the merge group is saved (${both.join('+')})`);
  t.same(saved.unmasked, [], 'merged, still masked');
  await page.tap(`${group} [data-testid=track-card]`);
  saved = await until(review, (r) => r.unmasked.length === 2, 'the group is left visible');
  t.same(saved.unmasked, both, 'one tap on the group: both tracks visible in the saved decision');
  const withFaces = sorted([...both, ...attached.filter((f) => both.includes(f.ownerId!)).map((f) => f.id)]);
  const preview = await request.get(`${base}/api/requests/${id}/review/frame?t=2&masked=true`);
  t.same((preview.headers()['x-veilport-visible-tracks'] ?? '').split(',').filter(Boolean).map(Number), withFaces, `and visible in the preview plan, with their faces (${withFaces.join(',')})`);
  await page.waitForFunction((n) => new RegExp(`개 가림 · ${n}개 공개`).test(document.querySelector('[data-testid=report-tracks]')?.textContent ?? ''), withFaces.length);
  t.pass(`the report follows the saved decision (${withFaces.length} tracks visible)`);
  await page.waitForFunction(() => document.querySelector('[data-testid=save-state]')?.textContent === '저장됨');
  await shot(t, page, '08b-review-merged');

  // Undo the merge: each track keeps its decision; mask both again.
  await page.tap(`${group} [data-testid=unmerge]`);
  saved = await until(review, (r) => (r.groups ?? []).length === 0, 'the merge is undone');
  t.same(saved.unmasked, both, 'undoing the merge keeps both visible');
  for (const x of pair) {
    await page.waitForSelector(`[data-track="${x}"][aria-pressed=true]`);
    await page.tap(`[data-track="${x}"]`);
  }
  saved = await until(review, (r) => r.unmasked.length === 0, 'both masked again');

  // Dismiss one unexplained motion (a tree, say): recorded as unmasking it; then mask it again.
  const m = motion[0]?.id;
  t.ok(m !== undefined, 'an unexplained-motion card to dismiss');
  if (m !== undefined) {
    await page.tap(`[data-unit="t${m}"] [data-testid=dismiss]`);
    saved = await until(review, (r) => r.unmasked.includes(m), 'the motion dismissed');
    t.same(saved.unmasked, [m], 'dismissing unexplained motion is saved as unmasking it');
    await page.waitForSelector(`[data-unit="t${m}"] .badge.st-delivered`);
    await page.tap(`[data-unit="t${m}"] [data-testid=dismiss]`);
    saved = await until(review, (r) => !r.unmasked.includes(m), 'the motion masked again');
  }

  // Head or whole body for persons.
  await page.tap('[data-testid=section-persons] .choice button:nth-child(2)');
  saved = await until(review, (r) => r.personMask === 'body', 'persons by body');
  await page.tap('[data-testid=section-persons] .choice button:nth-child(1)');
  saved = await until(review, (r) => r.personMask === 'head', 'persons by head');

  // The subject: the bottom face, or the person it belongs to.
  const face = tracks.filter((x) => x.target === 'face').find((x) => x.points.every((p) => p.y > 150));
  t.ok(face, `the subject's face is among ${tracks.length} tracks`);
  const card = face!.ownerId ?? face!.id;
  await page.tap(`[data-track="${card}"]`);
  saved = await until(review, (r) => r.unmasked.length > 0, 'the subject left visible');
  t.same(saved.unmasked, [card], `the decision: the subject's card (#${card}) alone visible, persons by head`);
  const visible = (await fetchTracks()).tracks.filter((x) => x.unmasked).map((x) => x.id);
  t.same(visible, sorted([card, ...attached.filter((f) => f.ownerId === card).map((f) => f.id)]), `visible: ${visible.join(', ')}`);
  await page.waitForSelector(`[data-track="${card}"][aria-pressed=true]`);
  await page.waitForFunction(() => document.querySelector('[data-testid=save-state]')?.textContent === '저장됨');
  return { unmasked: saved.unmasked, visible };
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
  await page.tap('button[data-target=plate]'); // persons, faces and unexplained motion
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
  await page.waitForSelector('[data-testid=go-review]', { timeout: 300_000 }); // a shared, loaded box analyses slowly
  await page.tap('[data-testid=go-review]');
  await page.waitForSelector('[data-testid=track-card]');
  const subject = await reviewScreen(t, page, context.request, base, id);

  // The clip plays in the browser.
  const clip = await page.waitForFunction(() => {
    const v = document.querySelector('video');
    return v && v.readyState >= 2 ? { duration: v.duration, w: v.videoWidth } : false;
  }, null, { timeout: 60_000 }).then((h) => h.jsonValue()).catch(() => null);
  t.ok(clip && clip.duration > 4, `the review clip plays (${JSON.stringify(clip)})`);

  // Draw one manual region on the picture.
  await page.$eval('[data-testid=overlay]', (el) => el.scrollIntoView({ block: 'center' })); // the track cards above may have scrolled it away
  await page.tap('[data-testid=draw]');
  const box = (await (await page.$('[data-testid=overlay]'))!.boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.05, box.y + box.height * 0.05);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.2, box.y + box.height * 0.15, { steps: 5 });
  await page.mouse.move(box.x + box.width * 0.25, box.y + box.height * 0.2, { steps: 5 });
  await page.mouse.up();
  await page.waitForSelector('[data-testid=region]');
  await page.waitForFunction(() => document.querySelector('[data-testid=save-state]')?.textContent === '저장됨');
  await page.tap('[data-testid=preview]');
  await page.waitForFunction(() => {
    const img = document.querySelector<HTMLImageElement>('[data-testid=preview-img]');
    return img && img.complete && img.naturalWidth > 0;
  });
  t.pass('the masked preview frame is shown');
  await shot(t, page, '08-review');
  const saved = (await (await context.request.get(`${base}/api/requests/${id}`)).json()) as { review: { unmasked: number[]; manualRegions: { x: number; y: number; w: number; h: number }[] } };
  t.same(saved.review.unmasked, subject.unmasked, 'the decision saved: the subject left visible');
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
  t.same(verified.manifest.masking.tracksUnmasked.map((x: { id: number }) => x.id).sort((a: number, b: number) => a - b), subject.visible, 'the reviewed card (and its faces) is left visible in the package');
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
