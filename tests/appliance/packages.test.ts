/**
 * Setup's Debian packages are derived from what the code asks for, not remembered:
 * every GStreamer element that pipelines/, src/, tests/, native/ and scripts/ name is
 * looked up with gst-inspect-1.0 (its plugin file) and dpkg -S (the package owning that
 * file), and that package must be in scripts/debian-packages.txt, the list setup.sh
 * installs. An element GStreamer does not know here fails too, unless it is one of the
 * hardware-only elements of the Jetson and Intel profiles listed below by profile.
 *
 * Where element names are found (inside string literals only, comments ignored):
 *  - every element position of a launch description written with " ! " (the first word
 *    of each part: "videotestsrc ... ! timeoverlay ! x264enc ..."), known here or not;
 *  - string literals that are an element name GStreamer knows here, alone or followed by
 *    properties ('timeoverlay', 'mp4mux faststart=true', spawn arguments such as 'fdsrc').
 * Limit: an element written only as a bare word (the second kind) whose package is not
 * installed here cannot be told from any other word; the first kind is caught always.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadProfiles, requiredElements } from '../../src/media/profiles.js';
import { REPO } from './helpers.js';

const LIST = 'scripts/debian-packages.txt';

/**
 * Elements of the hardware profiles that exist only on their hardware (with its driver),
 * by profile, with what provides them. They are not required in setup's list (setup
 * prepares a CPU machine for development and the tests); where the provider is a
 * Debian package, the appliance image must install it.
 */
const HARDWARE: Record<string, { debian: string | null; provider: string; elements: string[] }> = {
  jetson: { debian: null, provider: 'NVIDIA L4T (nvidia-l4t-gstreamer on the Jetson), not a Debian package', elements: ['nvv4l2decoder', 'nvvidconv', 'nvv4l2h264enc'] },
  'intel-va': { debian: 'gstreamer1.0-plugins-bad', provider: 'the va plugin of gstreamer1.0-plugins-bad: elements appear only with an Intel render node and intel-media-va-driver', elements: ['vah264dec', 'vah265dec', 'vapostproc', 'vah264enc'] },
  'intel-qsv': { debian: 'gstreamer1.0-plugins-bad', provider: 'the qsv plugin of gstreamer1.0-plugins-bad: elements appear only with an Intel GPU and oneVPL', elements: ['qsvh264dec', 'qsvh265dec', 'qsvh264enc'] },
  'intel-vaapi': { debian: 'gstreamer1.0-vaapi', provider: 'gstreamer1.0-vaapi: elements appear only with a VA-API render node', elements: ['vaapih264dec', 'vaapih265dec', 'vaapipostproc', 'vaapih264enc'] },
};
const HARDWARE_ELEMENTS = new Set(Object.values(HARDWARE).flatMap((h) => h.elements));

/** setup's list: package names, each line "name  # why". */
function readList(file: string): { packages: Set<string>; problems: string[] } {
  const packages = new Set<string>();
  const problems: string[] = [];
  readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
    const [body = '', ...comment] = line.split('#');
    const words = body.trim().split(/\s+/).filter(Boolean);
    if (words.length === 0) return;
    const where = `${LIST}:${i + 1}`;
    if (words.length > 1) problems.push(`${where}: one package per line, got "${words.join(' ')}"`);
    if (comment.join('#').trim() === '') problems.push(`${where}: ${words[0]} has no "# why" comment`);
    for (const w of words) {
      if (!/^[a-z0-9][a-z0-9+.-]+$/.test(w)) problems.push(`${where}: "${w}" is not a Debian package name`);
      packages.add(w);
    }
  });
  return { packages, problems };
}

/** The string literals of a JS/TS/C/JSON source, comments skipped; `${...}` becomes \u0001. */
export function stringLiterals(src: string): string[] {
  const out: string[] = [];
  let i = 0;
  const quoted = (q: string) => {
    let s = '';
    i++;
    while (i < src.length && src[i] !== q && src[i] !== '\n') {
      if (src[i] === '\\') { s += src[i + 1] ?? ''; i += 2; continue; }
      s += src[i++];
    }
    i++;
    out.push(s);
  };
  const template = () => {
    let s = '';
    i++;
    while (i < src.length && src[i] !== '`') {
      if (src[i] === '\\') { s += src[i + 1] ?? ''; i += 2; continue; }
      if (src[i] === '$' && src[i + 1] === '{') { i += 2; code(true); s += '\u0001'; continue; }
      s += src[i++];
    }
    i++;
    out.push(s);
  };
  const code = (untilBrace: boolean) => {
    let depth = 0;
    while (i < src.length) {
      const c = src[i];
      const d = src[i + 1];
      if (c === '/' && d === '/') { const j = src.indexOf('\n', i); i = j < 0 ? src.length : j; continue; }
      if (c === '/' && d === '*') { const j = src.indexOf('*/', i + 2); i = j < 0 ? src.length : j + 2; continue; }
      if (c === "'" || c === '"') { quoted(c); continue; }
      if (c === '`') { template(); continue; }
      if (untilBrace && c === '{') depth++;
      if (untilBrace && c === '}') { if (depth === 0) { i++; return; } depth--; }
      i++;
    }
  };
  code(false);
  return out;
}

