/**
 * `veilport doctor`: checks what an export needs on this box and says, for each
 * problem, what to do about it. Every check is one of ok / warn / fail / skip with a
 * summary, detail lines and a fix; a failed check that stops exports (no pipeline
 * profile, a model missing or altered, recordings unreadable, export area not writable,
 * keys the daemon would refuse, a sandbox that hides a path) makes the verdict
 * "blocked" and the exit code non-zero. Warnings (clock not synchronised, broker away,
 * little free space) do not.
 *
 * File access is probed as the service user (a child process with its uid), because
 * root passes every mode check and the daemon does not run as root.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_SETTINGS, loadSettings, type Settings } from '../config/settings.js';
import { applianceIdFor, publicKeyFingerprint, SIGNING_KEY_FILE } from '../seal/signing-key.js';
import { DATA_KEY_FILE } from '../store/data-key.js';
import { loadProfiles, PIPELINES_DIR } from '../media/profiles.js';
import { helperPath } from './notify.js';
import { accessTo, readSandbox, UNIT_DIRS, type Sandbox } from './sandbox.js';
import { currentMounts, formatBytes, freeSpace, fstabEntries, groupName, isWithin, lookupUser, lookupUserById, mountOf, probePath, systemdRunning, type Mount, type UserInfo } from './system.js';

const run = promisify(execFile);

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  id: string;
  title: string;
  status: CheckStatus;
  summary: string;
  details: string[];
  /** What to do; present for warn and fail. */
  fix?: string;
  /** A fail here stops exports. */
  blocksExports: boolean;
  ms: number;
}

export interface DoctorReport {
  host: string;
  settingsFile: string | null;
  serviceUser: string | null;
  applianceId: string | null;
  checks: CheckResult[];
  /** Checks whose failure stops exports. */
  blockedBy: string[];
  ms: number;
}

export interface DoctorOptions {
  /** Settings file; null: embedded defaults (and the environment). */
  configFile: string | null;
  env?: NodeJS.ProcessEnv;
  /** The daemon's user for access probes; default: the unit's User=, else "veilport" if it exists, else this process. */
  serviceUser?: string;
  modelsDir?: string;
  pipelinesDir?: string;
  /** Root under which unit files are looked for (default "/"). */
  unitRoot?: string;
  unitDirs?: string[];
  /** Only these checks (ids). */
  only?: string[];
  brokerTimeoutMs?: number;
  /** Minimum free space in the export area: below `failBytes` exports are blocked, below `warnBytes` warned. */
  failBytes?: number;
  warnBytes?: number;
  now?: () => Date;
  /** fstab to compare the mounts with (default /etc/fstab). */
  fstabFile?: string;
}

export const CHECK_IDS = ['settings', 'pipelines', 'models', 'storage', 'exports', 'data', 'keys', 'clock', 'broker', 'sandbox', 'service'] as const;

/** A clock before this is wrong whatever NTP says: package expiry and legal records would be misdated. */
const CLOCK_FLOOR = new Date('2026-01-01T00:00:00Z');

interface Ctx {
  opts: DoctorOptions;
  settings: Settings;
  settingsOk: boolean;
  user: UserInfo | null;
  sandbox: Sandbox | null;
  mounts: Mount[];
  expectedMounts: Mount[];
}

type Outcome = Omit<CheckResult, 'id' | 'title' | 'ms' | 'blocksExports'> & { blocksExports?: boolean };

const ok = (summary: string, details: string[] = []): Outcome => ({ status: 'ok', summary, details });
const warn = (summary: string, fix: string, details: string[] = []): Outcome => ({ status: 'warn', summary, details, fix });
const fail = (summary: string, fix: string, details: string[] = []): Outcome => ({ status: 'fail', summary, details, fix, blocksExports: true });
const skip = (summary: string, details: string[] = []): Outcome => ({ status: 'skip', summary, details });

const asWho = (c: Ctx) => (c.user ? `as ${c.user.name}` : `as ${lookupUserById(process.getuid?.() ?? -1) ?? 'this user'}`);

// ---- settings ------------------------------------------------------------------

function checkSettings(c: Ctx, error: string | null): Outcome {
  const file = c.opts.configFile;
  if (error) return fail(`the settings do not load: ${error}`, `correct the named key in ${file ?? 'the environment'} (the daemon refuses to start with it); "veilport serve --help" lists the variables`);
  return ok(file ? `${file} loads` : 'no settings file: embedded defaults and the environment', [
    `recordings ${c.settings.paths.recordings}, data ${c.settings.paths.data}, exports ${c.settings.paths.exports || join(c.settings.paths.data, 'exports')}`,
    `listen ${c.settings.server.listen}${c.settings.server.tlsCert ? ' (TLS)' : ''}, site time zone ${c.settings.site.timeZone}`,
  ]);
}

// ---- pipelines -----------------------------------------------------------------

