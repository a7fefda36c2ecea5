/**
 * The real browser for the player tests: Debian's chromium driven by playwright-core,
 * offline, the player opened from a file:// URL, every request recorded and anything
 * that is not the page itself or one of its own blob: URLs refused. Not a test file.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { runCli } from './cli.js';

export const CHROMIUM = '/usr/bin/chromium';
export const haveChromium = () => existsSync(CHROMIUM);

export interface Session {
  browser: Browser;
  context: BrowserContext;
  /** Every request any page made, in order. */
  requests: string[];
  /** Requests that were refused (anything but file:// of the player and blob:). */
  refused: string[];
  /** Uncaught page errors and console errors. */
  errors: string[];
  playerUrl: string;
  newPage(): Promise<Page>;
  /** A page in its own context whose clock reads `now`. */
  clockedPage(now: Date): Promise<Page>;
  close(): Promise<void>;
}

/** Writes the player with the CLI (extra args, e.g. --trust-key) and starts an offline browser. */
export async function startSession(dir: string, name = 'player.html', extra: string[] = []): Promise<Session> {
  const html = join(dir, name);
  const [r] = await runCli([['player', '--out', html, ...extra]], dir);
  if (!r || r.code !== 0) throw new Error(`veilport player failed: ${r?.err}`);
  const playerUrl = `file://${html}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'] });
  const requests: string[] = [];
  const refused: string[] = [];
  const errors: string[] = [];
  const makeContext = async () => {
    const context = await browser.newContext({ locale: 'ko-KR', timezoneId: 'Asia/Seoul' });
    await context.setOffline(true);
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url === playerUrl || url.startsWith('blob:')) return route.continue();
      refused.push(url);
      return route.abort('blockedbyclient');
    });
    context.on('request', (req) => {
      const url = req.url();
      requests.push(url);
      if (url !== playerUrl && !url.startsWith('blob:') && !refused.includes(url)) refused.push(url);
    });
    return context;
  };
  const context = await makeContext();
  const watch = (page: Page) => {
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`));
    return page;
  };
  return {
    browser,
    context,
    requests,
    refused,
    errors,
    playerUrl,
    newPage: async () => watch(await context.newPage()),
    async clockedPage(now: Date) {
      // The clock is per context: a page with a fixed clock gets a context of its own.
      const c = await makeContext();
      await c.clock.setFixedTime(now);
      return watch(await c.newPage());
    },
    close: () => browser.close(),
  };
}

export const state = (page: Page) => page.evaluate(() => document.documentElement.dataset.state ?? '');

/** Waits until the page's state is one of `states`; returns it. */
export async function waitState(page: Page, states: string[], timeout = 60_000): Promise<string> {
  await page.waitForFunction((s) => s.includes(document.documentElement.dataset.state ?? ''), states, { timeout });
  return state(page);
}

export interface Outcome {
  state: string;
  code: string | null;
  reason: string;
  text: string;
}

export async function outcome(page: Page): Promise<Outcome> {
  return page.evaluate(() => {
    const s = document.getElementById('status')!;
    return { state: document.documentElement.dataset.state ?? '', code: s.dataset.code ?? null, reason: s.dataset.reason ?? '', text: s.textContent ?? '' };
  });
}

/** Chooses a package through the page's one file input and waits for the verdict. */
export async function choose(page: Page, path: string): Promise<Outcome> {
  // Forget the previous verdict, so the wait below sees this file's.
  await page.evaluate(() => (document.documentElement.dataset.state = 'choosing'));
  await page.setInputFiles('input[type=file]', path);
  await waitState(page, ['locked', 'error']);
  return outcome(page);
}

/** Types the password into the one password field and presses Enter. */
export async function unlock(page: Page, password: string): Promise<Outcome> {
  await page.fill('input[type=password]', password);
  await page.press('input[type=password]', 'Enter');
  await page.waitForFunction(() => {
    const st = document.documentElement.dataset.state;
    return st === 'playing' || st === 'error' || (st === 'locked' && document.getElementById('status')!.dataset.code);
  }, null, { timeout: 60_000 });
  return outcome(page);
}

export const timings = async (page: Page) => JSON.parse((await page.evaluate(() => document.documentElement.dataset.timings)) ?? '{}') as Record<string, number | string>;
