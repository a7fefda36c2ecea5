/**
 * The few facts about the host that setup and the doctor share: users and groups (read
 * from /etc, no NSS), mounts (/proc/self/mountinfo and /etc/fstab), free space, and
 * probes of a path run as the service user (root passes every mode check, so "can root
 * write there" says nothing about the daemon).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { posix } from 'node:path';

export interface UserInfo {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /** Supplementary group ids (from /etc/group) plus the primary one. */
  groups: number[];
}

function readLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n');
  } catch {
    return [];
  }
}

/** A user from /etc/passwd and /etc/group under `root`, or null. */
export function lookupUser(name: string, root = '/'): UserInfo | null {
  const line = readLines(posix.join(root, 'etc/passwd')).find((l) => l.split(':')[0] === name);
  if (!line) return null;
  const [, , uid, gid, , home] = line.split(':');
  const groups = new Set<number>([Number(gid)]);
  for (const g of readLines(posix.join(root, 'etc/group'))) {
    const [, , id, members] = g.split(':');
    if (members && members.split(',').includes(name)) groups.add(Number(id));
  }
  return { name, uid: Number(uid), gid: Number(gid), home: home ?? '/', groups: [...groups] };
}

export function lookupUserById(uid: number, root = '/'): string | null {
  const line = readLines(posix.join(root, 'etc/passwd')).find((l) => Number(l.split(':')[2]) === uid);
  return line ? line.split(':')[0]! : null;
}

export function groupName(gid: number, root = '/'): string | null {
  const line = readLines(posix.join(root, 'etc/group')).find((l) => Number(l.split(':')[2]) === gid);
  return line ? line.split(':')[0]! : null;
}

export interface Mount {
  /** Where it is mounted. */
  target: string;
  source: string;
  fstype: string;
  options: string[];
}

/** Unescapes the octal escapes (\040 for a space) of mountinfo and fstab. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** What is mounted now, from /proc/self/mountinfo. */
export function currentMounts(file = '/proc/self/mountinfo'): Mount[] {
  const out: Mount[] = [];
  for (const line of readLines(file)) {
    if (!line) continue;
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const l = left.split(' ');
    const r = right.split(' ');
    out.push({ target: unescapeMount(l[4]!), source: unescapeMount(r[1] ?? ''), fstype: r[0] ?? '', options: [...(l[5] ?? '').split(','), ...(r[2] ?? '').split(',')] });
  }
  return out;
}

/** Entries of /etc/fstab (comments and swap left out). */
export function fstabEntries(file = '/etc/fstab'): Mount[] {
  const out: Mount[] = [];
  for (const raw of readLines(file)) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const [source, target, fstype, options] = line.split(/\s+/);
    if (!source || !target || !target.startsWith('/') || fstype === 'swap') continue;
    out.push({ source: unescapeMount(source), target: unescapeMount(target), fstype: fstype ?? '', options: (options ?? 'defaults').split(',') });
  }
  return out;
}

/** Whether `path` is `dir` or inside it. */
export function isWithin(path: string, dir: string): boolean {
  const p = posix.normalize(path);
  const d = posix.normalize(dir).replace(/\/+$/, '') || '/';
  return d === '/' || p === d || p.startsWith(d + '/');
}

/** The mount with the longest target containing `path`. */
export function mountOf(path: string, mounts: Mount[]): Mount | undefined {
  return mounts.filter((m) => isWithin(path, m.target)).sort((a, b) => b.target.length - a.target.length)[0];
}

export interface Space {
  freeBytes: number;
  totalBytes: number;
}

export function freeSpace(path: string): Space {
  const s = statfsSync(path);
  return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export interface ProbeResult {
  ok: boolean;
  /** errno code when not ok (EACCES, EROFS, ENOENT, ENOTDIR, ...). */
  code?: string;
  message?: string;
}

/**
 * Probes a path as `user` (a child process with its uid and gid; without supplementary
 * groups) or as this process when `user` is null. "read": list the directory;
 * "write": create, write, fsync and remove a file in it.
 */
export function probePath(path: string, mode: 'read' | 'write', user: UserInfo | null): ProbeResult {
  const code = `
    const fs = require('node:fs');
    const [dir, mode] = process.argv.slice(1);
    try {
      if (mode === 'read') fs.readdirSync(dir);
      else {
        const f = require('node:path').join(dir, '.veilport-doctor-' + process.pid);
        const fd = fs.openSync(f, 'wx', 0o600);
        try { fs.writeSync(fd, 'probe'); fs.fsyncSync(fd); } finally { fs.closeSync(fd); fs.unlinkSync(f); }
      }
      process.stdout.write(JSON.stringify({ ok: true }));
    } catch (e) {
      process.stdout.write(JSON.stringify({ ok: false, code: e.code, message: e.message }));
    }`;
  const asOther = user !== null && process.getuid?.() === 0 && user.uid !== 0;
  const r = spawnSync(process.execPath, ['-e', code, path, mode], {
    encoding: 'utf8',
    timeout: 15_000,
    ...(asOther ? { uid: user.uid, gid: user.gid } : {}),
  });
  try {
    return JSON.parse(r.stdout) as ProbeResult;
  } catch {
    return { ok: false, code: r.error ? (r.error as NodeJS.ErrnoException).code ?? 'EPROBE' : 'EPROBE', message: (r.stderr || r.error?.message || `probe exited ${r.status}`).trim() };
  }
}

/** Whether systemd is the running init (sd_booted(): /run/systemd/system exists), not a container or chroot without it. */
export function systemdRunning(): boolean {
  return existsSync('/run/systemd/system');
}
