/**
 * Every pipeline profile, also those this box cannot run: each chain parses with
 * GStreamer's own parser (elements this box lacks stood in for by identity, so syntax,
 * caps and links are still checked), element and property names are spelled as their
 * plugins spell them (a list from the plugins' documentation, checked against
 * gst-inspect where the element exists here), and the best profile whose elements exist
 * is chosen automatically (a fake gst-inspect lists the Jetson elements).
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { elementsOf, loadProfiles, type Profile } from '../../src/media/profiles.js';
import { probeProfiles } from '../../src/media/probe.js';

/** Element -> properties a profile may set. Sources: NVIDIA Jetson Linux "Accelerated GStreamer"; gst-plugins-bad va and qsv (1.22); gstreamer-vaapi; gst-libav, gst-plugins-base/ugly. */
const KNOWN: Record<string, string[]> = {
  nvv4l2decoder: ['enable-max-performance', 'disable-dpb'],
  nvvidconv: ['flip-method', 'interpolation-method'],
  nvv4l2h264enc: ['bitrate', 'iframeinterval', 'num-B-Frames', 'insert-sps-pps', 'control-rate', 'preset-level', 'profile', 'maxperf-enable', 'idrinterval'],
  vah264dec: [],
  vah265dec: [],
  vapostproc: ['scale-method'],
  vah264enc: ['bitrate', 'key-int-max', 'b-frames', 'rate-control', 'target-usage'],
  qsvh264dec: [],
  qsvh265dec: [],
  qsvh264enc: ['bitrate', 'gop-size', 'b-frames', 'rate-control', 'target-usage'],
  vaapih264dec: [],
  vaapih265dec: [],
  vaapipostproc: ['scale-method'],
  vaapih264enc: ['bitrate', 'keyframe-period', 'max-bframes', 'rate-control'],
  avdec_h264: ['max-threads'],
  avdec_h265: ['max-threads'],
  videoconvert: ['n-threads'],
  videoscale: ['method'],
  x264enc: ['speed-preset', 'bitrate', 'key-int-max', 'bframes', 'tune', 'threads'],
};

const profiles = loadProfiles();
const exists = (el: string) => spawnSync('gst-inspect-1.0', ['--exists', el]).status === 0;
const haveGst = spawnSync('gst-inspect-1.0', ['--version']).status === 0;

function chains(p: Profile): [string, string][] {
  const fill = (s: string) => s.replaceAll('{bitrate_kbps}', '4000').replaceAll('{bitrate_bps}', '4000000').replaceAll('{gop_frames}', '30');
  return [
    ...Object.entries(p.decode).map(([codec, c]) => [`decode.${codec}`, fill(c!)] as [string, string]),
    ['toRaw', p.toRaw],
    ['scale', p.scale],
    ['encode', fill(p.encode)],
  ];
}

/** "el a=1 b=2" -> { el, props: [a, b] } for each element part of a chain (caps parts left out). */
function parts(chain: string): { element: string; props: string[]; text: string }[] {
  return chain.split('!').map((s) => s.trim()).filter((s) => elementsOf(s).length > 0).map((text) => {
    const [element, ...rest] = text.split(/\s+/);
    return { element: element!, props: rest.map((kv) => kv.split('=')[0]!), text };
  });
}

t.test('element and property names are spelled as the plugins spell them', async (t) => {
  for (const p of profiles) {
    for (const [where, chain] of chains(p)) {
      for (const { element, props } of parts(chain)) {
        t.ok(element in KNOWN, `${p.name} ${where}: element "${element}" is a known element`);
        for (const prop of props) t.ok(KNOWN[element]?.includes(prop), `${p.name} ${where}: ${element} has a property "${prop}"`);
      }
    }
  }
});

t.test('the list agrees with gst-inspect for the elements this box has', { skip: !haveGst && 'GStreamer is not installed' }, async (t) => {
  let checked = 0;
  for (const [element, props] of Object.entries(KNOWN)) {
    if (!exists(element)) continue;
    const out = spawnSync('gst-inspect-1.0', [element], { encoding: 'utf8' }).stdout;
    for (const prop of props) t.match(out, new RegExp(`^\\s+${prop}\\s+:`, 'm'), `${element}.${prop} exists`);
    checked++;
  }
  t.ok(checked >= 5, `${checked} elements checked here`);
});

