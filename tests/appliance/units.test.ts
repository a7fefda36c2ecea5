/**
 * The systemd files: `systemd-analyze verify` accepts every unit, with the installed
 * paths and with this checkout's (node + bin/veilport.js); binaries this build host does
 * not have (cage) are stood in for by a stub. sysusers.d and tmpfiles.d apply to an
 * empty root. The sandbox is what the issue asks for, and the exposure score stays low.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseService, readSandbox, accessTo } from '../../src/appliance/sandbox.js';
import { REPO } from './helpers.js';

const UNITS = ['veilport.service', 'veilport-setup.service', 'veilport-kiosk.service'];
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const noAnalyze = !has('systemd-analyze') && 'systemd-analyze is not installed';
const unitText = (u: string) => readFileSync(join(REPO, 'systemd', u), 'utf8');

function tmp(t: { teardown(f: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'vp-units-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Copies the units into `dir`, with executables this host lacks replaced by a stub, and `rewrite` applied. */
function stage(dir: string, rewrite: (text: string) => string = (s) => s): string[] {
  const stub = join(dir, 'stub');
  writeFileSync(stub, '#!/bin/sh\nexit 0\n');
  chmodSync(stub, 0o755);
  return UNITS.map((u) => {
    let text = rewrite(unitText(u));
    // The first word of every Exec*= line must be an executable here.
    text = text.replace(/^(Exec\w+=)([-+!@:]*)(\/\S+)/gm, (line, key: string, prefix: string, exe: string) => (existsSync(exe) ? line : `${key}${prefix}${stub}`));
    const file = join(dir, u);
    writeFileSync(file, text);
    return file;
  });
}

function verify(files: string[]): { status: number | null; out: string } {
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...files], { encoding: 'utf8', env: { ...process.env, SYSTEMD_LOG_LEVEL: 'notice' } });
  return { status: r.status, out: (r.stdout + r.stderr).trim() };
}

t.test('systemd-analyze verify accepts every unit as installed', { skip: noAnalyze }, async (t) => {
  const r = verify(stage(tmp(t)));
  t.equal(r.status, 0, r.out || 'no complaints');
  t.equal(r.out, '', 'not even a warning');
});

t.test('... and pointed at this checkout (node + bin/veilport.js)', { skip: noAnalyze }, async (t) => {
  const files = stage(tmp(t), (s) => s.replaceAll('/usr/bin/node', process.execPath).replaceAll('/opt/veilport/bin/veilport.js', join(REPO, 'bin', 'veilport.js')));
  t.match(readFileSync(files[0]!, 'utf8'), new RegExp(`ExecStart=${process.execPath} ${join(REPO, 'bin', 'veilport.js')} serve`));
  const r = verify(files);
  t.equal(r.status, 0, r.out || 'no complaints');
});

t.test('a broken unit is refused (the check is real)', { skip: noAnalyze }, async (t) => {
  const files = stage(tmp(t), (s) => s.replace('Type=notify', 'Type=notifyy'));
  const r = verify(files);
  t.match(r.out, /Failed to parse service type|notifyy/);
});

t.test('veilport.service: notify + watchdog, restart, least privilege', async (t) => {
  const s = parseService([unitText('veilport.service')]);
  t.equal(s['Type'], 'notify');
  t.equal(s['NotifyAccess'], 'all', 'the helper child sends the datagrams');
  t.match(s['WatchdogSec'], /^\d+s$/);
  t.equal(s['Restart'], 'on-failure');
  t.equal(s['User'], 'veilport');
  t.equal(s['ProtectSystem'], 'strict');
  t.equal(s['PrivateTmp'], 'yes');
  t.equal(s['NoNewPrivileges'], 'yes');
  t.equal(s['CapabilityBoundingSet'], '', 'empty capability set');
  t.match(s['RestrictAddressFamilies'], /^AF_UNIX AF_INET AF_INET6 AF_NETLINK$/);
  t.match(s['MemoryMax'], /^\d+%$/);
  t.match(unitText('veilport.service'), /DeviceAllow=char-drm rw/);
  const jetson = readFileSync(join(REPO, 'systemd', 'veilport-jetson.conf'), 'utf8');
  t.match(jetson, /^DeviceAllow=\/dev\/nvmap rw$/m, 'Jetson drop-in: nvmap');
  t.match(jetson, /^DeviceAllow=\/dev\/nvhost-ctrl rw$/m, 'Jetson drop-in: nvhost');
  t.match(s['SupplementaryGroups'], /video render/);
  const sb = readSandbox('veilport.service', REPO, ['systemd'])!;
  t.equal(accessTo(sb, '/var/lib/veilport/exports'), 'rw');
  t.equal(accessTo(sb, '/srv/recordings/cam7'), 'ro');
  t.equal(accessTo(sb, '/etc/veilport/veilport.json'), 'ro');
  t.equal(accessTo(sb, '/home/admin'), 'none');
  t.equal(accessTo(sb, '/tmp/x'), 'private-tmp');
});

