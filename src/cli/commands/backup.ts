/**
 * `veilport backup` and `veilport restore`: the whole store and the data key in one
 * encrypted file signed by the appliance (docs/backup.md). The signer fingerprint
 * printed by `backup` is what a replacement box passes to `restore --trust-key`.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { VeilportError } from '../../util/errors.js';
import { loadOrCreateSigningKey, publicKeyFingerprint, SIGNING_KEY_FILE } from '../../seal/signing-key.js';
import { openStore } from '../../store/store.js';
import { restoreBackup, writeBackup } from '../../store/backup.js';
import { readPasswordFile, requireOpt } from '../args.js';

const BACKUP_HELP = `usage: veilport backup --data DIR --out FILE --password-file F [--json]

Writes every record of the store in DIR and its data key to FILE, encrypted under the
password and signed by this appliance. Safe while the service runs (one snapshot).`;

const RESTORE_HELP = `usage: veilport restore --data DIR --in FILE --password-file F [--trust-key FINGERPRINT] [--force] [--json]

Stop the Veilport service first. Restores FILE into DIR, replacing its store and data key.
  --trust-key FINGERPRINT  accept a backup signed by that key (a replaced box: the
                           fingerprint "veilport backup" printed on the old box)
  --force                  replace a store that already holds records`;

const fmt = (n: number) => n.toLocaleString('en-US');

export async function backupCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { data: { type: 'string' }, out: { type: 'string' }, 'password-file': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(BACKUP_HELP + '\n');
    return 0;
  }
  const dataDir = resolve(requireOpt(values, 'data'));
  const out = resolve(requireOpt(values, 'out'));
  const password = readPasswordFile(requireOpt(values, 'password-file'));
  if (!existsSync(join(dataDir, 'db'))) throw new VeilportError('NOT_FOUND', `--data ${dataDir}: no store there (expected ${join(dataDir, 'db')})`);
  const keysDir = join(dataDir, 'keys');
  // Never mint a new identity here: a backup signed by a key nobody has seen is useless to check.
  if (!existsSync(join(keysDir, SIGNING_KEY_FILE))) throw new VeilportError('KEY_ERROR', `no appliance key at ${join(keysDir, SIGNING_KEY_FILE)}; this box is not provisioned`);
  const signer = await loadOrCreateSigningKey(keysDir);
  const store = openStore(dataDir);
  let r;
  try {
    r = await writeBackup(store, { out, password, signer, keysDir });
  } finally {
    await store.close();
  }
  const fingerprint = publicKeyFingerprint(signer.publicKey);
  if (values.json) {
    process.stdout.write(JSON.stringify({ ok: true, file: out, bytes: r.bytes, sha256: r.sha256, records: r.records, applianceId: signer.applianceId, fingerprint }, null, 2) + '\n');
  } else {
    process.stdout.write(
      `backup written: ${out}\n` +
        `  ${fmt(r.bytes)} bytes, ${fmt(r.records)} records\n` +
        `  sha256 ${r.sha256}\n` +
        `  signed by appliance ${signer.applianceId}, key fingerprint ${fingerprint}\n` +
        `Keep the fingerprint apart from the backup (on paper, in the asset register). A box that\n` +
        `replaces this one restores the backup with:\n` +
        `  veilport restore --data DIR --in ${out} --password-file F --trust-key ${fingerprint}\n`,
    );
  }
  return 0;
}

export async function restoreCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      in: { type: 'string' },
      'password-file': { type: 'string' },
      'trust-key': { type: 'string' },
      force: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(RESTORE_HELP + '\n');
    return 0;
  }
  const dataDir = resolve(requireOpt(values, 'data'));
  const file = resolve(requireOpt(values, 'in'));
  const password = readPasswordFile(requireOpt(values, 'password-file'));
  const r = await restoreBackup({
    file,
    password,
    dataDir,
    force: values.force === true,
    ...(values['trust-key'] !== undefined ? { trustedFingerprint: values['trust-key'] } : {}),
  });
  if (values.json) {
    process.stdout.write(JSON.stringify({ ok: true, file, dataDir, ...r }, null, 2) + '\n');
  } else {
    const checked = {
      'trusted-key': 'matches --trust-key',
      'box-key': "matches this box's own key",
      unchecked: 'NOT checked: this box has no key yet and no --trust-key was given; compare it with the fingerprint printed when the backup was made',
    }[r.signerCheck];
    process.stdout.write(
      `restored ${file} into ${dataDir}\n` +
        `  ${fmt(r.records)} records, schema version ${r.schemaVersion}\n` +
        `  signed by appliance ${r.applianceId}, key fingerprint ${r.fingerprint} (${checked})\n`,
    );
  }
  return 0;
}
