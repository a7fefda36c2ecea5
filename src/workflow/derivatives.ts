/**
 * What a request leaves on the box besides its record: the sealed package, the stored
 * analysis (tracks, per-track face/plate thumbnails), the 640 px review clip in clear
 * (review-cache/) and any half-written copy of it. Destruction removes all of them; this
 * module finds and deletes them and says, in words, what went.
 *
 * An analysis (and its review clip) is keyed by the footage, not by the request: two
 * requests over the same range share it. It is removed with the last request that
 * still needs it; destroying one of them says that it was kept and for whom.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface Inventory {
  /** Files and folders to delete. */
  paths: string[];
  /** What they are, in words, for the ledger. */
  removed: string[];
  /** What stays, and why (shared analysis). */
  kept: string[];
}

const exists = (p: string) => stat(p).then(() => true, () => false);

export function reviewCacheDirOf(dataDir: string): string {
  return join(dataDir, 'review-cache');
}

/**
 * @param analysesDir `<data>/analyses`
 * @param sharedWith requests (not destroyed or rejected) that use the same analysis
 */
export async function inventory(o: { dataDir: string; analysesDir: string; packageFile: string | null; analysisKey: string | null; sharedWith: string[] }): Promise<Inventory> {
  const inv: Inventory = { paths: [], removed: [], kept: [] };
  if (o.packageFile) {
    for (const f of [o.packageFile, `${o.packageFile}.partial`]) if (await exists(f)) inv.paths.push(f);
    inv.removed.push('sealed package on the box');
  }
  if (!o.analysisKey) return inv;
  if (o.sharedWith.length) {
    inv.kept.push(`analysis, thumbnails and review clip kept: request ${o.sharedWith.join(', ')} covers the same footage`);
    return inv;
  }
  const folder = join(o.analysesDir, o.analysisKey);
  if (await exists(folder)) {
    const names = await readdir(folder).catch(() => [] as string[]);
    const thumbs = names.filter((n) => n.endsWith('.png')).length;
    inv.paths.push(folder);
    inv.removed.push(`analysis (tracks) with ${thumbs} track thumbnail(s)`);
  }
  const cache = reviewCacheDirOf(o.dataDir);
  const clips = (await readdir(cache).catch(() => [] as string[])).filter((n) => n.startsWith(`${o.analysisKey}-`));
  if (clips.length) {
    inv.paths.push(...clips.map((n) => join(cache, n)));
    inv.removed.push(clips.some((n) => !n.endsWith('.partial')) ? 'review clip (640 px, clear)' : 'half-written review clip');
  }
  return inv;
}

/** Deletes what `inventory` found. @returns the paths that could not be deleted, with why. */
export async function removeAll(paths: string[]): Promise<string[]> {
  const failed: string[] = [];
  for (const p of paths) {
    try {
      await rm(p, { recursive: true, force: true });
    } catch (e) {
      failed.push(`${p}: ${(e as Error).message}`);
    }
  }
  return failed;
}
