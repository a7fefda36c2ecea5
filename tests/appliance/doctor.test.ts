/**
 * `veilport doctor` on a healthy box and on broken ones: recordings missing, a model
 * missing and another altered, the export area not writable for the service user, a
 * key file others can read, the broker down, the sandbox hiding the export area. Each
 * problem is named with its fix; exit code 1 exactly when exports are blocked.
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatReport, judgeClock, runDoctor, type CheckResult, type DoctorReport } from '../../src/appliance/doctor.js';
import { pathsDropIn } from '../../src/appliance/sandbox.js';
import { lookupUser } from '../../src/appliance/system.js';
import { loadOrCreateSigningKey } from '../../src/seal/signing-key.js';
import { readManifest } from '../../src/masking/models.js';
import { loadOrCreateDataKey } from '../../src/store/data-key.js';
import { runCli } from '../helpers/cli.js';
import { REPO } from './helpers.js';

const isRoot = process.getuid?.() === 0;
/** As root the probes run as "nobody", as the daemon runs as "veilport"; otherwise as ourselves. */
const user = isRoot ? lookupUser('nobody') : null;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface Box {
  dir: string;
  config: string;
  models: string;
  settings: Record<string, Record<string, unknown>>;
  write(): void;
}

/** A box where everything an export needs is in place. */
async function healthyBox(t: { teardown(f: () => void): void }): Promise<Box> {
  const dir = mkdtempSync(join(tmpdir(), 'vp-doctor-'));
  chmodSync(dir, 0o755);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const data = join(dir, 'data');
  const rec = join(dir, 'recordings');
  mkdirSync(join(rec, 'cam7', '2026-03-01'), { recursive: true });
  mkdirSync(join(rec, 'lobby'), { recursive: true });
  await loadOrCreateSigningKey(join(data, 'keys'));
  await loadOrCreateDataKey(join(data, 'keys'));
  mkdirSync(join(data, 'exports'), { recursive: true, mode: 0o700 });
  if (user) {
    for (const p of [data, join(data, 'keys'), join(data, 'keys', 'appliance-key.json'), join(data, 'keys', 'data-key.json'), join(data, 'exports')]) chownSync(p, user.uid, user.gid);
  }
  const models = join(dir, 'models');
  mkdirSync(join(models, 'files'), { recursive: true });
  copyFileSync(join(REPO, 'models', 'manifest.json'), join(models, 'manifest.json'));
  cpSync(join(REPO, 'models', 'files'), join(models, 'files'), { recursive: true });
  const box: Box = {
    dir,
    config: join(dir, 'veilport.json'),
    models,
    settings: { paths: { data, recordings: rec }, jobs: {}, mqtt: {} },
    write() {
      writeFileSync(box.config, JSON.stringify(box.settings));
    },
  };
  box.write();
  return box;
}

const check = (r: DoctorReport, id: string): CheckResult => r.checks.find((c) => c.id === id)!;
const FAST = ['settings', 'models', 'storage', 'exports', 'data', 'keys', 'broker', 'sandbox'];

function doctor(box: Box, extra: Partial<Parameters<typeof runDoctor>[0]> = {}) {
  return runDoctor({ configFile: box.config, env: {}, modelsDir: box.models, ...(user ? { serviceUser: user.name } : {}), only: FAST, unitRoot: join(box.dir, 'no-units'), ...extra });
}

t.test('a healthy box: every check ok, exports can run', async (t) => {
  const box = await healthyBox(t);
  const r = await doctor(box);
  for (const c of r.checks) t.ok(c.status === 'ok' || c.status === 'skip', `${c.id}: ${c.status} ${c.summary}`);
  t.same(r.blockedBy, []);
  t.match(check(r, 'storage').summary, /recordings readable as .*: 2 camera folder\(s\)/);
  t.match(check(r, 'keys').details.join('\n'), /appliance vp-[a-z2-7]+, signing key fingerprint [0-9a-f]{32}/);
  t.equal(check(r, 'broker').status, 'skip', 'no broker configured: telemetry off');
  t.match(formatReport(r), /Exports can run\./);
});