/** What to install or check, per profile, when its elements are missing. */
const PROFILE_HINTS: Record<string, string> = {
  jetson: 'only on an NVIDIA Jetson: L4T\'s GStreamer plugins (nvidia-l4t-gstreamer) provide nvv4l2decoder, nvvidconv and nvv4l2h264enc',
  'intel-va': 'Intel iGPU: apt install gstreamer1.0-plugins-bad intel-media-va-driver (i965-va-driver for older chips); the service user needs /dev/dri/renderD* (group render)',
  'intel-qsv': 'Intel iGPU with Quick Sync: the qsv plugin (gstreamer1.0-plugins-bad) with the oneVPL GPU runtime (libmfx-gen1.2) and intel-media-va-driver; intel-va covers the same hardware',
  'intel-vaapi': 'Intel iGPU: apt install gstreamer1.0-vaapi intel-media-va-driver',
  software: 'apt install gstreamer1.0-libav gstreamer1.0-plugins-ugly gstreamer1.0-plugins-base',
};

async function checkPipelines(c: Ctx): Promise<Outcome> {
  const details: string[] = [];
  let profiles;
  try {
    profiles = loadProfiles(c.opts.pipelinesDir ?? PIPELINES_DIR);
  } catch (e) {
    return fail(`pipeline profiles cannot be read: ${(e as Error).message}`, 'reinstall /opt/veilport/pipelines (the image build copies them)');
  }
  const { probeProfiles, whyNot } = await import('../media/probe.js');
  let report;
  try {
    report = await probeProfiles(profiles);
  } catch (e) {
    const msg = (e as Error).message;
    if (/gst-inspect-1.0/.test(msg) && /ENOENT/.test(msg)) return fail('GStreamer is not installed (gst-inspect-1.0 not found)', 'apt install gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-libav');
    return fail(`probing GStreamer failed: ${msg}`, 'run "veilport probe" for details; "npm run build:native" if the runner build/gst-run is missing');
  }
  const hints: string[] = [];
  // A hardware plugin that is installed but registered none of its elements found no device or driver.
  const pluginOf: Record<string, string> = { 'intel-va': 'va', 'intel-vaapi': 'vaapi', 'intel-qsv': 'qsv', jetson: 'nvvideo4linux2' };
  const pluginPresent = async (name: string) => run('gst-inspect-1.0', [name], { timeout: 20_000 }).then(() => true, () => false);
  for (const s of report.profiles) {
    const mark = s.name === report.best ? 'selected' : s.usable ? 'usable' : 'no';
    details.push(`${s.name}: ${mark}${s.usable ? (s.h265 ? ' (H.264 and H.265)' : ' (H.264 only)') : ` — ${whyNot(s)}`}`);
    const plugin = pluginOf[s.name];
    if (!s.usable && s.missing.length && plugin && (await pluginPresent(plugin))) {
      hints.push(`${s.name}: the ${plugin} plugin is installed but found no device for ${s.missing.join(', ')}: no ${s.name === 'jetson' ? 'Jetson GPU' : `Intel GPU render node (/dev/dri/renderD*), or no driver for it (intel-media-va-driver from Broadwell on, i965-va-driver before${s.name === 'intel-qsv' ? '; qsv also needs the oneVPL runtime libmfx-gen1.2' : ''}; "vainfo" tells)`}`);
    } else if (!s.usable && s.missing.length && PROFILE_HINTS[s.name]) hints.push(`${s.name}: ${PROFILE_HINTS[s.name]}`);
    if (!s.usable && !s.missing.length) hints.push(`${s.name}: its elements exist but its test run failed (driver, device permissions: is the service user in groups video and render?)`);
  }
  // GPU device nodes the service user cannot open make the hardware profiles fail in the service only.
  // Nodes a video engine is driven through: render nodes (a display-only card has none), Jetson's nvmap.
  const devs = ['/dev/dri', '/dev/nvmap', '/dev/nvhost-ctrl'].filter((d) => existsSync(d))
    .flatMap((d) => (d === '/dev/dri' ? readdirSync(d).filter((n) => n.startsWith('renderD')).map((n) => join(d, n)) : [d]));
  if (c.user) {
    for (const d of devs) {
      const st = statSync(d);
      const can = st.uid === c.user.uid || (c.user.groups.includes(st.gid) && (st.mode & 0o060) === 0o060) || (st.mode & 0o006) === 0o006;
      details.push(`${d}: ${can ? 'usable' : 'NOT usable'} by ${c.user.name} (group ${groupName(st.gid) ?? st.gid})`);
      if (!can) hints.push(`add ${c.user.name} to group ${groupName(st.gid) ?? st.gid} (sysusers.d/veilport.conf does: m ${c.user.name} ${groupName(st.gid) ?? 'render'})`);
    }
  }
  const forced = c.settings.jobs.profile;
  if (forced) {
    const s = report.profiles.find((p) => p.name === forced);
    if (!s) return fail(`jobs.profile forces "${forced}", which is not a profile`, `set jobs.profile to one of ${profiles.map((p) => p.name).join(', ')}, or empty to choose automatically`, details);
    if (!s.usable) return fail(`jobs.profile forces "${forced}", which cannot run here (${whyNot(s)})`, `set jobs.profile to "" (automatic: ${report.best ?? 'none usable'}) or ${PROFILE_HINTS[forced] ?? 'install its elements'}`, details);
  }
  if (!report.best) return fail('no pipeline profile can run on this box: exports cannot decode or encode', hints.join('; ') || 'install GStreamer (see docs/appliance.md)', details);
  const hw = report.profiles.filter((p) => p.usable && p.name !== 'software');
  if (report.best === 'software' && devs.length) {
    return warn('only the software profile runs: exports work, but slowly, although this box has a GPU', hints.join('; '), details);
  }
  return ok(`profile ${forced || report.best} will be used${hw.length ? '' : ' (CPU only)'}`, [...details, ...hints.map((h) => `to enable ${h}`)]);
}

