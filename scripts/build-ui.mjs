// Bundles the touchscreen UI (src/ui, Preact + TSX) into static files under dist/ui at
// build time: index.html, app.js, app.css. Nothing is fetched at run time.
// Usage: node scripts/build-ui.mjs [outDir]
import { build } from 'esbuild';
import { copyFile, mkdir, stat } from 'node:fs/promises';
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

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const sizes = await buildUi(process.argv[2]);
  console.log(`ui: ${Object.entries(sizes).map(([f, n]) => `${f} ${(n / 1024).toFixed(1)} kB`).join(', ')}`);
}
