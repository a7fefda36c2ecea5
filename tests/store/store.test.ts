/** The store: one environment, schema version recorded, a newer database refused, writes durable across reopen. */
import t from 'tap';
import { openStore, DATABASES } from '../../src/store/store.js';
import { SCHEMA_VERSION } from '../../src/store/migrations.js';
import { boxDir } from '../helpers/box-dir.js';

t.test('schema version, reopen, newer database refused', async (t) => {
  const dir = boxDir('store');
  const s = openStore(dir);
  t.equal(s.db<number, string>('meta').get('schemaVersion'), SCHEMA_VERSION, 'version recorded');
  s.transaction(() => {
    s.db<string, string>('requests').putSync('r1', 'a');
    s.db<string, string>('accessLog').putSync('1', 'b');
  });
  await s.close();
  const again = openStore(dir);
  t.equal(again.db<string, string>('requests').get('r1'), 'a', 'committed across reopen');
  t.same(DATABASES.length, new Set(DATABASES).size);
  again.db<number, string>('meta').putSync('schemaVersion', SCHEMA_VERSION + 1);
  await again.close();
  t.throws(() => openStore(dir), { code: 'BAD_INPUT', message: new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than this Veilport understands`) });
});

t.test('a transaction that throws leaves nothing behind', async (t) => {
  const s = openStore(boxDir('store'));
  t.teardown(() => s.close());
  t.throws(() =>
    s.transaction(() => {
      s.db<string, string>('requests').putSync('r2', 'x');
      throw new Error('boom');
    }),
  );
  t.equal(s.db<string, string>('requests').get('r2'), undefined, 'rolled back');
});