// ---- models --------------------------------------------------------------------

async function checkModels(c: Ctx): Promise<Outcome> {
  let manifest;
  let modelsDir: string;
  try {
    const m = await import('../masking/models.js');
    modelsDir = c.opts.modelsDir ?? m.MODELS_DIR;
    manifest = m.readManifest(modelsDir);
  } catch (e) {
    const msg = (e as Error).message;
    if (/onnxruntime/i.test(msg)) return fail(`the inference runtime (onnxruntime-node) does not load: ${msg}`, 'reinstall Veilport with its node_modules for this CPU (linux x64 or arm64)');
    return fail(`the model manifest cannot be read: ${msg}`, 'reinstall /opt/veilport/models/manifest.json');
  }
  const files = join(modelsDir, 'files');
  const details: string[] = [];
  const broken: string[] = [];
  const fixes: string[] = [];
  for (const e of manifest) {
    const path = join(files, e.file);
    if (!existsSync(path)) {
      details.push(`${e.name} (${e.target}): MISSING ${path}`);
      broken.push(e.name);
      fixes.push(`put ${e.file} (sha256 ${e.sha256}) into ${files}`);
      continue;
    }
    const sha = createHash('sha256').update(await readFile(path)).digest('hex');
    if (sha !== e.sha256) {
      details.push(`${e.name} (${e.target}): WRONG HASH ${path} has sha256 ${sha.slice(0, 16)}…, the manifest expects ${e.sha256.slice(0, 16)}…`);
      broken.push(e.name);
      fixes.push(`replace ${path} with the file whose sha256 is ${e.sha256} (the one from ${e.source?.npm ?? e.source?.url ?? 'the manifest source'})`);
      continue;
    }
    details.push(`${e.name} (${e.target}): ok, sha256 ${sha.slice(0, 16)}…`);
  }
  if (broken.length) {
    return fail(`${broken.length} of ${manifest.length} models cannot be used (${broken.join(', ')}): exports that need them fail closed`, `${fixes.join('; ')}; where a registry is reachable "npm run setup:models" fetches and checks them`, details);
  }
  return ok(`${manifest.length} models present, hashes match the manifest`, details);
}

// ---- storage, exports, data ----------------------------------------------------

/** Mounts that /etc/fstab or a .mount unit promises for `path`, which are not mounted now. */
function missingMount(c: Ctx, path: string): Mount | undefined {
  const promised = c.expectedMounts.filter((m) => m.target !== '/' && isWithin(path, m.target)).sort((a, b) => b.target.length - a.target.length)[0];
  if (!promised) return undefined;
  return c.mounts.some((m) => m.target === promised.target) ? undefined : promised;
}

function where(c: Ctx, path: string): string {
  const m = mountOf(path, c.mounts);
  return m ? `on ${m.source} (${m.fstype}) mounted at ${m.target}${m.options.includes('ro') ? ', read-only' : ''}` : 'on a mount not listed in /proc/self/mountinfo (a chroot?)';
}

