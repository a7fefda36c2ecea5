/** The options by which verify and open learn which appliance keys to trust. */
import { resolve } from 'node:path';
import { loadTrust, type TrustList } from '../seal/index.js';
import { DEFAULT_FLEET_TRUST_FILE } from '../seal/trust.js';
import { VeilportError } from '../util/errors.js';

export const TRUST_OPTIONS = {
  data: { type: 'string' },
  'trust-key': { type: 'string', multiple: true },
  'trust-file': { type: 'string' },
} as const;

export const TRUST_USAGE = `Trusted appliance keys (a package signed by any other key is refused):
  this box's own key  from --data DIR (default $VEILPORT_DATA or /var/lib/veilport)
  --trust-key HEX     an appliance's Ed25519 public key (64 hex digits), or a file
                      holding one (or a trust file); repeat for several
  --trust-file FILE   the fleet trust file from central IT (default
                      $VEILPORT_TRUST_FILE or ${DEFAULT_FLEET_TRUST_FILE}, used when present;
                      format in docs/package-format.md §10)`;

export async function trustFromArgs(values: { data?: string | undefined; 'trust-key'?: string[] | undefined; 'trust-file'?: string | undefined }): Promise<TrustList> {
  if (values.data === '') throw new VeilportError('BAD_INPUT', '--data needs a folder');
  if (values['trust-file'] === '') throw new VeilportError('BAD_INPUT', '--trust-file needs a file');
  return loadTrust({
    ...(values.data !== undefined ? { dataDir: resolve(values.data) } : {}),
    trustKeys: values['trust-key'] ?? [],
    ...(values['trust-file'] !== undefined ? { trustFile: resolve(values['trust-file']) } : {}),
  });
}
