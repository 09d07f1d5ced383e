/** Workers reach the primary's embedded store through the Database seam: statements, transactions, a dead worker's transaction. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Database } from '../../src/storage/database.js';
import { openEmbeddedDatabase } from '../../src/storage/embedded.js';
import { IpcPeer, type IpcEndpoint } from '../../src/platform/ipc.js';
import { DatabaseHost, remoteDatabase } from '../../src/workers/remote-database.js';

function channel(): [IpcEndpoint, IpcEndpoint] {
  const a = new EventEmitter() as IpcEndpoint & EventEmitter;
  const b = new EventEmitter() as IpcEndpoint & EventEmitter;
  a.send = (m) => (setImmediate(() => b.emit('message', structuredClone(m))), true);
  b.send = (m) => (setImmediate(() => a.emit('message', structuredClone(m))), true);
  return [a, b];
}

let store: Database;
let host: DatabaseHost;
const workers: Database[] = [];

before(async () => {
  store = await openEmbeddedDatabase(null); // in memory
  await store.query('CREATE TABLE t (id int PRIMARY KEY, at timestamptz)');
  host = new DatabaseHost(async () => store);
  for (const name of ['w1', 'w2']) {
    const [primarySide, workerSide] = channel();
    host.serve(new IpcPeer(primarySide), name);
    workers.push(remoteDatabase(new IpcPeer(workerSide)));
  }
});
after(() => store.close());

test('a worker runs statements on the primary store; rows keep their types', async () => {
  await workers[0]!.query('INSERT INTO t VALUES ($1, $2)', [1, new Date(0)]);
  const rows = await workers[1]!.query<{ id: number; at: Date }>('SELECT id, at FROM t WHERE id = 1');
  assert.equal(rows[0]!.id, 1);
  assert.ok(rows[0]!.at instanceof Date && rows[0]!.at.getTime() === 0);
  await assert.rejects(workers[1]!.query('INSERT INTO t VALUES (1, now())'), { code: '23505' });
});

test('a transaction commits, or rolls back when its function throws', async () => {
  await workers[0]!.transaction(async (tx) => {
    await tx.query('INSERT INTO t VALUES (2, now())');
    await tx.query('INSERT INTO t VALUES (3, now())');
  });
  await assert.rejects(
    workers[1]!.transaction(async (tx) => {
      await tx.query('INSERT INTO t VALUES (4, now())');
      throw new Error('changed my mind');
    }),
    /changed my mind/,
  );
  const ids = (await store.query<{ id: number }>('SELECT id FROM t ORDER BY id')).map((r) => r.id);
  assert.deepEqual(ids, [1, 2, 3]);
});

test("a dead worker's open transaction is rolled back and the store is free again", async () => {
  const [primarySide, workerSide] = channel();
  host.serve(new IpcPeer(primarySide), 'doomed');
  const doomed = remoteDatabase(new IpcPeer(workerSide));
  let inside: () => void = () => undefined;
  const entered = new Promise<void>((resolve) => (inside = resolve));
  void doomed
    .transaction(async (tx) => {
      await tx.query('INSERT INTO t VALUES (9, now())');
      inside();
      await new Promise(() => undefined); // the worker dies here
    })
    .catch(() => undefined);
  await entered;
  host.release('doomed');
  const rows = await workers[0]!.query<{ n: number }>('SELECT count(*)::int AS n FROM t WHERE id = 9');
  assert.equal(rows[0]!.n, 0);
});