function checkStorage(c: Ctx): Outcome {
  const rec = c.settings.paths.recordings;
  const details: string[] = [];
  const promised = missingMount(c, rec);
  if (promised) {
    return fail(`the recordings storage is not mounted: ${promised.target} (${promised.source}, ${promised.fstype}) is in /etc/fstab but not mounted, so ${rec} is empty or missing`,
      `mount ${promised.target}; if that fails check the NAS address, network and credentials (journalctl -b -u "*.mount"), then "systemctl restart veilport"`);
  }
  if (!existsSync(rec)) return fail(`the recordings folder ${rec} does not exist`, `mount the recorder's storage at ${rec} (an /etc/fstab line, or "fstab" in the provisioning file), or set paths.recordings to where the recordings are`);
  if (!statSync(rec).isDirectory()) return fail(`${rec} (paths.recordings) is not a directory`, 'set paths.recordings to the folder that holds one folder per camera');
  details.push(`${rec} is ${where(c, rec)}`);
  const probe = probePath(rec, 'read', c.user);
  if (!probe.ok) {
    return fail(`the recordings in ${rec} cannot be read ${asWho(c)} (${probe.code})`,
      `give ${c.user?.name ?? 'the service user'} read access: chmod -R o+rX ${rec}, or setfacl -R -m u:${c.user?.name ?? 'veilport'}:rX ${rec}; for NFS/CIFS set it in the mount options (uid=, gid=, file_mode=)`, details);
  }
  const cameras = readdirSync(rec, { withFileTypes: true }).filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name);
  details.push(`${cameras.length} camera folder(s)${cameras.length ? ': ' + cameras.slice(0, 12).join(', ') + (cameras.length > 12 ? ', …' : '') : ''}`);
  const configured = Object.keys(c.settings.cameras).filter((n) => !cameras.includes(n));
  if (!cameras.length) return warn(`${rec} is readable but holds no camera folders`, `the layout is one folder per camera (${c.settings.paths.layout || '<camera>/<YYYY-MM-DD>/<HH-MM-SS>.mp4'}); check that the right share or disk is mounted`, details);
  if (configured.length) return warn(`cameras in the settings have no folder: ${configured.join(', ')}`, `check the camera names in the settings against the folders in ${rec}`, details);
  return ok(`recordings readable ${asWho(c)}: ${cameras.length} camera folder(s)`, details);
}

function spaceCheck(c: Ctx, dir: string, label: string, details: string[]): Outcome | null {
  const s = freeSpace(dir);
  const failBytes = c.opts.failBytes ?? 1024 ** 3;
  const warnBytes = c.opts.warnBytes ?? 10 * 1024 ** 3;
  const pct = s.totalBytes ? (s.freeBytes / s.totalBytes) * 100 : 0;
  details.push(`${formatBytes(s.freeBytes)} free of ${formatBytes(s.totalBytes)} (${pct.toFixed(0)}%)`);
  if (s.freeBytes < failBytes) return fail(`${label} ${dir} has only ${formatBytes(s.freeBytes)} free: an export of an hour of 1080p needs about 2 GiB`, `free space (delivered packages are deleted after their grace period: retention.deliveredGraceHours), or put ${label} on a larger volume`, details);
  if (s.freeBytes < warnBytes || pct < c.settings.mqtt.diskLowPercent) return warn(`${label} ${dir} is getting full: ${formatBytes(s.freeBytes)} free`, 'free space or move it to a larger volume before it blocks exports', details);
  return null;
}

function writableDir(c: Ctx, dir: string, label: string, key: string): Outcome {
  const details: string[] = [];
  const promised = missingMount(c, dir);
  if (promised) return fail(`the ${label} volume is not mounted: ${promised.target} (${promised.source}) is in /etc/fstab but not mounted; writing would fill the system disk`, `mount ${promised.target} (check the disk or the network share), then "systemctl restart veilport"`);
  let target = dir;
  if (!existsSync(dir)) {
    // The daemon creates it; what matters is that it can.
    let parent = dir;
    while (!existsSync(parent)) parent = join(parent, '..');
    details.push(`${dir} does not exist yet; the daemon creates it in ${parent}`);
    target = parent;
  } else if (!statSync(dir).isDirectory()) {
    return fail(`${dir} (${key}) is not a directory`, `set ${key} to a directory`);
  }
  details.unshift(`${target} is ${where(c, target)}`);
  const probe = probePath(target, 'write', c.user);
  if (!probe.ok) {
    const why = probe.code === 'EROFS' ? 'the file system is read-only' : probe.code === 'EACCES' || probe.code === 'EPERM' ? 'permission denied' : probe.message ?? probe.code;
    const fix = probe.code === 'EROFS'
      ? `remount it read-write (check the "ro" option in /etc/fstab; a disk that turned read-only after errors needs fsck), or set ${key} to a writable volume`
      : `let ${c.user?.name ?? 'the service user'} write there: chown ${c.user?.name ?? 'veilport'}: ${target} && chmod 700 ${target} (or set ${key} elsewhere)`;
    return fail(`${label} ${target} is not writable ${asWho(c)}: ${why} (${probe.code})`, fix, details);
  }
  const space = spaceCheck(c, target, label, details);
  if (space) return space;
  return ok(`${label} ${target} writable ${asWho(c)}, ${details.at(-1)}`, details);
}

function checkExports(c: Ctx): Outcome {
  return writableDir(c, c.settings.paths.exports || join(c.settings.paths.data, 'exports'), 'the export area', c.settings.paths.exports ? 'paths.exports' : 'paths.data');
}

function checkData(c: Ctx): Outcome {
  return writableDir(c, c.settings.paths.data, 'the data directory', 'paths.data');
}

// ---- keys ------------------------------------------------------------------------

