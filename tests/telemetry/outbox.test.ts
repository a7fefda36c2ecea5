/**
 * The durable outbox on its own (no broker): order, sequence numbers that keep
 * increasing across a reopen, the bound with its drop count, messages handed back by
 * the client going out again in order, rollback with a caller's transaction, and how
 * fast it writes.
 */
import t from 'tap';
import { join } from 'node:path';
import { openStore } from '../../src/store/store.js';
import { Outbox } from '../../src/telemetry/outbox.js';
import { boxDir } from '../helpers/box-dir.js';

const dir = boxDir('outbox');

t.test('order, acks and sequence numbers across a reopen', async (t) => {
  const data = join(dir, 'a');
  let store = openStore(data);
  let box = new Outbox(store, 100);
  for (let i = 1; i <= 5; i++) t.equal(box.add('events', (seq) => ({ seq, i })), i);
  t.equal(box.waiting, 5);
  const first = box.take(2);
  t.same(first.map((m) => JSON.parse(m.payload).i), [1, 2], 'oldest first');
  t.equal(box.inFlight, 2);
  await box.ack(1);
  await box.flushed();
  await store.close();

  store = openStore(data);
  box = new Outbox(store, 100);
  t.equal(box.waiting, 4, 'after a restart: everything not acknowledged is waiting again (2 was in flight)');
  t.same(box.take(10).map((m) => m.seq), [2, 3, 4, 5], 'in order');
  t.equal(box.add('events', (seq) => ({ seq })), 6, 'numbers keep increasing');
  for (const s of [2, 3, 4, 5, 6]) await box.ack(s);
  await box.flushed();
  await store.close();

  store = openStore(data);
  box = new Outbox(store, 100);
  t.equal(box.waiting, 0, 'empty');
  t.equal(box.add('events', (seq) => ({ seq })), 7, 'an emptied outbox still does not reuse numbers');
  await store.close();
});

t.test('bound: the oldest waiting messages go and are counted', async (t) => {
  const store = openStore(join(dir, 'b'));
  t.teardown(() => store.close());
  let told = 0;
  const box = new Outbox(store, 10, (n) => (told += n));
  const inFlight = box.add('events', (seq) => ({ seq }));
  box.take(1); // handed to the client: not a candidate for dropping
  for (let i = 0; i < 24; i++) box.add('events', (seq) => ({ seq }));
  t.equal(box.waiting, 10, 'at most 10 waiting');
  t.equal(told, 14, 'told of every drop');
  t.same(box.dropped(), { count: 14, firstSeq: 2, lastSeq: 15, since: box.dropped()!.since }, 'count and seq range kept');
  const rest = box.take(100).map((m) => m.seq);
  t.same(rest, [16, 17, 18, 19, 20, 21, 22, 23, 24, 25], 'the newest 10 remain, in order');
  await box.ack(inFlight);
  const info = box.dropped()!;
  box.add('events', (seq) => ({ seq }));
  box.clearDropped(info);
  t.equal(box.dropped(), undefined, 'cleared once reported');
});

t.test('a message the client gave back goes out again, in order', async (t) => {
  const store = openStore(join(dir, 'c'));
  t.teardown(() => store.close());
  const box = new Outbox(store, 100);
  for (let i = 0; i < 6; i++) box.add('events', (seq) => ({ seq }));
  t.same(box.take(4).map((m) => m.seq), [1, 2, 3, 4]);
  await box.ack(1);
  box.unsent(3);
  box.unsent(2);
  t.same(box.take(10).map((m) => m.seq), [2, 3, 4, 5, 6], 'resent from the oldest one given back');
});

t.test('inside a caller transaction that fails, the message goes too', async (t) => {
  const store = openStore(join(dir, 'd'));
  t.teardown(() => store.close());
  const box = new Outbox(store, 100);
  t.throws(() =>
    store.transaction(() => {
      box.add('events', (seq) => ({ seq }));
      throw new Error('the workflow step failed');
    }),
  );
  const fresh = new Outbox(store, 100);
  t.equal(fresh.waiting, 0, 'nothing was committed');
  t.same(box.take(10), [], 'and nothing is sent');
  t.equal(box.waiting, 0, 'the count corrects itself');
});

t.test('figures: durable writes per second', async (t) => {
  const store = openStore(join(dir, 'e'));
  t.teardown(() => store.close());
  const box = new Outbox(store, 100_000);
  const n = 500;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) box.add('events', (seq) => ({ seq, type: 'request', requestId: '20260301-001', from: 'registered', to: 'received', at: new Date().toISOString() }));
  const ms = performance.now() - t0;
  t.comment(`outbox: ${n} durable adds in ${ms.toFixed(0)} ms = ${Math.round((n / ms) * 1000)} messages/s (${((ms / n) * 1000).toFixed(0)} µs each, fsync per message)`);
  t.ok(n / ms > 0.05, 'at least 50 durable messages per second');
});
