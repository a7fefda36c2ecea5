/**
 * One bootstrap token per boot on the console. First-boot setup issues the token and
 * prints it, then records this boot's id in the data directory; the daemon, which would
 * otherwise issue a fresh token on every start, leaves that one valid for the rest of
 * this boot (a restart by the watchdog does not silently replace a token the installer
 * is typing in). The next boot issues and prints a new one as before.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const TOKEN_BOOT_FILE = '.bootstrap-token-boot';

/** The kernel's id of this boot, or null where there is none (not Linux). */
export function bootId(): string | null {
  try {
    const id = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return id || null;
  } catch {
    return null;
  }
}

export function markBootstrapTokenShown(dataDir: string, id = bootId()): void {
  if (id) writeFileSync(join(dataDir, TOKEN_BOOT_FILE), id + '\n', { mode: 0o600 });
}

/** Whether first-boot setup already printed a token during this boot. */
export function bootstrapTokenShownThisBoot(dataDir: string, id = bootId()): boolean {
  if (!id) return false;
  try {
    return readFileSync(join(dataDir, TOKEN_BOOT_FILE), 'utf8').trim() === id;
  } catch {
    return false;
  }
}
