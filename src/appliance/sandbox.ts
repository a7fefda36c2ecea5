/**
 * What the daemon can reach inside its systemd sandbox, read from the unit files (the
 * fragment and its drop-ins, in systemd's precedence), so the doctor can say "the
 * settings put exports in /srv/exports but the unit does not let the service write
 * there" before a job fails on it. Works on a live system, in a chroot and on a build
 * host alike, since it needs no running systemd.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { isWithin } from './system.js';

/** The unit search path, highest precedence first (systemd.unit(5)). */
export const UNIT_DIRS = ['/etc/systemd/system', '/run/systemd/system', '/usr/local/lib/systemd/system', '/usr/lib/systemd/system', '/lib/systemd/system'];

export type Access = 'rw' | 'ro' | 'none' | 'private-tmp';

export interface Sandbox {
  /** The files it was read from, fragment first. */
  files: string[];
  user: string;
  protectSystem: string;
  protectHome: string;
  privateTmp: boolean;
  readWrite: string[];
  readOnly: string[];
  inaccessible: string[];
  /** /var/lib/<StateDirectory>, /run/<RuntimeDirectory>, ... (writable under ProtectSystem=strict). */
  ownDirs: string[];
}

const LISTS = ['ReadWritePaths', 'ReadOnlyPaths', 'InaccessiblePaths', 'StateDirectory', 'RuntimeDirectory', 'CacheDirectory', 'LogsDirectory'] as const;

/** Parses the [Service] section of unit files in order, as systemd merges them: later wins, lists accumulate, an empty assignment resets a list. */
export function parseService(texts: string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const text of texts) {
    let section = '';
    // Continuation lines ("\" at the end) join the next line.
    for (const raw of text.replace(/\\\n/g, ' ').split('\n')) {
      const line = raw.trim();
      if (!line || line.startsWith('#') || line.startsWith(';')) continue;
      const sec = /^\[(.+)\]$/.exec(line);
      if (sec) {
        section = sec[1]!;
        continue;
      }
      if (section !== 'Service') continue;
      const eq = line.indexOf('=');
      if (eq < 0) continue;
      const key = line.slice(0, eq).trim();
      const value = line.slice(eq + 1).trim();
      if ((LISTS as readonly string[]).includes(key)) {
        out[key] = value === '' ? [] : [...((out[key] as string[] | undefined) ?? []), ...value.split(/\s+/)];
      } else {
        out[key] = value;
      }
    }
  }
  return out;
}

/** The fragment and drop-ins of `unit` under `root`, or null when it is not installed. */
export function findUnitFiles(unit: string, root = '/', dirs = UNIT_DIRS): string[] | null {
  const fragment = dirs.map((d) => posix.join(root, d, unit)).find((f) => existsSync(f));
  if (!fragment) return null;
  // Drop-ins: by file name across all directories; a name in a higher directory masks the same name below.
  const dropins = new Map<string, string>();
  for (const d of [...dirs].reverse()) {
    const dir = posix.join(root, d, `${unit}.d`);
    let names: string[] = [];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith('.conf'));
    } catch {
      continue;
    }
    for (const n of names) dropins.set(n, posix.join(dir, n));
  }
  return [fragment, ...[...dropins.keys()].sort().map((n) => dropins.get(n)!)];
}

const stripPrefix = (p: string) => p.replace(/^[-+]+/, '');

export function readSandbox(unit = 'veilport.service', root = '/', dirs = UNIT_DIRS): Sandbox | null {
  const files = findUnitFiles(unit, root, dirs);
  if (!files) return null;
  const s = parseService(files.map((f) => readFileSync(f, 'utf8')));
  const list = (k: string) => ((s[k] as string[] | undefined) ?? []).map(stripPrefix).filter((p) => p.startsWith('/'));
  const own = (k: string, base: string) => ((s[k] as string[] | undefined) ?? []).map((d) => posix.join(base, d.split(':')[0]!));
  const bool = (v: unknown) => typeof v === 'string' && /^(yes|true|1|on)$/i.test(v);
  const ps = typeof s['ProtectSystem'] === 'string' ? (s['ProtectSystem'] as string) : 'no';
  const ph = typeof s['ProtectHome'] === 'string' ? (s['ProtectHome'] as string) : 'no';
  return {
    files,
    user: typeof s['User'] === 'string' ? (s['User'] as string) : 'root',
    protectSystem: bool(ps) ? 'yes' : ps,
    protectHome: bool(ph) ? 'yes' : ph,
    privateTmp: bool(s['PrivateTmp']),
    readWrite: list('ReadWritePaths'),
    readOnly: list('ReadOnlyPaths'),
    inaccessible: list('InaccessiblePaths'),
    ownDirs: [...own('StateDirectory', '/var/lib'), ...own('RuntimeDirectory', '/run'), ...own('CacheDirectory', '/var/cache'), ...own('LogsDirectory', '/var/log')],
  };
}

/** What the service may do with `path` inside the sandbox. */
export function accessTo(sb: Sandbox, path: string): Access {
  const p = posix.normalize(path);
  if (sb.inaccessible.some((d) => isWithin(p, d))) return 'none';
  if (sb.privateTmp && ['/tmp', '/var/tmp'].some((d) => isWithin(p, d))) return 'private-tmp';
  if (sb.protectHome !== 'no' && ['/home', '/root', '/run/user'].some((d) => isWithin(p, d))) {
    if (sb.protectHome === 'read-only') return 'ro';
    return 'none';
  }
  // The most specific explicit rule wins.
  const rules: [string, Access][] = [
    ...sb.readWrite.map((d) => [d, 'rw'] as [string, Access]),
    ...sb.ownDirs.map((d) => [d, 'rw'] as [string, Access]),
    ...sb.readOnly.map((d) => [d, 'ro'] as [string, Access]),
  ];
  const rule = rules.filter(([d]) => isWithin(p, d)).sort((a, b) => b[0].length - a[0].length)[0];
  if (rule) return rule[1];
  switch (sb.protectSystem) {
    case 'strict':
      return 'ro';
    case 'full':
      return ['/usr', '/boot', '/efi', '/etc'].some((d) => isWithin(p, d)) ? 'ro' : 'rw';
    case 'yes':
      return ['/usr', '/boot', '/efi'].some((d) => isWithin(p, d)) ? 'ro' : 'rw';
    default:
      return 'rw';
  }
}

/** The drop-in that opens the settings' paths to the service (written by `veilport setup`). */
export function pathsDropIn(paths: { data: string; recordings: string; exports: string }, configFile: string): string {
  const rw = [...new Set([paths.data, paths.exports])].filter((p) => !isWithin(p, '/var/lib/veilport'));
  return [
    `# Written by "veilport setup" from ${configFile}; "veilport doctor" compares it with the settings.`,
    '# "-": the service still starts when a path is missing (the doctor then says so).',
    '[Service]',
    `ReadOnlyPaths=-${paths.recordings}`,
    ...(rw.length ? [`ReadWritePaths=${rw.map((p) => '-' + p).join(' ')}`] : []),
    '',
  ].join('\n');
}