t.test('systemd-analyze security rates the service OK or better', { skip: noAnalyze }, async (t) => {
  const r = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', join(REPO, 'systemd', 'veilport.service')], { encoding: 'utf8' });
  const m = /Overall exposure level for veilport.service: (\d+\.\d+) (\w+)/.exec(r.stdout + r.stderr);
  t.ok(m, 'a score');
  t.ok(Number(m![1]) <= 3.0, `exposure ${m![1]} ${m![2]} (<= 3.0)`);
});

t.test('first boot runs once: condition on the marker, before the daemon', async (t) => {
  const u = unitText('veilport-setup.service');
  t.match(u, /^ConditionPathExists=!\/var\/lib\/veilport\/\.provisioned$/m);
  t.match(u, /^Before=.*veilport\.service/m);
  t.match(u, /^ExecStart=\/usr\/bin\/node \/opt\/veilport\/bin\/veilport\.js setup .*--first-boot$/m);
  t.match(u, /^StandardOutput=journal\+console$/m, 'the token reaches the console');
});

t.test('kiosk: cage + chromium --kiosk on the local UI, off without a display', async (t) => {
  const u = unitText('veilport-kiosk.service');
  t.match(u, /^ExecStart=\/usr\/bin\/cage .*-- \/usr\/bin\/chromium --kiosk .*--app=http:\/\/127\.0\.0\.1:8080\//m);
  t.match(u, /^ExecCondition=.*\/sys\/class\/drm\/card\*-\*\/status/m);
  t.match(u, /^User=veilport-kiosk$/m);
  t.match(u, /^InaccessiblePaths=.*\/var\/lib\/veilport/m);
  // The condition itself: "connected" in a connector's status file.
  const cond = /^ExecCondition=\/bin\/sh -c '(.*)'$/m.exec(u)![1]!;
  // ExecCondition: exit 1-254 skips the unit (255 would fail it).
  const none = spawnSync('sh', ['-c', cond.replaceAll('/sys/class/drm', join(REPO, 'no-such-dir'))]).status!;
  t.ok(none >= 1 && none <= 254, `no display: skipped (exit ${none})`);
  const drm = tmp(t);
  mkdirSync(join(drm, 'card0-HDMI-A-1'));
  writeFileSync(join(drm, 'card0-HDMI-A-1', 'status'), 'disconnected\n');
  t.equal(spawnSync('sh', ['-c', cond.replaceAll('/sys/class/drm', drm)]).status, 1, 'display unplugged: skipped');
  mkdirSync(join(drm, 'card0-DP-1'));
  writeFileSync(join(drm, 'card0-DP-1', 'status'), 'connected\n');
  t.equal(spawnSync('sh', ['-c', cond.replaceAll('/sys/class/drm', drm)]).status, 0, 'a connected display: runs');
});

t.test('sysusers.d and tmpfiles.d apply to an empty root', { skip: !has('systemd-sysusers') && 'systemd-sysusers is not installed' }, async (t) => {
  const root = tmp(t);
  mkdirSync(join(root, 'etc'));
  for (const f of ['passwd', 'shadow', 'gshadow']) writeFileSync(join(root, 'etc', f), '');
  writeFileSync(join(root, 'etc', 'group'), 'video:x:44:\n');
  const su = spawnSync('systemd-sysusers', [`--root=${root}`, join(REPO, 'systemd', 'veilport.sysusers')], { encoding: 'utf8' });
  t.equal(su.status, 0, su.stderr);
  const passwd = readFileSync(join(root, 'etc', 'passwd'), 'utf8');
  t.match(passwd, /^veilport:x:\d+:\d+:Veilport CCTV export daemon:\/var\/lib\/veilport:\/usr\/sbin\/nologin$/m);
  t.match(passwd, /^veilport-kiosk:x:/m);
  const group = readFileSync(join(root, 'etc', 'group'), 'utf8');
  t.match(group, /^video:x:44:veilport,veilport-kiosk$/m);
  t.match(group, /^render:x:\d+:veilport,veilport-kiosk$/m);
  const tf = spawnSync('systemd-tmpfiles', [`--root=${root}`, '--create', join(REPO, 'systemd', 'veilport.tmpfiles')], { encoding: 'utf8' });
  t.equal(tf.status, 0, tf.stderr);
  const uid = Number(/^veilport:x:(\d+):/m.exec(passwd)![1]);
  const st = statSync(join(root, 'var/lib/veilport'));
  t.equal(st.mode & 0o777, 0o700);
  if (process.getuid?.() === 0) t.equal(st.uid, uid, 'owned by veilport');
  t.equal(statSync(join(root, 'var/lib/veilport/exports')).mode & 0o777, 0o700);
  t.equal(statSync(join(root, 'etc/veilport')).mode & 0o777, 0o750);
});
