/**
 * A working directory for a test whose box (daemon, store, broker) is closed in a
 * teardown. tap removes a `t.testdir()` at the end of the test, before teardowns run,
 * while the box may still be writing (the access log's witness, LMDB, the outbox): the
 * removal then fails with ENOTEMPTY, the teardown that closes the box never runs, and
 * the test file hangs until tap's timeout. This directory is removed when the process
 * exits, after every teardown.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];
process.once('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

export function boxDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `veilport-${name}-`));
  made.push(dir);
  return dir;
}
