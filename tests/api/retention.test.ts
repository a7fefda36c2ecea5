/** Retention: records are kept their legal minimum (access log 2 years, role changes 3), then pruned; the log still verifies. */
import t from 'tap';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openCore, retention } from '../../src/daemon/daemon.js';
import { verifyAccessLog } from '../../src/records/access-log.js';
import { testSettings } from './helpers.js';
import { boxDir } from '../helpers/box-dir.js';

t.test('prune after the legal minimum, never before', async (t) => {
  const dir = boxDir('retention');
  mkdirSync(join(dir, 'rec'));
  let offset = 0;
  const clock = () => new Date(Date.now() + offset);
  const core = await openCore(testSettings(dir, join(dir, 'rec')), clock);
  t.teardown(() => core.store.close());
  await core.accounts.create('console', { id: 'kim', displayName: 'kim', role: 'clerk', password: 'Harbour-Lamp-73' });
  for (let i = 0; i < 5; i++) core.log.append({ account: 'kim', ip: '127.0.0.1', action: 'search', target: 'requests', result: 'ok' });
  const year = 365.25 * 86_400_000;

  offset = 1.9 * year;
  await retention(core, clock());
  t.equal(core.log.list({ limit: 100 }).length, 5, 'access log kept before 2 years');
  t.equal(core.accounts.roleChanges().length, 1, 'role grant kept');

  offset = 2.1 * year;
  await retention(core, clock());
  t.equal(core.log.list({ limit: 100 }).length, 0, 'access log pruned after 2 years');
  t.equal(core.accounts.roleChanges().length, 1, 'role grant still kept (3 years)');
  const report = verifyAccessLog(core.store, core.signer.publicKey);
  t.equal(report.ok, true, `log verifies after pruning: ${JSON.stringify(report.problems)}`);
  core.log.append({ account: 'kim', ip: '127.0.0.1', action: 'search', target: 'requests', result: 'ok' });
  t.equal(verifyAccessLog(core.store, core.signer.publicKey).ok, true, 'and after appending past the anchor');

  offset = 3.1 * year;
  await retention(core, clock());
  t.equal(core.accounts.roleChanges().length, 0, 'role grant pruned after 3 years');
});