function checkKeys(c: Ctx): Outcome & { applianceId?: string } {
  const dir = join(c.settings.paths.data, 'keys');
  const uid = c.user?.uid ?? process.getuid?.() ?? 0;
  const who = c.user?.name ?? lookupUserById(uid) ?? `uid ${uid}`;
  if (!existsSync(dir)) return warn(`no keys yet in ${dir}`, 'run "veilport setup" (first boot does), or start the service: it creates the appliance key pair and the data key', []);
  const details: string[] = [];
  const problems: string[] = [];
  const fixes: string[] = [];
  const entries: [string, 'dir' | 'file'][] = [[dir, 'dir'], [join(dir, SIGNING_KEY_FILE), 'file'], [join(dir, DATA_KEY_FILE), 'file']];
  let missing = 0;
  for (const [p, kind] of entries) {
    if (!existsSync(p)) {
      missing++;
      details.push(`${p}: missing (created on the next start)`);
      continue;
    }
    const st = lstatSync(p);
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    const owner = lookupUserById(st.uid) ?? String(st.uid);
    details.push(`${p}: mode ${mode}, owner ${owner}`);
    if (st.isSymbolicLink()) {
      problems.push(`${p} is a symlink`);
      fixes.push(`replace ${p} with the file itself`);
      continue;
    }
    const loose = kind === 'file' ? st.mode & 0o077 : st.mode & 0o022;
    if (loose) {
      problems.push(`${p} is ${kind === 'file' ? 'readable or writable by others' : 'writable by others'} (mode ${mode})`);
      fixes.push(`chmod ${kind === 'file' ? '600' : '700'} ${p}`);
    }
    if (st.uid !== uid && uid !== 0) {
      problems.push(`${p} belongs to ${owner}, not to ${who}`);
      fixes.push(`chown ${who}: ${p}`);
    }
  }
  let applianceId: string | undefined;
  try {
    const doc = JSON.parse(readFileSync(join(dir, SIGNING_KEY_FILE), 'utf8')) as { publicKey?: string };
    const pub = Buffer.from(doc.publicKey ?? '', 'hex');
    if (pub.length === 32) {
      applianceId = applianceIdFor(pub);
      details.push(`appliance ${applianceId}, signing key fingerprint ${publicKeyFingerprint(pub)}`);
    }
  } catch {
    /* missing or unreadable: reported above */
  }
  if (problems.length) return { ...fail(`the daemon refuses these key files: ${problems.join('; ')}`, `${fixes.join('; ')} (a key others could read must be treated as leaked: rotate it)`, details), ...(applianceId ? { applianceId } : {}) };
  if (missing) return { ...warn(`${missing} key file(s) missing in ${dir}`, 'run "veilport setup" or start the service: missing keys are created on the box', details), ...(applianceId ? { applianceId } : {}) };
  return { ...ok(`key files private to ${who}`, details), ...(applianceId ? { applianceId } : {}) };
}

// ---- clock -----------------------------------------------------------------------

export interface ClockFacts {
  /** Kernel discipline from adjtimex; null when it could not be read. */
  kernel: { unsynchronised: boolean; maxErrorUs: number } | null;
  /** NTP clients running (process names). */
  clients: string[];
  /** timedatectl's view when systemd runs. */
  timedated: { ntp: boolean; synchronised: boolean } | null;
}

export async function clockFacts(): Promise<ClockFacts> {
  let kernel: ClockFacts['kernel'] = null;
  try {
    const { stdout } = await run(helperPath(), ['clock'], { timeout: 5000 });
    const j = JSON.parse(stdout) as { unsynchronised: boolean; maxerrorUs: number };
    kernel = { unsynchronised: j.unsynchronised, maxErrorUs: j.maxerrorUs };
  } catch {
    /* helper not built */
  }
  const names = new Set(['systemd-timesyncd', 'systemd-timesyn', 'chronyd', 'ntpd', 'openntpd', 'ntpsec']);
  const clients = new Set<string>();
  try {
    for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
      try {
        const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
        if (names.has(comm)) clients.add(comm === 'systemd-timesyn' ? 'systemd-timesyncd' : comm);
      } catch {
        /* gone */
      }
    }
  } catch {
    /* no /proc */
  }
  let timedated: ClockFacts['timedated'] = null;
  if (systemdRunning()) {
    try {
      const { stdout } = await run('timedatectl', ['show', '-p', 'NTP', '-p', 'NTPSynchronized'], { timeout: 5000 });
      timedated = { ntp: /^NTP=yes$/m.test(stdout), synchronised: /^NTPSynchronized=yes$/m.test(stdout) };
    } catch {
      /* timedated not available */
    }
  }
  return { kernel, clients: [...clients], timedated };
}

