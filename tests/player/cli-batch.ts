/**
 * Runs several veilport commands in one child process (no test harness writing to the
 * same stdout) and writes each one's exit code and output to a JSON file.
 * Usage: node --import tsx tests/player/cli-batch.ts COMMANDS.json RESULTS.json
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { main } from '../../src/cli/main.js';

const [commandsFile, resultsFile] = process.argv.slice(2) as [string, string];
const commands = JSON.parse(readFileSync(commandsFile, 'utf8')) as string[][];
const results: { code: number; out: string; err: string }[] = [];
const ow = process.stdout.write.bind(process.stdout);
const ew = process.stderr.write.bind(process.stderr);
for (const argv of commands) {
  const out: string[] = [];
  const err: string[] = [];
  process.stdout.write = ((s: string) => (out.push(String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
  try {
    const code = await main(argv);
    results.push({ code, out: out.join(''), err: err.join('') });
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
}
writeFileSync(resultsFile, JSON.stringify(results));
