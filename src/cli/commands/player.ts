/**
 * `veilport player --out FILE.html`: writes the offline player, one self-contained HTML
 * file (script, style and markup inline; nothing is fetched when it runs). Delivery
 * hands it out beside each package; it plays any package of format version 1.
 */
import { parseArgs } from 'node:util';
import { createHash } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { resolve } from 'node:path';
import { VeilportError } from '../../util/errors.js';
import { requireOpt } from '../args.js';

const HELP = `usage: veilport player --out FILE.html [--trust-key HEX]... [--force] [--json]
  writes the offline player: one HTML file that verifies, decrypts and plays a sealed
  package in a current browser, with no install and no network.
  --trust-key HEX   an appliance's Ed25519 public key (64 hex digits, "publicKey" in
                    "veilport verify --json"); packages signed by any other key are then
                    refused. Without it the player shows the key fingerprint to compare.
  --force           replace an existing FILE`;

export async function playerCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { out: { type: 'string' }, 'trust-key': { type: 'string', multiple: true }, force: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean' } },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const out = resolve(requireOpt(values, 'out'));
  const trustedKeys = (values['trust-key'] ?? []).map((k) => {
    const key = k.trim().toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(key)) throw new VeilportError('BAD_INPUT', `--trust-key "${k}": expected an Ed25519 public key as 64 hex digits`);
    return key;
  });
  const { buildPlayerHtml } = await import('../../player/build.js');
  const html = await buildPlayerHtml({ trustedKeys });
  const bytes = Buffer.from(html, 'utf8');
  const tmp = `${out}.partial`;
  let fh;
  try {
    fh = await open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o644);
  } catch (e) {
    throw new VeilportError('BAD_INPUT', `cannot create ${tmp} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    await fh.writeFile(bytes);
    await fh.sync();
    await fh.close();
    if (!values.force && (await open(out, 'r').then((f) => (f.close(), true), () => false))) {
      throw new VeilportError('BAD_INPUT', `${out} exists; use --force to replace it`);
    }
    await rename(tmp, out);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (values.json) process.stdout.write(JSON.stringify({ ok: true, out, bytes: bytes.length, sha256, trustedKeys }, null, 2) + '\n');
  else {
    process.stdout.write(`player: ${out} (${(bytes.length / 1024).toFixed(0)} KiB, sha256 ${sha256})\n`);
    process.stdout.write(`open it in a browser (no network needed), then choose or drop the .vpkg file\n`);
  }
  return 0;
}
