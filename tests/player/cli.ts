/**
 * The CLI's verdict on the test vectors: `veilport verify --json`, then `veilport open
 * --extract` with the password (the vectors allow extraction), run in a child process
 * through main() (tests/player/cli-batch.ts). The worked example needs its own clock,
 * which the CLI does not take: for it the reference reader the CLI uses (src/seal) is
 * called with that clock. Not a test file.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openPackage, verifyPackage } from '../../src/seal/index.js';
import type { Vector } from './vectors.js';

const exec = promisify(execFile);

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** Runs veilport commands (argv lists) in one child process. */
export async function runCli(commands: string[][], dir: string): Promise<CliRun[]> {
  const cmds = join(dir, `cli-${process.hrtime.bigint()}.json`);
  const res = `${cmds}.out`;
  await writeFile(cmds, JSON.stringify(commands));
  await exec(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'cli-batch.ts'), cmds, res], { timeout: 300_000 });
  return JSON.parse(await readFile(res, 'utf8')) as CliRun[];
}

export interface Verdict {
  /** null: verified and decrypted; else the error code. */
  code: string | null;
  packageId?: string;
  /** The decrypted video when it opened. */
  video?: Uint8Array;
}

const errorCode = (r: CliRun) => (JSON.parse(r.out) as { error: { code: string } }).error.code;

/** The CLI's verdicts, in the order of `vectors`. */
export async function cliVerdicts(vectors: Vector[], dir: string, trustedKeys: Uint8Array[]): Promise<Verdict[]> {
  const commands: string[][] = [];
  const trust = trustedKeys.flatMap((k) => ['--trust-key', Buffer.from(k).toString('hex')]);
  for (const [i, v] of vectors.entries()) {
    if (v.now) continue;
    await writeFile(join(dir, `pw-${i}.txt`), v.password + '\n');
    commands.push(['verify', v.path, ...trust, '--json'], ['open', v.path, ...trust, '--password-file', join(dir, `pw-${i}.txt`), '--extract', join(dir, `out-${i}.mp4`), '--json']);
  }
  const runs = await runCli(commands, dir);
  const verdicts: Verdict[] = [];
  let k = 0;
  for (const [i, v] of vectors.entries()) {
    if (v.now) {
      // The CLI reads the real clock; its reader, with the vector's clock.
      try {
        const info = await verifyPackage(v.path, { now: v.now, trustedPublicKeys: trustedKeys });
        const parts: Uint8Array[] = [];
        for await (const p of openPackage(v.path, { password: v.password, now: v.now, trustedPublicKeys: trustedKeys })) parts.push(p);
        verdicts.push({ code: null, packageId: info.packageId, video: Buffer.concat(parts) });
      } catch (e) {
        verdicts.push({ code: (e as { code: string }).code });
      }
      continue;
    }
    const verify = runs[k++]!;
    const open = runs[k++]!;
    if (verify.code !== 0) {
      verdicts.push({ code: errorCode(verify) });
      continue;
    }
    const packageId = (JSON.parse(verify.out) as { packageId: string }).packageId;
    if (open.code !== 0) verdicts.push({ code: errorCode(open), packageId });
    else verdicts.push({ code: null, packageId, video: await readFile(join(dir, `out-${i}.mp4`)) });
  }
  return verdicts;
}