export function judgeClock(f: ClockFacts, now: Date): Outcome {
  const details = [
    `time now ${now.toISOString()}`,
    f.kernel ? `kernel clock (adjtimex): ${f.kernel.unsynchronised ? 'not synchronised' : 'synchronised'}, max error ${(f.kernel.maxErrorUs / 1000).toFixed(0)} ms` : 'kernel clock state unknown (build/veilport-sys missing)',
    `NTP client running: ${f.clients.length ? f.clients.join(', ') : 'none (systemd-timesyncd, chronyd, ntpd)'}`,
    ...(f.timedated ? [`timedatectl: NTP ${f.timedated.ntp ? 'on' : 'off'}, synchronised ${f.timedated.synchronised ? 'yes' : 'no'}`] : []),
  ];
  const ntpFix = 'enable time synchronisation: "timedatectl set-ntp true" (systemd-timesyncd); if the box cannot reach the internet set NTP=<the centre\'s NTP server> in /etc/systemd/timesyncd.conf and allow UDP 123';
  if (now < CLOCK_FLOOR) {
    return fail(`the clock is wrong: ${now.toISOString()} is before this software was made; expiry dates and the legal records would be misdated`, `set the time ("timedatectl set-time", or let NTP do it) and ${ntpFix}`, details);
  }
  const synced = f.timedated ? f.timedated.synchronised : f.kernel ? !f.kernel.unsynchronised : null;
  if (synced === true) return ok(`clock synchronised${f.clients.length ? ` (${f.clients.join(', ')})` : ''}`, details);
  if (synced === null) return warn('cannot tell whether the clock is synchronised', `build the helper ("npm run build:native") and ${ntpFix}`, details);
  return warn('the clock is not synchronised by NTP: timestamps in the ledger, access log and package expiry may drift', ntpFix, details);
}

// ---- broker ------------------------------------------------------------------------

function mqttString(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

/** MQTT 3.1.1 CONNECT as the daemon would (URL, credentials, TLS files); resolves with the CONNACK code. */
export async function mqttConnect(m: Settings['mqtt'], timeoutMs: number): Promise<number> {
  const url = new URL(m.url);
  const secure = url.protocol === 'mqtts:';
  const port = Number(url.port || (secure ? 8883 : 1883));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const username = m.username || decodeURIComponent(url.username);
  const password = m.passwordFile ? readFileSync(m.passwordFile, 'utf8').split('\n')[0]! : '';
  let flags = 0x02; // clean session
  if (username) flags |= 0x80;
  if (username && password) flags |= 0x40;
  const variable = Buffer.concat([mqttString('MQTT'), Buffer.from([4, flags, 0, 30])]);
  const payload = Buffer.concat([mqttString(`veilport-doctor-${process.pid}`), ...(username ? [mqttString(username)] : []), ...(username && password ? [mqttString(password)] : [])]);
  const body = Buffer.concat([variable, payload]);
  const packet = Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
  return new Promise<number>((resolve, reject) => {
    const socket = secure
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ...(m.caFile ? { ca: readFileSync(m.caFile) } : {}), ...(m.certFile ? { cert: readFileSync(m.certFile), key: readFileSync(m.keyFile) } : {}) })
      : net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    let got = Buffer.alloc(0);
    socket.once(secure ? 'secureConnect' : 'connect', () => socket.write(packet));
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 4) {
        clearTimeout(timer);
        socket.end(Buffer.from([0xe0, 0x00]));
        if (got[0] !== 0x20) reject(Object.assign(new Error('the answer is not an MQTT CONNACK'), { code: 'EPROTO' }));
        else resolve(got[3]!);
      }
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      reject(Object.assign(new Error('the broker closed the connection without answering'), { code: 'ECONNRESET' }));
    });
  });
}

const CONNACK: Record<number, [string, string]> = {
  1: ['refuses MQTT 3.1.1', 'use a broker that speaks MQTT 3.1.1 or 5 (mosquitto 2 does)'],
  2: ['rejected the client id', 'check the broker\'s client id rules'],
  3: ['is unavailable', 'check the broker\'s own log'],
  4: ['rejected the user name or password', 'check mqtt.username and the password in mqtt.passwordFile against the broker\'s accounts'],
  5: ['says this client is not authorised', 'grant the appliance\'s user access on the broker (ACL)'],
};

async function checkBroker(c: Ctx): Promise<Outcome> {
  const m = c.settings.mqtt;
  if (!m.url) return skip('telemetry is off (mqtt.url is empty)');
  const target = m.url;
  try {
    const code = await mqttConnect(m, c.opts.brokerTimeoutMs ?? 5000);
    if (code === 0) return ok(`broker ${target} accepts the appliance${m.username ? ` as ${m.username}` : ''}`);
    const [what, fix] = CONNACK[code] ?? [`answered CONNACK ${code}`, 'check the broker\'s log'];
    return warn(`broker ${target} ${what}: telemetry queues on the box until fixed`, fix);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const code = err.code ?? '';
    const fix =
      code === 'ECONNREFUSED' ? `nothing listens at ${target}: is the broker running, and is the port right?`
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? `the broker's name does not resolve: check DNS on this box or use its IP address in mqtt.url`
      : code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' ? `no route or a firewall drops the traffic: check the network and that TCP ${new URL(target).port || (target.startsWith('mqtts') ? 8883 : 1883)} is allowed from this box`
      : code === 'ENOENT' || code === 'EACCES' ? `a file named by mqtt.* cannot be read: ${err.message}`
      : /certificate|self.signed|unable to verify|CERT|SSL|TLS/i.test(`${code} ${err.message}`) ? `the broker's TLS certificate is not trusted: set mqtt.caFile to the CA that signed it (${err.message})`
      : `check the broker address and the network (${err.message})`;
    return warn(`broker ${target} is not reachable (${code || err.message}): telemetry queues on the box and is sent when it returns`, fix);
  }
}

