/**
 * Secret files of the appliance (signing key, data key): refused unless only this
 * service can read them, and created so that no half-written or world-readable copy
 * ever exists and two processes racing on first start can never both create "the" key.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { VeilportError } from './errors.js';
import { fsyncDir } from '../seal/file-io.js';

/**
 * @param label what the file is, for the message ("signing key file").
 * @throws VeilportError KEY_ERROR naming the path when it is a symlink, not owned by this
 *   user, group/world readable (files) or group/world writable (directories).
 */
export async function checkPrivate(file: string, kind: 'file' | 'dir', label: string): Promise<void> {
  const fail = (why: string, details: Record<string, unknown> = {}) => new VeilportError('KEY_ERROR', `${label} ${file} ${why}`, { file, ...details });
  const st = await fs.lstat(file);
  if (kind === 'file' && !st.isFile()) throw fail('is not a regular file (symlinks are refused)');
  if (kind === 'dir' && !st.isDirectory()) throw fail('is not a directory');
  const loose = kind === 'file' ? st.mode & 0o077 : st.mode & 0o022;
  if (loose) {
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    const want = kind === 'file' ? 'readable or writable by group/others' : 'writable by group/others';
    throw fail(`is ${want} (mode ${mode}); chmod ${kind === 'file' ? '600' : '700'} it`, { mode });
  }
  const uid = process.getuid?.();
  if (uid !== undefined && uid !== 0 && st.uid !== uid) throw fail(`is owned by uid ${st.uid}, not by this service (uid ${uid})`);
}

/** Creates `file` (0600) with `content` unless it already exists; fsyncs file and directory. */
export async function createPrivateFileOnce(file: string, content: string): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await fs.open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
  try {
    await fh.chmod(0o600); // the mode above is only ever narrowed by umask, but be explicit
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    // link() fails if another process won the race, so two keys can never both be "the" key.
    await fs.link(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    await fs.unlink(tmp).catch(() => {});
  }
  await fsyncDir(dir);
}

/**
 * Reads a private file after creating it with `create()` if missing and checking its
 * modes and its directory's. `what` names the secret ("signing key").
 */
export async function loadOrCreatePrivateFile(file: string, what: string, create: () => string): Promise<string> {
  const dir = path.dirname(file);
  const label = `${what} file`;
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await checkPrivate(dir, 'dir', `${what} directory`);
  try {
    await fs.lstat(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new VeilportError('KEY_ERROR', `${label} ${file}: ${(e as Error).message}`, { file });
    await createPrivateFileOnce(file, create());
  }
  await checkPrivate(file, 'file', label);
  try {
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new VeilportError('KEY_ERROR', `${label} ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { file });
  }
}