t.test('a broken box: each problem named with its fix, exit code 1', async (t) => {
  const box = await healthyBox(t);
  // A model missing, another altered.
  rmSync(join(box.models, 'files', 'face_detection_back_256x256_barracuda.onnx'));
  writeFileSync(join(box.models, 'files', 'ch_PP-OCRv4_det_infer.onnx'), 'not the model');
  // An export area the service user cannot write.
  const exportsDir = join(box.dir, 'exports');
  mkdirSync(exportsDir, { mode: 0o555 });
  chmodSync(exportsDir, 0o555);
  // A key others can read; the broker down.
  chmodSync(join(box.settings.paths!['data'] as string, 'keys', 'data-key.json'), 0o644);
  const port = await freePort();
  box.settings.paths!['exports'] = exportsDir;
  box.settings.mqtt = { url: `mqtt://127.0.0.1:${port}` };
  box.write();

  const r = await doctor(box);
  const models = check(r, 'models');
  t.equal(models.status, 'fail');
  // Two of the manifest's models broken above; the others still load.
  const modelCount = readManifest().length;
  t.match(models.summary, new RegExp(`2 of ${modelCount} models cannot be used .*fail closed`));
  t.match(models.details.join('\n'), /blazeface-back-256 \(face\): MISSING .*face_detection_back_256x256_barracuda\.onnx/);
  t.match(models.details.join('\n'), /ppocr-v4-det \(plate\): WRONG HASH .* the manifest expects 30a86f5731181461/);
  t.match(models.fix!, /put face_detection_back_256x256_barracuda\.onnx \(sha256 427cbbe0[0-9a-f]+\) into/);

  const exp = check(r, 'exports');
  t.equal(exp.status, 'fail');
  t.match(exp.summary, new RegExp(`the export area ${exportsDir} is not writable as ${user?.name ?? '\\S+'}: permission denied \\(EACCES\\)`));
  t.match(exp.fix!, /chown .*chmod 700/);

  const keys = check(r, 'keys');
  t.equal(keys.status, 'fail');
  t.match(keys.summary, /data-key\.json is readable or writable by others \(mode 0644\)/);
  t.match(keys.fix!, /chmod 600 .*data-key\.json.*rotate it/);

  const broker = check(r, 'broker');
  t.equal(broker.status, 'warn', 'a broker away does not block exports');
  t.match(broker.summary, new RegExp(`broker mqtt://127.0.0.1:${port} is not reachable \\(ECONNREFUSED\\): telemetry queues on the box`));
  t.match(broker.fix!, /nothing listens .* is the broker running/);

  t.same(r.blockedBy.sort(), ['export area', 'keys', 'models'].sort());

  // The same through the command line: text for a person, exit code 1.
  const cli = await runCli(['doctor', '--config', box.config, '--models', box.models, '--only', FAST.join(','), ...(user ? ['--user', user.name] : [])]);
  t.equal(cli.code, 1, 'exit 1: exports are blocked');
  t.match(cli.out, new RegExp(`\\[FAIL\\] models {7}2 of ${modelCount} models cannot be used`));
  t.match(cli.out, /\[FAIL\] export area .*\n(.*\n)*? +fix: /);
  t.match(cli.out, /\[WARN\] broker/);
  t.match(cli.out, /Exports are BLOCKED by: models, export area, keys\./);
  const json = await runCli(['doctor', '--json', '--config', box.config, '--models', box.models, '--only', 'models']);
  t.equal(json.code, 1);
  t.equal((JSON.parse(json.out) as DoctorReport).checks[0]!.id, 'models');
});

t.test('recordings missing, or promised by fstab and not mounted', async (t) => {
  const box = await healthyBox(t);
  box.settings.paths!['recordings'] = join(box.dir, 'nas', 'cctv');
  box.write();
  const r = await doctor(box, { only: ['storage'] });
  t.equal(check(r, 'storage').status, 'fail');
  t.match(check(r, 'storage').summary, /the recordings folder .*nas\/cctv does not exist/);
  t.match(check(r, 'storage').fix!, /mount the recorder's storage at .* or set paths.recordings/);
  t.same(r.blockedBy, ['recordings']);

  // The NAS is in fstab but not mounted: the folder exists (the mount point), empty.
  const nas = join(box.dir, 'nas');
  mkdirSync(join(nas, 'cctv'), { recursive: true });
  const fstab = join(box.dir, 'fstab');
  writeFileSync(fstab, `# test\n//10.20.0.5/cctv ${nas} cifs ro,credentials=/etc/veilport/nas.cred,_netdev 0 0\n`);
  const r2 = await doctor(box, { only: ['storage'], fstabFile: fstab });
  t.equal(check(r2, 'storage').status, 'fail');
  t.match(check(r2, 'storage').summary, /the recordings storage is not mounted: .*nas \(\/\/10\.20\.0\.5\/cctv, cifs\) is in \/etc\/fstab but not mounted/);
  t.match(check(r2, 'storage').fix!, /mount .*nas; if that fails check the NAS address, network and credentials/);
});

t.test('an export area on a read-only file system', async (t) => {
  const box = await healthyBox(t);
  const ro = join(box.dir, 'ro-volume');
  mkdirSync(ro);
  const mounted = isRoot && spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro]).status === 0;
  if (!mounted) return t.skip('needs root and mount to make a read-only file system');
  t.teardown(() => void spawnSync('umount', [ro]));
  box.settings.paths!['exports'] = ro;
  box.write();
  const r = await doctor(box, { only: ['exports'] });
  const exp = check(r, 'exports');
  t.equal(exp.status, 'fail');
  t.match(exp.summary, /not writable as .*: the file system is read-only \(EROFS\)/);
  t.match(exp.fix!, /remount it read-write .*fsck/);
  t.match(exp.details.join('\n'), /on tmpfs \(tmpfs\) mounted at .*ro-volume, read-only/);
});