// ---- systemd sandbox and service ------------------------------------------------

function checkSandbox(c: Ctx): Outcome {
  const sb = c.sandbox;
  if (!sb) return skip('veilport.service is not installed here: nothing to compare');
  const details = [`unit files: ${sb.files.join(', ')}`, `ProtectSystem=${sb.protectSystem}, ProtectHome=${sb.protectHome}, PrivateTmp=${sb.privateTmp ? 'yes' : 'no'}, User=${sb.user}`];
  const problems: string[] = [];
  const rw: string[] = [];
  const ro: string[] = [];
  const need: [string, string, 'rw' | 'ro'][] = [
    ['paths.data', c.settings.paths.data, 'rw'],
    ['export area', c.settings.paths.exports || join(c.settings.paths.data, 'exports'), 'rw'],
    ['paths.recordings', c.settings.paths.recordings, 'ro'],
  ];
  for (const [label, path, want] of need) {
    const a = accessTo(sb, path);
    details.push(`${label} ${path}: ${a === 'rw' ? 'read-write' : a === 'ro' ? 'read-only' : a === 'private-tmp' ? 'private /tmp (invisible to others, lost on restart)' : 'inaccessible'} in the sandbox`);
    const fine = a === 'rw' || (a === 'ro' && want === 'ro');
    if (fine) continue;
    problems.push(`${label} ${path} is ${a === 'ro' ? 'read-only' : a === 'private-tmp' ? 'in the private /tmp' : 'hidden'} in the service's sandbox`);
    if (a === 'private-tmp' || (a === 'none' && ['/home', '/root'].some((d) => isWithin(path, d)))) continue;
    (want === 'rw' ? rw : ro).push(path);
  }
  if (!problems.length) return ok('the unit lets the service read the recordings and write its data and exports', details);
  const lines = ['[Service]', ...(rw.length ? [`ReadWritePaths=${rw.map((p) => '-' + p).join(' ')}`] : []), ...(ro.length ? [`ReadOnlyPaths=${ro.map((p) => '-' + p).join(' ')}`] : [])];
  return fail(`the systemd sandbox does not match the settings: ${problems.join('; ')}`,
    `run "veilport setup" (it writes /etc/systemd/system/veilport.service.d/10-paths.conf from the settings) or add there: ${lines.join(' / ')}; paths under /tmp, /home or /root cannot be used; then "systemctl daemon-reload && systemctl restart veilport"`, details);
}

async function checkService(): Promise<Outcome> {
  if (!systemdRunning()) return skip('systemd is not running here (container, chroot or build host)');
  const state = async (verb: string) => {
    try {
      return (await run('systemctl', [verb, 'veilport.service'], { timeout: 5000 })).stdout.trim();
    } catch (e) {
      return ((e as { stdout?: string }).stdout ?? '').trim() || 'unknown';
    }
  };
  const [active, enabled] = [await state('is-active'), await state('is-enabled')];
  const details = [`veilport.service: ${active}, ${enabled}`];
  if (active === 'active' && enabled === 'enabled') return ok('veilport.service is running and starts at boot', details);
  if (active !== 'active') return warn(`veilport.service is ${active}`, '"systemctl start veilport"; if it does not stay up, "journalctl -u veilport -b" says why', details);
  return warn(`veilport.service is ${enabled} at boot`, '"systemctl enable veilport"', details);
}

// ---- the run -------------------------------------------------------------------

const TITLES: Record<(typeof CHECK_IDS)[number], string> = {
  settings: 'settings',
  pipelines: 'pipelines',
  models: 'models',
  storage: 'recordings',
  exports: 'export area',
  data: 'data',
  keys: 'keys',
  clock: 'clock',
  broker: 'broker',
  sandbox: 'sandbox',
  service: 'service',
};

