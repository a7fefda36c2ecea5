// Bundles the touchscreen UI (src/ui, Preact + TSX) into static files under dist/ui at
// build time (index.html, app.js, app.css), and the offline player's script into
// dist/player. Nothing is fetched at run time.
// Usage: node scripts/build-ui.mjs [outDir]
import { build } from 'esbuild';
import { copyFile, mkdir, stat, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));

export async function buildUi(outDir = join(root, 'dist', 'ui')) {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: { app: join(root, 'src/ui/main.tsx') },
    outdir: outDir,
    bundle: true,
    format: 'esm',
    minify: true,
    target: ['chrome110'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'warning',
  });
  await build({ entryPoints: { app: join(root, 'src/ui/app.css') }, outdir: outDir, bundle: true, minify: true, logLevel: 'warning' });
  await copyFile(join(root, 'src/ui/index.html'), join(outDir, 'index.html'));
  const sizes = {};
  for (const f of ['index.html', 'app.js', 'app.css']) sizes[f] = (await stat(join(outDir, f))).size;
  return sizes;
}

/** The offline player's script, bundled now so boxes without esbuild can still hand it out. */
export async function buildPlayer() {
  const { bundlePlayerScript, PREBUILT_PLAYER } = await import('../dist/player/build.js');
  await mkdir(join(PREBUILT_PLAYER, '..'), { recursive: true });
  const script = await bundlePlayerScript();
  await writeFile(PREBUILT_PLAYER, script);
  return script.length;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const sizes = await buildUi(process.argv[2]);
  console.log(`ui: ${Object.entries(sizes).map(([f, n]) => `${f} ${(n / 1024).toFixed(1)} kB`).join(', ')}`);
  if (!process.argv[2]) console.log(`player: player.js ${((await buildPlayer()) / 1024).toFixed(1)} kB`);
}