t.test('broker up: MQTT CONNECT accepted', { skip: !(process.env['PATH'] ?? '').split(':').some((d) => existsSync(join(d, 'mosquitto'))) && 'mosquitto is not installed' }, async (t) => {
  const box = await healthyBox(t);
  const port = await freePort();
  const conf = join(box.dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\n`);
  const broker = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  t.teardown(() => broker.kill());
  box.settings.mqtt = { url: `mqtt://127.0.0.1:${port}` };
  box.write();
  let r: DoctorReport | undefined;
  for (let i = 0; i < 50; i++) {
    r = await doctor(box, { only: ['broker'] });
    if (check(r, 'broker').status === 'ok') break;
    await new Promise((res) => setTimeout(res, 100));
  }
  t.equal(check(r!, 'broker').status, 'ok', check(r!, 'broker').summary);
  t.match(check(r!, 'broker').summary, new RegExp(`broker mqtt://127.0.0.1:${port} accepts the appliance`));
});

t.test('the sandbox of the installed unit against the settings', async (t) => {
  const box = await healthyBox(t);
  const units = join(box.dir, 'root');
  mkdirSync(join(units, 'usr/lib/systemd/system'), { recursive: true });
  copyFileSync(join(REPO, 'systemd', 'veilport.service'), join(units, 'usr/lib/systemd/system/veilport.service'));
  // The settings put data and exports outside /var/lib/veilport: the unit alone makes them read-only.
  // (Paths the sandbox check only compares: they need not exist.)
  box.settings.paths = { data: '/srv/site-a/data', recordings: '/mnt/nas/cctv' };
  box.write();
  const r1 = await doctor(box, { only: ['sandbox'], unitRoot: units });
  const sb = check(r1, 'sandbox');
  t.equal(sb.status, 'fail');
  t.match(sb.summary, /paths.data .* is read-only in the service's sandbox/);
  t.match(sb.fix!, /ReadWritePaths=-.*data -.*data\/exports/);
  t.match(sb.details.join('\n'), /ProtectSystem=strict, ProtectHome=yes, PrivateTmp=yes, User=veilport/);
  // The drop-in setup writes opens them.
  const p = box.settings.paths as { data: string; recordings: string };
  mkdirSync(join(units, 'etc/systemd/system/veilport.service.d'), { recursive: true });
  writeFileSync(join(units, 'etc/systemd/system/veilport.service.d/10-paths.conf'), pathsDropIn({ data: p.data, recordings: p.recordings, exports: join(p.data, 'exports') }, box.config));
  const r2 = await doctor(box, { only: ['sandbox'], unitRoot: units });
  t.equal(check(r2, 'sandbox').status, 'ok', check(r2, 'sandbox').summary);
  // Recordings in /tmp are invisible to a PrivateTmp service.
  box.settings.paths!['recordings'] = '/tmp/recordings';
  box.write();
  const r3 = await doctor(box, { only: ['sandbox'], unitRoot: units });
  t.match(check(r3, 'sandbox').summary, /paths.recordings \/tmp\/recordings is in the private \/tmp/);
});

t.test('the clock: synchronised, drifting, or plainly wrong', async (t) => {
  const now = new Date('2026-11-25T09:00:00Z');
  t.equal(judgeClock({ kernel: { unsynchronised: false, maxErrorUs: 40_000 }, clients: ['systemd-timesyncd'], timedated: null }, now).status, 'ok');
  const drift = judgeClock({ kernel: { unsynchronised: true, maxErrorUs: 16_000_000 }, clients: [], timedated: null }, now);
  t.equal(drift.status, 'warn');
  t.match(drift.fix!, /timedatectl set-ntp true/);
  t.equal(judgeClock({ kernel: null, clients: [], timedated: { ntp: true, synchronised: true } }, now).status, 'ok', 'timedated wins when systemd runs');
  const wrong = judgeClock({ kernel: { unsynchronised: true, maxErrorUs: 16_000_000 }, clients: [], timedated: null }, new Date('2001-01-01T00:00:00Z'));
  t.equal(wrong.status, 'fail');
  t.equal(wrong.blocksExports, true);
  t.match(wrong.summary, /the clock is wrong: 2001-01-01/);
});

t.test('pipelines: which profile runs here and why not the others', async (t) => {
  const box = await healthyBox(t);
  const r = await doctor(box, { only: ['pipelines'] });
  const p = check(r, 'pipelines');
  t.equal(p.status, 'ok');
  t.match(p.summary, /profile software will be used/);
  t.match(p.details.join('\n'), /jetson: no — missing elements .*nvv4l2decoder/);
  t.match(p.details.join('\n'), /to enable jetson: only on an NVIDIA Jetson/);
  box.settings.jobs = { profile: 'jetson' };
  box.write();
  const forced = check(await doctor(box, { only: ['pipelines'] }), 'pipelines');
  t.equal(forced.status, 'fail');
  t.match(forced.summary, /jobs.profile forces "jetson", which cannot run here/);
});
