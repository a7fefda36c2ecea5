/**
 * `veilport audit verify|list|dump`: the access log on the console, for auditors.
 *   verify: exit 0 only if the chain is intact and every signature verifies; one line
 *           per problem and exit 1 otherwise.
 *   list:   entries newest first, filtered.
 *   dump:   the raw records as JSON lines, for independent re-verification.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { VeilportError } from '../../util/errors.js';
import { openStore } from '../../store/store.js';
import { loadOrCreateSigningKey, SIGNING_KEY_FILE } from '../../seal/index.js';
import { ACCESS_ACTIONS, listAccessLog, verifyAccessLog, verifyRecordSeals, type AccessAction } from '../../records/access-log.js';
import { requireOpt } from '../args.js';
import { ANCHOR_KEY, CHECKPOINT_RANGE, HEAD_KEY } from '../../records/access-format.js';

const USAGE = `usage: veilport audit verify --data DIR [--public-key HEX]... [--expect-head LENGTH:HASH]... [--witness FILE] [--json]
       veilport audit list --data DIR [--account ID] [--action ACTION] [--from ISO] [--to ISO] [--limit N] [--before SEQ] [--json]
       veilport audit dump --data DIR

verify   check the access log's hash chain, signed checkpoints and signed head; exit 0
         only if intact. --public-key: trust this appliance key (hex) instead of the one
         in DIR/keys (repeat for keys from before a rotation). --expect-head: a head seen
         elsewhere (MQTT <base>/audit/head) that the chain must pass through.
         --witness: the witness file (default DIR/access-witness.json), the latest
         head kept outside the database: a log behind it was rolled back. Request
         records are checked against their signed seals as well.
list     entries newest first; --from inclusive, --to exclusive; ACTION one of
         ${ACCESS_ACTIONS.join(', ')}
dump     everything verification reads, as JSON lines in storage order (entries, then
         checkpoints, head and anchor), for re-verifying with other tools
         (docs/access-log.md)`;

// Entries are validated on append, but an altered database may hold anything.
const clean = (s: string) => s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');

function dataDir(values: Record<string, unknown>): string {
  const dir = requireOpt(values, 'data');
  if (!existsSync(join(dir, 'db'))) throw new VeilportError('BAD_INPUT', `--data ${dir}: no Veilport database there (${join(dir, 'db')} does not exist)`);
  return dir;
}

async function trustedKeys(dir: string, hexKeys: string[]): Promise<Uint8Array[]> {
  if (hexKeys.length > 0) {
    return hexKeys.map((h) => {
      if (!/^[0-9a-fA-F]{64}$/.test(h)) throw new VeilportError('BAD_INPUT', `--public-key "${h.slice(0, 80)}": expected 64 hex digits (an Ed25519 public key)`);
      return Uint8Array.from(Buffer.from(h, 'hex'));
    });
  }
  const keysDir = join(dir, 'keys');
  // Never create a key here: a new key would make every honest signature look forged.
  if (!existsSync(join(keysDir, SIGNING_KEY_FILE))) throw new VeilportError('BAD_INPUT', `no appliance key in ${keysDir}; pass the appliance's public key with --public-key HEX`);
  return [(await loadOrCreateSigningKey(keysDir)).publicKey];
}

function parseExpectHead(s: string): { length: number; hash: string } {
  const m = /^(\d+):([0-9a-fA-F]{64})$/.exec(s);
  if (!m) throw new VeilportError('BAD_INPUT', `--expect-head "${s.slice(0, 100)}": expected LENGTH:HASH (a seq and 64 hex digits)`);
  return { length: Number(m[1]), hash: m[2]!.toLowerCase() };
}

async function verify(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { data: { type: 'string' }, 'public-key': { type: 'string', multiple: true }, 'expect-head': { type: 'string', multiple: true }, witness: { type: 'string' }, json: { type: 'boolean' } },
    strict: true,
  });
  const dir = dataDir(values);
  const expectHeads = (values['expect-head'] ?? []).map(parseExpectHead);
  const keys = await trustedKeys(dir, values['public-key'] ?? []);
  const store = openStore(dir);
  try {
    const log = verifyAccessLog(store, keys, { expectHeads, ...(values.witness ? { witness: values.witness } : {}) });
    const records = verifyRecordSeals(store, keys);
    const r = { ...log, ok: log.ok && records.ok, notes: [...log.notes, ...records.notes], records };
    if (values.json) {
      process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    } else if (!records.ok) {
      for (const p of log.problems) process.stdout.write(`seq ${p.seq}: ${p.kind}: ${clean(p.message)}\n`);
      for (const p of records.problems) process.stdout.write(`${p.db} ${clean(p.key)}: ${p.kind}: ${clean(p.message)}\n`);
      const n = log.problems.length + records.problems.length;
      process.stderr.write(`veilport: records NOT intact: ${n} problem${n === 1 ? '' : 's'} (${log.problems.length} in ${log.length} access-log entries, ${records.problems.length} in ${records.records} request records)\n`);
    } else if (r.ok) {
      process.stdout.write(`access log intact: ${r.length} entries, head ${r.head}, ${r.checkpoints} signed checkpoints\n`);
      if (r.anchor) process.stdout.write(`  entries 1..${r.anchor.seq} (up to ${r.anchor.entryAt}) were pruned on ${r.anchor.prunedAt}; the chain verifies from the signed anchor\n`);
      if (r.witness) process.stdout.write(`  witness ${r.witness.file}: seq ${r.witness.length} of ${r.witness.at}, on the chain\n`);
      if (records.records > 0) process.stdout.write(`  ${records.records} request records, each matching its signed seal\n`);
    } else {
      for (const p of r.problems) process.stdout.write(`seq ${p.seq}: ${p.kind}: ${clean(p.message)}\n`);
      process.stderr.write(`veilport: access log NOT intact: ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'} in ${r.length} entries\n`);
    }
    if (!values.json) for (const n of r.notes) process.stderr.write(`veilport: note: ${clean(n)}\n`);
    return r.ok ? 0 : 1;
  } finally {
    await store.close();
  }
}

async function list(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      account: { type: 'string' },
      action: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      limit: { type: 'string' },
      before: { type: 'string' },
      json: { type: 'boolean' },
    },
    strict: true,
  });
  const dir = dataDir(values);
  const num = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < 1) throw new VeilportError('BAD_INPUT', `--${name} "${v}": expected a whole number of at least 1`);
    return Number(v);
  };
  if (values.action !== undefined && !(ACCESS_ACTIONS as readonly string[]).includes(values.action)) {
    throw new VeilportError('BAD_INPUT', `--action "${values.action}": expected one of ${ACCESS_ACTIONS.join(', ')}`);
  }
  const store = openStore(dir);
  try {
    const q = {
      ...(values.account !== undefined ? { account: values.account } : {}),
      ...(values.action !== undefined ? { action: values.action as AccessAction } : {}),
      ...(values.from !== undefined ? { from: values.from } : {}),
      ...(values.to !== undefined ? { to: values.to } : {}),
      ...(values.limit !== undefined ? { limit: num('limit', values.limit)! } : {}),
      ...(values.before !== undefined ? { beforeSeq: num('before', values.before)! } : {}),
    };
    const rows = listAccessLog(store, q);
    if (values.json) {
      process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
      return 0;
    }
    for (const e of rows) {
      const detail = e.detail ? `  (${e.detail})` : '';
      process.stdout.write(clean(`${String(e.seq).padStart(7)}  ${e.at}  ${(e.account ?? '-').padEnd(12)}  ${e.ip.padEnd(15)}  ${e.action.padEnd(12)}  ${e.result.padEnd(6)}  ${e.target}${detail}`) + '\n');
    }
    const limit = q.limit ?? 100;
    if (rows.length === limit) process.stdout.write(`(more: --before ${rows[rows.length - 1]!.seq})\n`);
    if (rows.length === 0) process.stdout.write('no entries match\n');
    return 0;
  } finally {
    await store.close();
  }
}

async function dump(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { data: { type: 'string' } }, strict: true });
  const dir = dataDir(values);
  const store = openStore(dir);
  const txn = store.root.useReadTransaction();
  try {
    const line = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');
    for (const { key, value } of store.db('accessLog').getRange({ transaction: txn })) line({ record: 'entry', key, ...(value as object) });
    const cps = store.db('checkpoints');
    for (const { key, value } of cps.getRange({ ...CHECKPOINT_RANGE, transaction: txn })) line({ record: 'checkpoint', key, ...(value as object) });
    const head = cps.get(HEAD_KEY, { transaction: txn });
    if (head !== undefined) line({ record: 'head', ...(head as object) });
    const anchor = cps.get(ANCHOR_KEY, { transaction: txn });
    if (anchor !== undefined) line({ record: 'anchor', ...(anchor as object) });
    return 0;
  } finally {
    txn.done();
    await store.close();
  }
}

export async function auditCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (sub === 'verify') return verify(rest);
  if (sub === 'list') return list(rest);
  if (sub === 'dump') return dump(rest);
  process.stdout.write(USAGE + '\n');
  throw new VeilportError('BAD_INPUT', sub ? `audit: unknown subcommand "${sub}" (verify, list or dump)` : 'audit needs a subcommand: verify, list or dump');
}