function launch(desc: string): string {
  const args = desc.match(/(?:[^\s"]+|"(?:\\.|[^"\\])*")+/g)!;
  const r = spawnSync('gst-launch-1.0', ['-q', ...args], { encoding: 'utf8', timeout: 20_000 });
  return (r.stdout + r.stderr).trim();
}

t.test('every chain parses with GStreamer\'s parser', { skip: !haveGst && 'GStreamer is not installed' }, async (t) => {
  // fakesrc sends no buffer: parsing, element creation, properties and links are checked, nothing runs.
  for (const p of profiles) {
    for (const [where, chain] of chains(p)) {
      const pieces = chain.split('!').map((s) => s.trim());
      const missing = pieces.flatMap((s) => elementsOf(s)).filter((e) => !exists(e));
      if (!missing.length) {
        const out = launch(`fakesrc num-buffers=0 ! ${chain} ! fakesink`);
        t.notMatch(out, /erroneous pipeline/, `${p.name} ${where}: the whole chain parses and links here${out ? ': ' + out : ''}`);
        continue;
      }
      // Elements this box lacks: each piece on its own (caps parse; present elements and their
      // properties are created), the absent ones are checked against the list above.
      for (const piece of pieces) {
        const [element] = elementsOf(piece);
        if (element && !exists(element)) continue;
        const out = launch(`fakesrc num-buffers=0 ! ${piece} ! fakesink`);
        t.notMatch(out, /erroneous pipeline/, `${p.name} ${where}: "${piece}" parses${out ? ': ' + out : ''}`);
      }
      t.comment(`${p.name} ${where}: ${missing.join(', ')} not on this box; names checked against the list`);
    }
  }
});

t.test('the best profile whose elements exist is chosen automatically', { skip: !haveGst && 'GStreamer is not installed' }, async (t) => {
  // A box that has the Jetson elements (and the software ones): a fake gst-inspect lists them,
  // a fake runner passes every test run.
  const dir = mkdtempSync(join(tmpdir(), 'vp-fake-gst-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const jetson = profiles.find((p) => p.name === 'jetson')!;
  const names = [...new Set([...['nvv4l2decoder', 'nvvidconv', 'nvv4l2h264enc'], ...chains(profiles.find((p) => p.name === 'software')!).flatMap(([, c]) => elementsOf(c)), 'h264parse', 'h265parse'])];
  writeFileSync(join(dir, 'gst-inspect-1.0'), `#!/bin/sh\ncat <<'EOF'\n${names.map((n) => `fake:  ${n}: ${n}`).join('\n')}\nEOF\n`);
  writeFileSync(join(dir, 'gst-run'), '#!/bin/sh\nexit 0\n');
  chmodSync(join(dir, 'gst-inspect-1.0'), 0o755);
  chmodSync(join(dir, 'gst-run'), 0o755);
  const saved = { PATH: process.env['PATH'], RUN: process.env['VEILPORT_GST_RUN'] };
  process.env['PATH'] = `${dir}:${saved.PATH}`;
  process.env['VEILPORT_GST_RUN'] = join(dir, 'gst-run');
  try {
    const report = await probeProfiles();
    t.equal(report.best, 'jetson', 'jetson outranks software');
    t.same(report.profiles.find((p) => p.name === 'intel-va')!.missing.sort(), ['vah264dec', 'vah264enc', 'vapostproc']);
    t.ok(jetson.rank > profiles.find((p) => p.name === 'intel-va')!.rank && profiles.find((p) => p.name === 'intel-va')!.rank > profiles.find((p) => p.name === 'software')!.rank, 'jetson > intel-va > software');
  } finally {
    process.env['PATH'] = saved.PATH;
    if (saved.RUN === undefined) delete process.env['VEILPORT_GST_RUN'];
    else process.env['VEILPORT_GST_RUN'] = saved.RUN;
  }
});
