/**
 * First-boot setup: a provisioning file on the "boot partition" sets storage and
 * export paths, the MQTT endpoint (its password file copied from beside it), the time
 * zone and a NAS mount; keys are created on the box and handed to the service user; a
 * one-time token is printed and stays valid when the daemon starts in the same boot;
 * a second run keeps the identity; a bad provisioning file changes nothing.
 */
import t from 'tap';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSetup, parseProvision } from '../../src/appliance/setup.js';
import { bootId, bootstrapTokenShownThisBoot } from '../../src/appliance/boot.js';
import { lookupUser } from '../../src/appliance/system.js';
import { loadSettings } from '../../src/config/settings.js';
import { startDaemon } from '../../src/daemon/daemon.js';
import { runCli } from '../helpers/cli.js';

const isRoot = process.getuid?.() === 0;
const user = isRoot ? lookupUser('nobody') : null;

function box(t: { teardown(f: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'vp-setup-'));
  chmodSync(dir, 0o755);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const root = join(dir, 'root'); // stands in for "/" (zoneinfo, localtime, fstab)
  mkdirSync(join(root, 'usr/share/zoneinfo/Asia'), { recursive: true });
  writeFileSync(join(root, 'usr/share/zoneinfo/Asia/Seoul'), 'TZif');
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc/fstab'), 'LABEL=veilport-root / ext4 defaults 0 1\n');
  const boot = join(dir, 'boot-efi');
  mkdirSync(boot);
  return { dir, root, boot, config: join(dir, 'etc-veilport', 'veilport.json'), dropIns: join(dir, 'veilport.service.d'), marker: join(dir, 'state', '.provisioned') };
}

t.test('first boot from a provisioning file on the boot partition', async (t) => {
  const b = box(t);
  const data = join(b.dir, 'data');
  writeFileSync(join(b.boot, 'mqtt-password'), 's3cret\n');
  writeFileSync(join(b.boot, 'veilport-provision.json'), JSON.stringify({
    version: 1,
    timeZone: 'Asia/Seoul',
    fstab: [`//10.20.0.5/cctv ${join(b.dir, 'nas')} cifs ro,credentials=/etc/veilport/nas.cred,_netdev 0 0`],
    settings: {
      paths: { data, recordings: join(b.dir, 'nas'), exports: join(b.dir, 'exports') },
      mqtt: { url: 'mqtts://broker.gangnam.example:8883', username: 'vp-gangnam-01', passwordFile: 'mqtt-password' },
      server: { listen: '127.0.0.1:0' },
      auth: { scryptLogN: 12 },
    },
  }));
  const said: string[] = [];
  const r = await runSetup({
    configFile: b.config, search: true, searchDirs: [join(b.dir, 'nothing-here'), b.boot], usb: false,
    serviceUser: user?.name ?? null, dropInDir: b.dropIns, marker: b.marker, systemRoot: b.root, env: {}, say: (s) => said.push(s),
  });
  const out = said.join('\n');
  t.equal(r.provisionedFrom, join(b.boot, 'veilport-provision.json'));
  // Settings: merged, valid, the password file copied next to them and private to the service's group.
  const s = loadSettings({ file: b.config });
  t.equal(s.paths.recordings, join(b.dir, 'nas'));
  t.equal(s.paths.exports, join(b.dir, 'exports'));
  t.equal(s.mqtt.url, 'mqtts://broker.gangnam.example:8883');
  t.equal(s.mqtt.passwordFile, join(b.dir, 'etc-veilport', 'mqtt-password'));
  t.equal(readFileSync(s.mqtt.passwordFile, 'utf8'), 's3cret\n');
  t.equal(statSync(s.mqtt.passwordFile).mode & 0o777, 0o640);
  t.equal(s.site.timeZone, 'Asia/Seoul', 'the time zone also becomes the site zone');
  t.equal(statSync(b.config).mode & 0o777, 0o640);
  // System: zone and mount.
  t.equal(readlinkSync(join(b.root, 'etc/localtime')), '/usr/share/zoneinfo/Asia/Seoul');
  t.equal(readFileSync(join(b.root, 'etc/timezone'), 'utf8'), 'Asia/Seoul\n');
  t.match(readFileSync(join(b.root, 'etc/fstab'), 'utf8'), /^LABEL=veilport-root \/ ext4 defaults 0 1\n# added by veilport setup\n\/\/10\.20\.0\.5\/cctv .*nas cifs ro,/);
  t.ok(existsSync(join(b.root, b.dir, 'nas')), 'mount point made (under the system root)');
  // Keys on the box, private, handed to the service user.
  for (const f of ['appliance-key.json', 'data-key.json']) {
    const st = lstatSync(join(data, 'keys', f));
    t.equal(st.mode & 0o777, 0o600, `${f} 0600`);
    if (user) t.equal(st.uid, user.uid, `${f} belongs to the service user`);
  }
  if (user) t.equal(statSync(join(b.dir, 'exports')).uid, user.uid, 'export area belongs to the service user');
  t.match(r.applianceId, /^vp-[a-z2-7]{16}$/);
  t.match(out, new RegExp(`appliance ${r.applianceId}, signing key fingerprint ([0-9a-f]{4} ){7}[0-9a-f]{4}`));
  // Sandbox paths for the unit.
  const dropIn = readFileSync(join(b.dropIns, '10-paths.conf'), 'utf8');
  t.match(dropIn, new RegExp(`^ReadOnlyPaths=-${join(b.dir, 'nas')}$`, 'm'));
  t.match(dropIn, new RegExp(`^ReadWritePaths=-${data} -${join(b.dir, 'exports')}$`, 'm'));
  // The token: printed once, bilingual banner, no password anywhere.
  t.match(r.token, /^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){3}$/);
  t.match(out, /no administrator account exists yet[\s\S]*최초 관리자 계정 생성용 일회용 토큰/);
  t.ok(out.includes(r.token!));
  t.notMatch(out, /password/i, 'no default password is printed');
  t.ok(existsSync(b.marker), 'first boot marked done');
  if (bootId()) t.ok(bootstrapTokenShownThisBoot(data), 'this boot\'s token recorded');

  // The daemon starting in the same boot keeps that token valid and prints none.
  const lines: string[] = [];
  const d = await startDaemon(s, { say: (l) => lines.push(l) });
  t.teardown(() => d.close());
  if (bootId()) {
    t.notMatch(lines.join('\n'), /bootstrap token/, 'no second token in the same boot');
    const res = await fetch(`${d.url}/api/bootstrap`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: r.token!.toLowerCase(), id: 'admin1', displayName: '관리자', password: 'Harbour-Lamp-73' }) });
    t.equal(res.status, 201, `the console token creates the first admin (${res.status} ${await res.text()})`);
  }
  await d.close();

  // Setup again: same identity; an admin exists now, so no token.
  const again = await runSetup({ configFile: b.config, serviceUser: user?.name ?? null, marker: null, systemRoot: b.root, env: {}, say: () => {} });
  t.equal(again.applianceId, r.applianceId, 'keys are kept');
  if (bootId()) t.equal(again.token, null, 'an administrator exists: no token');
});