export async function runDoctor(opts: DoctorOptions): Promise<DoctorReport> {
  const t0 = Date.now();
  let settings: Settings = structuredClone(DEFAULT_SETTINGS);
  let settingsError: string | null = null;
  try {
    settings = loadSettings({ ...(opts.configFile ? { file: opts.configFile } : {}), env: opts.env ?? process.env });
  } catch (e) {
    settingsError = (e as Error).message;
  }
  const sandbox = readSandbox('veilport.service', opts.unitRoot ?? '/', opts.unitDirs ?? UNIT_DIRS);
  const userName = opts.serviceUser ?? (sandbox && sandbox.user !== 'root' ? sandbox.user : lookupUser('veilport') ? 'veilport' : null);
  const user = userName ? lookupUser(userName) : null;
  const mountUnits: Mount[] = [];
  for (const d of ['/etc/systemd/system', '/usr/lib/systemd/system']) {
    try {
      for (const n of readdirSync(d).filter((n) => n.endsWith('.mount'))) {
        const w = /^Where=(.+)$/m.exec(readFileSync(join(d, n), 'utf8'));
        if (w) mountUnits.push({ target: w[1]!.trim(), source: n, fstype: 'mount unit', options: [] });
      }
    } catch {
      /* none */
    }
  }
  const c: Ctx = {
    opts,
    settings,
    settingsOk: settingsError === null,
    user,
    sandbox,
    mounts: currentMounts(),
    expectedMounts: [...fstabEntries(opts.fstabFile).filter((m) => !m.options.includes('noauto')), ...mountUnits],
  };
  let applianceId: string | null = null;
  const needsSettings = new Set(['storage', 'exports', 'data', 'keys', 'broker', 'sandbox']);
  const checks: CheckResult[] = [];
  for (const id of CHECK_IDS) {
    if (opts.only && !opts.only.includes(id)) continue;
    const t = Date.now();
    let out: Outcome;
    try {
      if (id !== 'settings' && needsSettings.has(id) && !c.settingsOk) out = skip('skipped: the settings do not load');
      else if (userName && !user && ['storage', 'exports', 'data', 'keys'].includes(id)) out = fail(`the service user "${userName}" does not exist`, 'create it: systemd-sysusers /usr/lib/sysusers.d/veilport.conf');
      else {
        switch (id) {
          case 'settings': out = checkSettings(c, settingsError); break;
          case 'pipelines': out = await checkPipelines(c); break;
          case 'models': out = await checkModels(c); break;
          case 'storage': out = checkStorage(c); break;
          case 'exports': out = checkExports(c); break;
          case 'data': out = checkData(c); break;
          case 'keys': {
            const k = checkKeys(c);
            applianceId = k.applianceId ?? null;
            out = k;
            break;
          }
          case 'clock': out = judgeClock(await clockFacts(), opts.now?.() ?? new Date()); break;
          case 'broker': out = await checkBroker(c); break;
          case 'sandbox': out = checkSandbox(c); break;
          case 'service': out = await checkService(); break;
        }
      }
    } catch (e) {
      out = fail(`the check itself failed: ${(e as Error).message}`, 'run it again with VEILPORT_DEBUG=1 and report the output');
    }
    const { applianceId: _ignored, ...rest } = out as Outcome & { applianceId?: string };
    checks.push({ id, title: TITLES[id], ...rest, blocksExports: rest.status === 'fail' && rest.blocksExports !== false, ms: Date.now() - t });
  }
  const blockedBy = checks.filter((x) => x.blocksExports).map((x) => x.title);
  return { host: hostname(), settingsFile: opts.configFile, serviceUser: user?.name ?? null, applianceId, checks, blockedBy, ms: Date.now() - t0 };
}

const MARK: Record<CheckStatus, string> = { ok: ' ok ', warn: 'WARN', fail: 'FAIL', skip: 'skip' };

/** The report for a person on the console. */
export function formatReport(r: DoctorReport, verbose = true): string {
  const out: string[] = [];
  out.push(`veilport doctor on ${r.host}${r.applianceId ? `, appliance ${r.applianceId}` : ''}`);
  out.push(`settings ${r.settingsFile ?? '(defaults)'}; file access checked as ${r.serviceUser ?? `${lookupUserById(process.getuid?.() ?? -1) ?? 'this user'} (no service user here${process.getuid?.() === 0 ? '; root passes file mode checks' : ''})`}`);
  out.push('');
  for (const c of r.checks) {
    out.push(`[${MARK[c.status]}] ${c.title.padEnd(12)} ${c.summary}`);
    if (verbose || c.status === 'fail' || c.status === 'warn') for (const d of c.details) out.push(`       ${' '.repeat(12)} - ${d}`);
    if (c.fix && c.status !== 'ok') out.push(`       ${' '.repeat(12)} fix: ${c.fix}`);
  }
  out.push('');
  const warns = r.checks.filter((c) => c.status === 'warn').length;
  if (r.blockedBy.length) out.push(`Exports are BLOCKED by: ${r.blockedBy.join(', ')}. Fix those first (see "fix:" above).${warns ? ` Also ${warns} warning(s).` : ''}`);
  else out.push(`Exports can run.${warns ? ` ${warns} warning(s) to look at.` : ' Nothing to fix.'}`);
  out.push(`(${r.checks.length} checks in ${(r.ms / 1000).toFixed(1)} s)`);
  return out.join('\n') + '\n';
}