const NAME = /^[a-z][a-z0-9_]*(?:-[a-z0-9_]+)*$/;

/** Element names in one string literal (see the header for the two kinds). */
export function elementNames(s: string, known: { has(name: string): boolean }): string[] {
  const names: string[] = [];
  if (/\s!\s/.test(s) || /^!\s|\s!$/.test(s)) {
    for (const part of s.split('!')) {
      const w = part.trim().split(/\s+/)[0] ?? '';
      if (NAME.test(w)) names.push(w);
    }
  }
  const m = /^([a-z][a-z0-9_-]*)(?:\s+[a-z][a-z0-9-]*=\S*)*\s*$/.exec(s);
  if (m && known.has(m[1]!)) names.push(m[1]!);
  return names;
}

function sources(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(join(REPO, dir))) {
      const rel = join(dir, e);
      if (statSync(join(REPO, rel)).isDirectory()) walk(rel);
      else if (/\.(ts|tsx|mjs|js|c)$/.test(e) || (dir === 'pipelines' && e.endsWith('.json'))) files.push(rel);
    }
  };
  for (const d of ['pipelines', 'src', 'tests', 'native', 'scripts']) walk(d);
  // This file names elements to describe the check, not to use them.
  return files.filter((f) => f !== 'tests/appliance/packages.test.ts');
}

function sh(cmd: string, args: string[]) {
  return spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
}

/** Every element gst-inspect-1.0 lists on this machine, with its plugin. */
function knownElements(): Map<string, string> {
  const r = sh('gst-inspect-1.0', []);
  if (r.status !== 0) throw new Error(`gst-inspect-1.0 failed (${r.error?.message ?? r.stderr})`);
  const names = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const m = /^([\w-]+):\s+([\w-]+):\s/.exec(line);
    if (m) names.set(m[2]!, m[1]!);
  }
  return names;
}

/** The file that provides each plugin (gst-inspect-1.0 PLUGIN: Filename), once per plugin. */
function pluginFiles(plugins: Iterable<string>): Map<string, string> {
  const files = new Map<string, string>();
  for (const plugin of new Set(plugins)) {
    const r = sh('gst-inspect-1.0', [plugin]);
    let file = /^\s*Filename\s+(\/\S+)/m.exec(r.stdout)?.[1];
    // Elements built into the core library (bin, pipeline: "staticelements") have no plugin file.
    if (!file) file = sh('sh', ['-c', 'ls /usr/lib/*/libgstreamer-1.0.so.0']).stdout.trim();
    if (!file) throw new Error(`gst-inspect-1.0 ${plugin} names no file: ${r.stderr.trim()}`);
    files.set(plugin, file);
  }
  return files;
}

/** The Debian package owning each file (one dpkg -S for all; merged /usr: either name). */
function packagesOf(files: Iterable<string>): Map<string, string> {
  const variants = new Map<string, string>(); // name dpkg may know -> file asked about
  for (const f of files) {
    for (const v of [f, realpathSync(f), f.startsWith('/lib/') ? `/usr${f}` : f.replace(/^\/usr/, '')]) variants.set(v, f);
  }
  const d = sh('dpkg', ['-S', ...variants.keys()]);
  const owner = new Map<string, string>();
  for (const line of d.stdout.split('\n')) {
    const m = /^([^:,\s]+)(?::[\w-]+)?: (\/.+)$/.exec(line);
    const f = m && variants.get(m[2]!);
    if (f) owner.set(f, m[1]!);
  }
  for (const f of new Set(variants.values())) if (!owner.has(f)) throw new Error(`dpkg -S does not know ${f}: not installed from a Debian package`);
  return owner;
}

const known = knownElements();
const { packages, problems } = readList(join(REPO, LIST));

t.test(`${LIST} is one package per line, each with why`, async (t) => {
  t.same(problems, [], 'no malformed line');
  t.ok(packages.size >= 10, `${packages.size} packages listed`);
  t.comment(`${packages.size} packages: ${[...packages].join(' ')}`);
});

