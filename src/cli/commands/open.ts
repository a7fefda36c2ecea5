/**
 * `veilport open FILE --password-file F`: verifies the whole package first, then
 * decrypts in memory and plays it through GStreamer when a display exists. `--extract`
 * writes the clear video only when the package was made with --allow-extract.
 */
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { open as openFile, rename, unlink } from 'node:fs/promises';
import { VeilportError } from '../../util/errors.js';
import { assertExtractAllowed, openPackage, verifyPackage } from '../../seal/index.js';
import { readPasswordFile, requireOpt } from '../args.js';
import { TRUST_OPTIONS, TRUST_USAGE, trustFromArgs } from '../trust-args.js';

export async function openCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...TRUST_OPTIONS, 'password-file': { type: 'string' }, extract: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help || positionals.length !== 1) {
    process.stdout.write(`usage: veilport open FILE --password-file F [--extract OUT.mp4] [--data DIR] [--trust-key HEX|FILE]... [--trust-file FILE]\n\n${TRUST_USAGE}\n`);
    if (values.help) return 0;
    throw new VeilportError('BAD_INPUT', 'open needs exactly one package file');
  }
  const file = positionals[0]!;
  const passwordFile = requireOpt(values, 'password-file');
  const trust = await trustFromArgs(values);
  // Authentic, trusted and unexpired before anything else: nothing is written for a forged package.
  const verified = await verifyPackage(file, { trust });
  const password = readPasswordFile(passwordFile);
  if (values.extract) {
    assertExtractAllowed(verified.manifest);
    const out = values.extract;
    const tmp = `${out}.partial`;
    const fh = await openFile(tmp, 'wx', 0o600);
    try {
      for await (const chunk of openPackage(file, { password, trust })) await fh.write(chunk);
      await fh.sync();
      await fh.close();
      await rename(tmp, out);
    } catch (e) {
      await fh.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    process.stdout.write(`extracted: ${out}\n`);
    return 0;
  }
  if (!process.env['DISPLAY'] && !process.env['WAYLAND_DISPLAY']) {
    throw new VeilportError('BAD_INPUT', 'no display to play on (DISPLAY/WAYLAND_DISPLAY unset); use the offline player, or --extract where the package allows it');
  }
  // The clear video goes from memory into the player's stdin, never to a file.
  const player = spawn('gst-launch-1.0', ['-q', 'fdsrc', 'fd=0', '!', 'qtdemux', '!', 'h264parse', '!', 'avdec_h264', '!', 'videoconvert', '!', 'autovideosink'], { stdio: ['pipe', 'inherit', 'inherit'] });
  player.stdin.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => player.on('close', (code) => resolve(code ?? 1)));
  for await (const chunk of openPackage(file, { password, trust })) {
    if (!player.stdin.write(chunk)) await new Promise((r) => player.stdin.once('drain', r));
  }
  player.stdin.end();
  return (await closed) === 0 ? 0 : 1;
}
