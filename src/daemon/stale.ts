/**
 * Startup removes what an interrupted run left half-written: `*.partial` files (a
 * package being sealed: ciphertext under a key that died with the process; a review
 * clip being encoded: clear video) and `*.tmp` files of analyses being saved. Nothing
 * runs yet when this is called, so no such file can belong to a live writer. Each
 * removal is said on the console (and so in the journal), naming what it was.
 */
import { readdir, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';

export interface StaleArea {
  dir: string;
  /** What a half-written file here is, in words. */
  what: string;
  /** Also look one level of folders down (analyses/<key>/). */
  nested?: boolean;
}

const STALE = /\.(partial|tmp)$/;

export async function removeStalePartials(areas: StaleArea[], root: string): Promise<{ removed: string[]; failed: string[] }> {
  const removed: string[] = [];
  const failed: string[] = [];
  const sweep = async (dir: string, what: string, nested: boolean) => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return; // not made yet
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory() && nested) await sweep(p, what, false);
      else if ((e.isFile() || e.isSymbolicLink()) && STALE.test(e.name)) {
        try {
          await rm(p, { force: true });
          removed.push(`${relative(root, p).startsWith('..') ? p : relative(root, p)} (${what})`);
        } catch (err) {
          failed.push(`${p}: ${(err as Error).message}`);
        }
      }
    }
  };
  for (const a of areas) await sweep(a.dir, a.what, a.nested ?? false);
  return { removed, failed };
}