t.test('every element of every pipeline profile is known here or listed as hardware-only for that profile', async (t) => {
  const profiles = loadProfiles();
  t.ok(profiles.length >= 5, `${profiles.length} profiles`);
  for (const p of profiles) {
    const hw = HARDWARE[p.name]?.elements ?? [];
    for (const el of requiredElements(p, ['h264', 'h265'])) {
      if (hw.includes(el)) continue;
      t.ok(known.has(el), `profile ${p.name}: element "${el}" is known to gst-inspect-1.0 here${known.has(el) ? '' : ` (it is not; install its package and add it to ${LIST}, or list it under "${p.name}" in HARDWARE in this test if it exists only on that hardware)`}`);
    }
    // The hardware list says what the profile really uses: no stale entries.
    for (const el of hw) t.ok(requiredElements(p, ['h264', 'h265']).includes(el), `profile ${p.name} uses hardware element ${el}`);
  }
  for (const name of Object.keys(HARDWARE)) t.ok(profiles.some((p) => p.name === name), `HARDWARE names a real profile: ${name}`);
  // Where a hardware profile's elements come from Debian, the appliance image installs them.
  const image = readList(join(REPO, 'image-build/packages.txt')).packages;
  for (const [name, h] of Object.entries(HARDWARE)) {
    if (h.debian) t.ok(image.has(h.debian), `image-build/packages.txt installs ${h.debian} for profile ${name}`);
    t.comment(`hardware-only ${name}: ${h.elements.join(', ')} (${h.provider}); here: ${h.elements.filter((e) => known.has(e)).join(', ') || 'none'}`);
  }
});

t.test('every element the code names comes from a package in setup\'s list', async (t) => {
  const uses = new Map<string, Set<string>>();
  const scanned = sources();
  for (const f of scanned) {
    for (const s of stringLiterals(readFileSync(join(REPO, f), 'utf8'))) {
      for (const el of elementNames(s, known)) {
        if (!uses.has(el)) uses.set(el, new Set());
        uses.get(el)!.add(f);
      }
    }
  }
  t.ok(uses.size >= 20, `${uses.size} element names found in ${scanned.length} files`);
  const files = pluginFiles([...uses.keys()].filter((el) => known.has(el)).map((el) => known.get(el)!));
  const owners = packagesOf(files.values());
  const byPackage = new Map<string, string[]>();
  for (const [el, where] of [...uses].sort(([a], [b]) => a.localeCompare(b))) {
    const inFiles = [...where].slice(0, 3).join(', ') + (where.size > 3 ? ` and ${where.size - 3} more` : '');
    if (!known.has(el)) {
      if (HARDWARE_ELEMENTS.has(el)) continue;
      t.fail(`element "${el}" (${inFiles}) is not known to gst-inspect-1.0 on this machine: add the Debian package that provides it to ${LIST} and run sh scripts/setup.sh (or, if it exists only on a profile's hardware, list it under that profile in HARDWARE)`);
      continue;
    }
    const file = files.get(known.get(el)!)!;
    const pkg = owners.get(file)!;
    if (!HARDWARE_ELEMENTS.has(el)) {
      t.ok(packages.has(pkg), `element "${el}" (${inFiles}) comes from ${relative('/', file)} in Debian package ${pkg}, ${packages.has(pkg) ? `which is in ${LIST}` : `which is NOT in ${LIST}: add "${pkg}" there`}`);
    }
    byPackage.set(pkg, [...(byPackage.get(pkg) ?? []), el]);
  }
  for (const [pkg, els] of byPackage) t.comment(`${pkg}: ${els.join(' ')}`);
});

t.test('every listed package is installed here (setup has run)', async (t) => {
  const r = sh('dpkg-query', ['-W', '-f=${Package} ${Status}\n', ...packages]);
  const installed = new Set(r.stdout.split('\n').filter((l) => l.endsWith('install ok installed')).map((l) => l.split(' ')[0]));
  for (const p of packages) t.ok(installed.has(p), `${p} is installed`);
});

t.test('the scanner finds elements in launch descriptions and bare names, not in prose', async (t) => {
  const k = new Map([['timeoverlay', 'pango'], ['mp4mux', 'isomp4'], ['fdsrc', 'coreelements']]);
  t.same(stringLiterals("a = 'x' // 'not'\n/* \"nor\" */ b = `v ${'in'} w`; c = \"d\\\"e\""), ['x', 'in', 'v \u0001 w', 'd"e']);
  t.same(elementNames('videotestsrc num-buffers=\u0001 ! video/x-raw,width=2 ! timeoverlay ! newthing prop=1 ! \u0001', k), ['videotestsrc', 'timeoverlay', 'newthing']);
  t.same(elementNames('timeoverlay', k), ['timeoverlay']);
  t.same(elementNames('mp4mux faststart=true', k), ['mp4mux']);
  t.same(elementNames('ball', k), [], 'a bare word GStreamer does not know is not an element');
  t.same(elementNames('Wrong password! try again', k), [], 'an exclamation is not a pipeline');
});
