/**
 * The appliance root filesystem, when one has been built (image-build/build-rootfs.sh,
 * CI-optional: `npm run image:rootfs`, or VEILPORT_IMAGE_BUILD=1 to build it here):
 * inside it (chroot) the units are enabled, first boot is armed (no keys, no machine
 * id, no marker), and on a copy-on-write overlay of it `veilport setup --first-boot`
 * provisions the box and `veilport doctor` then finds nothing that blocks exports.
 * Skipped when no root filesystem exists or when not root (chroot and mounts need it).
 */
import t from 'tap';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DoctorReport } from '../../src/appliance/doctor.js';
import { REPO } from './helpers.js';

const ROOTFS = process.env['VEILPORT_IMAGE_ROOTFS'] ?? join(REPO, 'image-build', 'out', 'rootfs');
const isRoot = process.getuid?.() === 0;

if (process.env['VEILPORT_IMAGE_BUILD'] === '1' && isRoot) {
  const t0 = Date.now();
  const r = spawnSync('sh', [join(REPO, 'image-build', 'build-rootfs.sh')], { stdio: 'inherit', env: { ...process.env, OUT: join(ROOTFS, '..') } });
  if (r.status !== 0) throw new Error(`image-build/build-rootfs.sh failed (${r.status})`);
  t.comment(`root filesystem built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
const built = existsSync(join(ROOTFS, '.veilport-base')) && existsSync(join(ROOTFS, 'opt/veilport/bin/veilport.js'));
const skip = !built ? `no appliance root filesystem at ${ROOTFS} (npm run image:rootfs builds one)` : !isRoot ? 'chroot needs root' : false;

// A clean environment (env -i): nothing of the test runner (its NODE_OPTIONS, which it adds to
// every child) leaks into the image's processes.
const ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LANG=C.UTF-8'];
const sh = (cmd: string, args: string[]): SpawnSyncReturns<string> => spawnSync('env', ['-i', ...ENV, cmd, ...args], { encoding: 'utf8', timeout: 120_000 });

t.test('the built root filesystem', { skip }, async (t) => {
  t.test('units enabled, first boot armed', async (t) => {
    for (const unit of ['veilport.service', 'veilport-setup.service', 'veilport-kiosk.service', 'systemd-timesyncd.service', 'systemd-networkd.service']) {
      const r = sh('chroot', [ROOTFS, 'systemctl', 'is-enabled', unit]);
      t.equal(r.stdout.trim(), 'enabled', `${unit} enabled`);
    }
    t.equal(readFileSync(join(ROOTFS, 'etc/machine-id'), 'utf8'), '', 'no machine id: each box makes its own');
    t.notOk(existsSync(join(ROOTFS, 'var/lib/veilport/.provisioned')), 'first-boot marker absent: setup will run');
    t.notOk(existsSync(join(ROOTFS, 'var/lib/veilport/keys')), 'no keys baked into the image');
    t.match(readFileSync(join(ROOTFS, 'etc/passwd'), 'utf8'), /^veilport:x:\d+:\d+:.*:\/usr\/sbin\/nologin$/m);
    t.match(readFileSync(join(ROOTFS, 'etc/shadow'), 'utf8'), /^root:[!*]/m, 'root has no password');
    const node = sh('chroot', [ROOTFS, 'node', '--version']);
    t.match(node.stdout, /^v20\./, 'Node 20');
    const gst = sh('chroot', [ROOTFS, 'gst-inspect-1.0', '--exists', 'vah264dec']);
    t.ok(existsSync(join(ROOTFS, 'usr/lib/x86_64-linux-gnu/gstreamer-1.0/libgstva.so')), 'the Intel VA plugin is installed');
    t.comment(`vah264dec registered here: ${gst.status === 0 ? 'yes' : 'no (no VA device on the build host)'}`);
    t.ok(existsSync(join(ROOTFS, 'usr/bin/mosquitto_pub')), 'mosquitto clients');
    t.ok(existsSync(join(ROOTFS, 'usr/bin/cage')) && existsSync(join(ROOTFS, 'usr/bin/chromium')), 'cage and chromium for the kiosk');
  });

  t.test('first boot in an overlay, then the doctor', async (t) => {
    const work = mkdtempSync(join(tmpdir(), 'vp-image-'));
    const [upper, wdir, merged] = ['upper', 'work', 'merged'].map((d) => join(work, d));
    for (const d of [upper!, wdir!, merged!]) mkdirSync(d);
    const mounted: string[] = [];
    t.teardown(() => {
      for (const m of mounted.reverse()) sh('umount', [m]);
      rmSync(work, { recursive: true, force: true });
    });
    const ov = sh('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${ROOTFS},upperdir=${upper},workdir=${wdir}`, merged!]);
    if (ov.status !== 0) return t.skip(`overlayfs not available here: ${ov.stderr.trim()}`);
    mounted.push(merged!);
    t.equal(sh('mount', ['-t', 'proc', 'proc', join(merged!, 'proc')]).status, 0, 'proc mounted');
    mounted.push(join(merged!, 'proc'));

    const setup = sh('chroot', [merged!, '/usr/local/bin/veilport', 'setup', '--first-boot']);
    t.equal(setup.status, 0, setup.stderr);
    t.match(setup.stdout, /veilport setup: appliance vp-[a-z2-7]{16}, signing key fingerprint/);
    t.match(setup.stdout, /one-time setup token[\s\S]*[0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{5}/);
    t.ok(existsSync(join(merged!, 'var/lib/veilport/.provisioned')), 'first boot marked done');
    t.ok(existsSync(join(merged!, 'etc/systemd/system/veilport.service.d/10-paths.conf')), 'sandbox drop-in written');
    t.notOk(existsSync(join(ROOTFS, 'var/lib/veilport/.provisioned')), 'the image itself stays armed');

    const t0 = Date.now();
    const doc = sh('chroot', [merged!, '/usr/local/bin/veilport', 'doctor', '--json']);
    const ms = Date.now() - t0;
    const report = JSON.parse(doc.stdout) as DoctorReport;
    const status = Object.fromEntries(report.checks.map((c) => [c.id, c.status]));
    t.comment(`doctor in the chroot: ${ms} ms; ${report.checks.map((c) => `${c.id} ${c.status}`).join(', ')}`);
    t.equal(report.serviceUser, 'veilport', 'access checked as the service user');
    t.same(report.blockedBy, [], 'nothing blocks exports');
    t.equal(doc.status, 0);
    for (const id of ['settings', 'pipelines', 'models', 'exports', 'data', 'keys', 'sandbox']) t.equal(status[id], 'ok', `${id} ok`);
    t.match(report.applianceId, /^vp-/);
    // The recordings folder is an empty mount point until the NAS is provisioned: a warning, with the fix.
    t.equal(status['storage'], 'warn');
  });
});
