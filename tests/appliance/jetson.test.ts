/**
 * The Jetson overlay (image-build/jetson/overlay.sh) applied to a stand-in L4T root
 * filesystem from this host: Veilport in /opt/veilport, the units enabled with the
 * Jetson device drop-in, users made, first boot armed, and the result still accepted
 * by systemd-analyze verify. (Real L4T binaries and flashing are not available here.)
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './helpers.js';

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const skip = process.getuid?.() !== 0 ? 'needs root (it writes a root filesystem with its owners)' : !has('systemd-sysusers') ? 'systemd-sysusers is not installed' : false;

t.test('overlay onto an L4T root filesystem', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vp-jetson-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const root = join(dir, 'rootfs');
  for (const d of ['etc', 'usr/bin', 'usr/local/bin', 'usr/lib/systemd/system', 'var/lib']) mkdirSync(join(root, d), { recursive: true });
  for (const f of ['passwd', 'shadow', 'gshadow']) writeFileSync(join(root, 'etc', f), 'root:x:0:0:root:/root:/bin/bash\n'.slice(0, f === 'passwd' ? undefined : 0));
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nvideo:x:44:\n');
  // A stand-in application tree (the real one is built on arm64).
  const app = join(dir, 'app');
  for (const d of ['dist/cli', 'bin', 'pipelines', 'docs', 'build', 'node_modules', 'models/files']) mkdirSync(join(app, d), { recursive: true });
  writeFileSync(join(app, 'dist/cli/main.js'), '');
  writeFileSync(join(app, 'package.json'), '{}');
  writeFileSync(join(app, 'README.md'), '');
  writeFileSync(join(app, 'models/manifest.json'), '{}');
  writeFileSync(join(app, 'node'), '#!/bin/sh\n');
  chmodSync(join(app, 'node'), 0o755);
  const r = spawnSync('sh', [join(REPO, 'image-build/jetson/overlay.sh')], { encoding: 'utf8', env: { ...process.env, ROOTFS: root, APP: app, ALLOW_FOREIGN: '1' } });
  t.equal(r.status, 0, r.stderr + r.stdout);
  t.ok(existsSync(join(root, 'opt/veilport/dist/cli/main.js')), '/opt/veilport installed');
  t.match(readFileSync(join(root, 'etc/systemd/system/veilport.service.d/20-jetson.conf'), 'utf8'), /^DeviceAllow=\/dev\/nvmap rw$/m);
  for (const [unit, target] of [['veilport.service', 'multi-user'], ['veilport-setup.service', 'multi-user'], ['veilport-kiosk.service', 'graphical']]) {
    t.equal(readlinkSync(join(root, `etc/systemd/system/${target}.target.wants/${unit}`)), `/etc/systemd/system/${unit}`, `${unit} enabled`);
  }
  t.match(readFileSync(join(root, 'etc/passwd'), 'utf8'), /^veilport:x:/m);
  t.match(readFileSync(join(root, 'etc/group'), 'utf8'), /^video:x:44:veilport/m);
  t.notOk(existsSync(join(root, 'var/lib/veilport/keys')), 'no keys: first boot makes them');
  // The unit with its Jetson drop-in still verifies (the node stand-in is the executable).
  if (has('systemd-analyze')) {
    const units = join(dir, 'units');
    mkdirSync(join(units, 'veilport.service.d'), { recursive: true });
    writeFileSync(join(units, 'veilport.service'), readFileSync(join(root, 'etc/systemd/system/veilport.service'), 'utf8').replace('/usr/bin/node', join(app, 'node')));
    writeFileSync(join(units, 'veilport.service.d/20-jetson.conf'), readFileSync(join(root, 'etc/systemd/system/veilport.service.d/20-jetson.conf'), 'utf8'));
    const v = spawnSync('systemd-analyze', ['verify', '--man=no', join(units, 'veilport.service')], { encoding: 'utf8' });
    t.equal(v.status, 0, v.stderr);
  }
});
