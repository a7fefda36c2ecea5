/**
 * Builds the offline player: bundles src/player/main.ts (and the @noble libraries it
 * uses) into one script with esbuild and wraps it in the HTML shell. Runs in Node, when
 * `veilport player` is asked for a file, from the installed package's sources.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VeilportError } from '../util/errors.js';
import { playerPage } from './page.js';

// src/player or dist/player -> package root
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PLAYER_ENTRY = join(ROOT, 'src', 'player', 'main.ts');
/** The script bundled at build time (`npm run build`), for boxes without the build tools. */
export const PREBUILT_PLAYER = join(ROOT, 'dist', 'player', 'player.js');

/** Browsers the bundle is written for (syntax level): current desktop Chromium, Firefox, Safari. */
const TARGETS = ['chrome109', 'edge109', 'firefox115', 'safari16'];

export async function bundlePlayerScript(): Promise<string> {
  if (!existsSync(PLAYER_ENTRY)) {
    throw new VeilportError('NOT_FOUND', `player sources not found at ${PLAYER_ENTRY}; the player is built from the installed package's src/player`);
  }
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (e) {
    // The appliance image has no dev tools: it ships the script bundled at build time.
    if (existsSync(PREBUILT_PLAYER)) return readFileSync(PREBUILT_PLAYER, 'utf8');
    throw new VeilportError('NOT_FOUND', `esbuild is not installed and ${PREBUILT_PLAYER} was not built, so the player cannot be made (npm install && npm run build): ${(e as Error).message}`);
  }
  const result = await esbuild.build({
    entryPoints: [PLAYER_ENTRY],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: TARGETS,
    minify: true,
    legalComments: 'none',
    charset: 'utf8',
    logLevel: 'silent',
    // The page runs with no network: anything that tried to load at run time would fail.
    external: [],
  });
  const out = result.outputFiles[0];
  if (!out) throw new Error('esbuild produced no player script');
  // Inline in <script>: "</script" must not appear (esbuild escapes it in strings; checked in playerPage).
  return out.text;
}

function packageVersion(): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** The complete player page as one HTML string. */
export async function buildPlayerHtml(opts: { trustedKeys?: string[] } = {}): Promise<string> {
  const script = await bundlePlayerScript();
  const version = packageVersion();
  return playerPage({ script, ...(opts.trustedKeys ? { trustedKeys: opts.trustedKeys } : {}), ...(version ? { version } : {}) });
}
