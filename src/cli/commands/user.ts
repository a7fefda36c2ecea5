/**
 * `veilport user ...`: accounts on the appliance console, without the server. Physical
 * presence at the box is the trust anchor, so these act as `console` (recorded as such
 * in the role-change history): add an account, list them, lift a lockout, or set a
 * temporary password (recovery when no admin can sign in).
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { VeilportError } from '../../util/errors.js';
import { readPasswordFile, requireOpt } from '../args.js';
import { openStore } from '../../store/store.js';
import { loadOrCreateDataKey } from '../../store/data-key.js';
import { AccountService, CONSOLE, type AccountView } from '../../auth/accounts.js';
import { DEFAULT_AUTH_SETTINGS } from '../../auth/settings.js';
import { ROLES, type Role } from '../../workflow/types.js';

const USAGE = `usage:
  veilport user add --data DIR --user ID --role ROLE --password-file F [--name "Display Name"] [--phone P] [--birth-date YYYY-MM-DD] [--allowed-ip CIDR ...] [--json]
  veilport user list --data DIR [--json]
  veilport user unlock --data DIR --user ID [--json]
  veilport user reset-password --data DIR --user ID --password-file F [--json]

roles: ${ROLES.join(', ')}
The password is read from the first line of F (never from the command line); a new
account and a reset password must be changed at the first sign-in.
`;

async function withService<T>(dataDir: string, fn: (s: AccountService) => Promise<T> | T): Promise<T> {
  const dataKey = await loadOrCreateDataKey(join(dataDir, 'keys'));
  const store = openStore(dataDir);
  try {
    return await fn(new AccountService(store, dataKey, DEFAULT_AUTH_SETTINGS));
  } finally {
    await store.close();
  }
}

function line(a: AccountView): string {
  const state = [a.disabled ? 'disabled' : 'enabled', a.lockedUntil ? `locked until ${a.lockedUntil}` : '', a.mustChangePassword ? 'must change password' : ''].filter(Boolean).join(', ');
  return `${a.id.padEnd(20)} ${a.role.padEnd(9)} ${a.displayName}  [${state}]${a.allowedIps.length ? ` from ${a.allowedIps.join(' ')}` : ''}`;
}

export async function userCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      user: { type: 'string' },
      role: { type: 'string' },
      'password-file': { type: 'string' },
      name: { type: 'string' },
      phone: { type: 'string' },
      'birth-date': { type: 'string' },
      'allowed-ip': { type: 'string', multiple: true },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
    allowPositionals: true,
    strict: true,
  });
  const sub = positionals[0];
  if (values.help || !sub) {
    process.stdout.write(USAGE);
    if (values.help) return 0;
    throw new VeilportError('BAD_INPUT', 'user needs a subcommand: add, list, unlock or reset-password');
  }
  if (positionals.length > 1) throw new VeilportError('BAD_INPUT', `user ${sub}: unexpected argument "${positionals[1]}"`);
  const dataDir = requireOpt(values, 'data');
  const print = (a: AccountView, text: string) => process.stdout.write(values.json ? JSON.stringify(a, null, 2) + '\n' : text + '\n');

  switch (sub) {
    case 'add': {
      const id = requireOpt(values, 'user');
      const role = requireOpt(values, 'role');
      if (!(ROLES as readonly string[]).includes(role)) throw new VeilportError('BAD_INPUT', `--role "${role}": expected one of ${ROLES.join(', ')}`);
      const password = readPasswordFile(requireOpt(values, 'password-file'));
      const a = await withService(dataDir, (s) =>
        s.create(CONSOLE, {
          id,
          displayName: values.name ?? id,
          role: role as Role,
          password,
          ...(values.phone ? { phone: values.phone } : {}),
          ...(values['birth-date'] ? { birthDate: values['birth-date'] } : {}),
          ...(values['allowed-ip'] ? { allowedIps: values['allowed-ip'] } : {}),
        }),
      );
      print(a, `created account ${a.id} (${a.role}); the password must be changed at the first sign-in`);
      return 0;
    }
    case 'list': {
      const list = await withService(dataDir, (s) => s.list());
      if (values.json) process.stdout.write(JSON.stringify(list, null, 2) + '\n');
      else process.stdout.write(list.length ? list.map(line).join('\n') + '\n' : 'no accounts\n');
      return 0;
    }
    case 'unlock': {
      const id = requireOpt(values, 'user');
      const a = await withService(dataDir, (s) => s.unlock(CONSOLE, id));
      print(a, `unlocked ${a.id}`);
      return 0;
    }
    case 'reset-password': {
      const id = requireOpt(values, 'user');
      const password = readPasswordFile(requireOpt(values, 'password-file'));
      const a = await withService(dataDir, (s) => s.resetPassword(CONSOLE, id, password));
      print(a, `set a temporary password for ${a.id}; it must be changed at the next sign-in (lockout cleared, sessions ended)`);
      return 0;
    }
    default:
      throw new VeilportError('BAD_INPUT', `unknown user subcommand "${sub}": expected add, list, unlock or reset-password`);
  }
}