t.test('a provisioning file with a mistake changes nothing and names the key', async (t) => {
  const b = box(t);
  mkdirSync(join(b.dir, 'etc-veilport'));
  writeFileSync(b.config, JSON.stringify({ paths: { data: join(b.dir, 'data') } }));
  const before = readFileSync(b.config, 'utf8');
  const prov = join(b.boot, 'veilport-provision.json');
  writeFileSync(prov, JSON.stringify({ version: 1, settings: { mqtt: { url: 'mqtt://broker:1883', keepAlive: 30 } } }));
  await t.rejects(runSetup({ configFile: b.config, provisionFile: prov, serviceUser: null, env: {}, say: () => {} }), { message: /mqtt\.keepAlive: unknown setting \(nothing was changed\)/ });
  t.equal(readFileSync(b.config, 'utf8'), before, 'settings untouched');
  t.notOk(existsSync(join(b.dir, 'data', 'keys')), 'no keys made');
  t.throws(() => parseProvision('p.json', '{"version":1,"timezone":"Asia/Seoul"}'), { message: /p\.json: timezone: unknown key/ });
  t.throws(() => parseProvision('p.json', '{"version":1,"timeZone":"Asia/Seol"}'), { message: /timeZone: "Asia\/Seol" is not an IANA time zone/ });
  t.throws(() => parseProvision('p.json', '{"version":2}'), { message: /version: must be 1/ });
  writeFileSync(prov, JSON.stringify({ version: 1, settings: { mqtt: { url: 'mqtt://b:1883', caFile: 'ca.pem' } } }));
  await t.rejects(runSetup({ configFile: b.config, provisionFile: prov, serviceUser: null, env: {}, say: () => {} }), { message: /settings\.mqtt\.caFile: "ca\.pem" is not beside the provisioning file/ });
});

t.test('veilport setup on the command line', async (t) => {
  const b = box(t);
  const prov = join(b.boot, 'veilport-provision.json');
  writeFileSync(prov, JSON.stringify({ version: 1, settings: { paths: { data: join(b.dir, 'data'), recordings: b.dir }, auth: { scryptLogN: 12 } } }));
  const r = await runCli(['setup', '--config', b.config, '--provision', prov, '--json', ...(user ? ['--user', user.name] : [])]);
  t.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { ok: boolean; applianceId: string; token: string; paths: { data: string } };
  t.equal(j.ok, true);
  t.match(j.applianceId, /^vp-/);
  t.equal(j.paths.data, join(b.dir, 'data'));
  t.match(r.err, new RegExp(j.token), 'the banner with the token, on the console');
  const help = await runCli(['setup', '--help']);
  t.match(help.out, /--first-boot/);
  if (!isRoot) {
    const fb = await runCli(['setup', '--first-boot']);
    t.equal(fb.code, 2);
  }
});
