/**
 * The embedded store runs PGlite in a worker thread: values and errors must come back exactly as
 * PGlite on the main thread gives them, transactions must stay isolated, close/crash must fail
 * queries clearly (never hang), and the main event loop must stay free during a slow query.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { embeddedWorkerOf, openEmbeddedDatabase, EmbeddedStoreError } from '../../src/storage/embedded.js';
import type { Database } from '../../src/storage/database.js';
import { seedEmbeddedDataDir } from '../../src/apps/data-dir.js';
import { withTimeout } from '../helpers/wait.js';

/** A fresh data directory, seeded from the cached template cluster so opening it skips initdb. */
async function freshDir(t: { after(fn: () => void): void }): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-embedded-worker-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await seedEmbeddedDataDir(dir);
  return dir;
}

async function openFresh(t: { after(fn: () => Promise<void> | void): void }, onCrash?: (err: Error) => void): Promise<Database> {
  const dir = await freshDir(t);
  const db = await openEmbeddedDatabase(dir, { onCrash });
  t.after(() => db.close());
  return db;
}

/** Settles to 'resolved' / 'rejected' / 'pending' without waiting (after the current macrotask). */
async function stateOf(promise: Promise<unknown>): Promise<'resolved' | 'rejected' | 'pending'> {
  const marker = Symbol('pending');
  const outcome = await Promise.race([
    promise.then(
      () => 'resolved' as const,
      () => 'rejected' as const,
    ),
    new Promise<symbol>((resolve) => setImmediate(() => resolve(marker))),
  ]);
  return outcome === marker ? 'pending' : (outcome as 'resolved' | 'rejected');
}

const SLOW_QUERY = 'SELECT sum(x)::bigint AS total FROM generate_series(1, 3000000) AS x';

const TYPES_TABLE = `CREATE TABLE typed (
  id INT PRIMARY KEY, at TIMESTAMPTZ, big BIGINT, doc JSONB, raw BYTEA, flag BOOLEAN, amount NUMERIC,
  tags TEXT[], day DATE, ratio FLOAT8, note TEXT, plain JSON)`;
const TYPES_INSERT = 'INSERT INTO typed VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)';
const TYPES_ROWS: unknown[][] = [
  [1, new Date('2024-05-06T07:08:09.123Z'), 9007199254740993n, { nested: [1, 'two', null, { deep: true }] }, new Uint8Array([0, 1, 254, 255]), true, '12345.678900', ['a', 'b c', 'é'], '2024-02-29', 1.5, 'text', { plain: 1 }],
  [2, new Date(0), 42n, [], new Uint8Array([]), false, '-0.5', [], '1999-12-31', -0.25, '', null],
  [3, null, null, null, null, null, null, null, null, null, null, null],
];

test('values round-trip through the worker exactly as PGlite on the main thread returns them', async (t) => {
  const db = await openFresh(t);
  const direct = await PGlite.create(await freshDir(t));
  t.after(() => direct.close());
  await db.query(TYPES_TABLE);
  await direct.query(TYPES_TABLE);
  for (const row of TYPES_ROWS) {
    await db.query(TYPES_INSERT, row);
    await direct.query(TYPES_INSERT, row);
  }
  const select = 'SELECT *, big + 1 AS big_plus, 7::bigint AS small_big, now() - now() AS span FROM typed ORDER BY id';
  const viaWorker = await db.query<Record<string, unknown>>(select);
  const onMain = (await direct.query<Record<string, unknown>>(select)).rows;
  assert.deepStrictEqual(viaWorker, onMain);
  // Spot checks, so a change in PGlite's parsing shows up here and not in a capability's test.
  const [first] = viaWorker;
  assert.ok(first, 'the typed rows come back');
  assert.ok(first.at instanceof Date);
  assert.equal(typeof first.big, 'bigint');
  assert.ok(first.raw instanceof Uint8Array);
  assert.deepEqual(first.doc, { nested: [1, 'two', null, { deep: true }] });
  assert.deepEqual(first.tags, ['a', 'b c', 'é']);
  // Buffer parameters (a Uint8Array subclass) arrive as plain bytes.
  const [echo] = await db.query<{ raw: Uint8Array }>('SELECT $1::bytea AS raw', [Buffer.from('hi')]);
  assert.ok(echo, 'one row');
  assert.deepEqual([...echo.raw], [104, 105]);
});

test('the in-memory mode (dataDir null) works', async () => {
  const db = await openEmbeddedDatabase(null);
  try {
    await db.query('CREATE TABLE t (x INT)');
    await db.query('INSERT INTO t VALUES ($1)', [5]);
    assert.deepEqual(await db.query('SELECT x FROM t'), [{ x: 5 }]);
  } finally {
    await db.close();
  }
});

test('the store starts with small shared buffers (not the 128MB PostgreSQL default, all of it resident)', async (t) => {
  const db = await openFresh(t);
  assert.deepEqual(await db.query('SHOW shared_buffers'), [{ shared_buffers: '4MB' }]);
});

test('transaction commits, and rolls back (rethrowing the same error) when fn throws', async (t) => {
  const db = await openFresh(t);
  await db.query('CREATE TABLE items (name TEXT PRIMARY KEY)');
  const result = await db.transaction(async (tx) => {
    await tx.query('INSERT INTO items VALUES ($1)', ['kept']);
    return (await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM items'))[0]?.n;
  });
  assert.equal(result, 1);
  const boom = new Error('boom');
  await assert.rejects(
    db.transaction(async (tx) => {
      await tx.query('INSERT INTO items VALUES ($1)', ['dropped']);
      throw boom;
    }),
    (err) => err === boom,
  );
  // A failed statement inside the transaction rolls back everything before it too.
  await assert.rejects(
    db.transaction(async (tx) => {
      await tx.query('INSERT INTO items VALUES ($1)', ['also dropped']);
      await tx.query('INSERT INTO items VALUES ($1)', ['kept']);
    }),
    { code: '23505' },
  );
  assert.deepEqual(await db.query('SELECT name FROM items ORDER BY name'), [{ name: 'kept' }]);
  // Not left inside an aborted transaction: ordinary queries work.
  assert.deepEqual(await db.query('SELECT 1 AS one'), [{ one: 1 }]);
});

test('queries from outside wait until an open transaction ends (never interleave into it)', async (t) => {
  const db = await openFresh(t);
  await db.query('CREATE TABLE counter (n INT)');
  let outside: Promise<Array<{ n: number }>> | undefined;
  let outsideWrite: Promise<unknown> | undefined;
  await db.transaction(async (tx) => {
    await tx.query('INSERT INTO counter VALUES (1)');
    outside = db.query<{ n: number }>('SELECT count(*)::int AS n FROM counter');
    outsideWrite = db.query('INSERT INTO counter VALUES (100)');
    // Several round trips to the worker: an interleaved query would have had its chance to run.
    for (let i = 2; i <= 5; i++) {
      await tx.query('INSERT INTO counter VALUES ($1)', [i]);
      assert.equal(await stateOf(outside), 'pending');
    }
    // Inside the transaction, the outside write is not visible: it has not run.
    assert.deepEqual(await tx.query('SELECT count(*)::int AS n FROM counter'), [{ n: 5 }]);
  });
  assert.deepEqual(await outside, [{ n: 5 }]);
  await outsideWrite;
  assert.deepEqual(await db.query('SELECT count(*)::int AS n FROM counter'), [{ n: 6 }]);
  // And a straggling tx.query after the transaction ended is refused rather than run unprotected.
  let leaked: Pick<Database, 'query'> | undefined;
  await db.transaction(async (tx) => {
    leaked = tx;
  });
  await assert.rejects(leaked!.query('SELECT 1'), /transaction that has already ended/);
});

test('PGlite errors reach the caller as Errors with the same message, code and fields', async (t) => {
  const db = await openFresh(t);
  const direct = await PGlite.create(await freshDir(t));
  t.after(() => direct.close());
  for (const target of [db, direct]) {
    await target.query('CREATE TABLE uniq (k TEXT PRIMARY KEY)');
    await target.query("INSERT INTO uniq VALUES ('a')");
  }
  const directError = await direct.query("INSERT INTO uniq VALUES ('a')").catch((err: Error & Record<string, unknown>) => err);
  const workerError = await db.query("INSERT INTO uniq VALUES ('a')").catch((err: Error & Record<string, unknown>) => err);
  assert.ok(workerError instanceof Error);
  assert.equal(workerError.code, '23505');
  for (const field of ['message', 'name', 'code', 'detail', 'constraint', 'table', 'severity']) {
    assert.equal(workerError[field], (directError as Record<string, unknown>)[field], field);
  }
  await assert.rejects(db.query('SELECT * FROM no_such_table'), { code: '42P01', message: 'relation "no_such_table" does not exist' });
  await assert.rejects(db.query('SELECT 1/0'), { code: '22012' });
  // A parameter structured clone cannot carry fails that query only, with a clear message.
  await assert.rejects(db.query('SELECT $1::text', [() => 1]), /cannot send the query parameters/);
  assert.deepEqual(await db.query('SELECT 2 AS two'), [{ two: 2 }]);
});

test('close() lets the running query finish, rejects waiting ones, and later queries fail clearly', async (t) => {
  const dir = await freshDir(t);
  const db = await openEmbeddedDatabase(dir);
  const running = db.query<{ total: bigint | number }>(SLOW_QUERY);
  const waiting = Promise.allSettled([db.query('SELECT 1'), db.transaction(async (tx) => tx.query('SELECT 2'))]);
  await withTimeout(db.close(), 60_000, 'close');
  assert.equal(Number((await running)[0]?.total), 4500001500000);
  for (const result of await waiting) {
    assert.equal(result.status, 'rejected');
    assert.ok((result as PromiseRejectedResult).reason instanceof EmbeddedStoreError);
    assert.equal((result as PromiseRejectedResult).reason.code, 'EMBEDDED_STORE_CLOSED');
  }
  await assert.rejects(db.query('SELECT 1'), { code: 'EMBEDDED_STORE_CLOSED', message: /closed/ });
  await db.close(); // idempotent
});

test('a worker that dies rejects pending and later queries, reports the crash, and frees the directory', async (t) => {
  const dir = await freshDir(t);
  const crashes: Error[] = [];
  const db = await openEmbeddedDatabase(dir, { onCrash: (err) => crashes.push(err) });
  await db.query('CREATE TABLE survived (x INT)');
  const pending = db.query(SLOW_QUERY);
  const queued = db.query('SELECT 1');
  // Simulates a WASM abort: the thread ends without close().
  await embeddedWorkerOf(db)!.thread.terminate();
  await assert.rejects(withTimeout(pending, 10_000, 'pending query'), { code: 'EMBEDDED_STORE_CRASHED', message: /stopped unexpectedly/ });
  await assert.rejects(withTimeout(queued, 10_000, 'queued query'), { code: 'EMBEDDED_STORE_CRASHED' });
  await assert.rejects(db.query('SELECT 1'), { code: 'EMBEDDED_STORE_CRASHED' });
  await assert.rejects(db.transaction(async () => undefined), { code: 'EMBEDDED_STORE_CRASHED' });
  assert.equal(crashes.length, 1);
  await db.close(); // still safe after a crash
  const reopened = await openEmbeddedDatabase(dir);
  t.after(() => reopened.close());
  assert.deepEqual(await reopened.query('SELECT count(*)::int AS n FROM survived'), [{ n: 0 }]);
});

test('data persists across close and reopen; one directory is never open twice in a process', async (t) => {
  const dir = await freshDir(t);
  const first = await openEmbeddedDatabase(dir);
  await first.query('CREATE TABLE kept (v JSONB)');
  await first.transaction((tx) => tx.query('INSERT INTO kept VALUES ($1)', [{ hello: 'world' }]));
  await assert.rejects(openEmbeddedDatabase(dir), /already open in this process/);
  await first.close();
  const second = await openEmbeddedDatabase(dir);
  t.after(() => second.close());
  assert.deepEqual(await second.query('SELECT v FROM kept'), [{ v: { hello: 'world' } }]);
});

test('the main event loop keeps running while a slow query runs in the worker', async (t) => {
  const db = await openFresh(t);
  const order: string[] = [];
  const slow = db.query(SLOW_QUERY).then(() => order.push('query resolved'));
  const immediate = new Promise<void>((resolve) =>
    setImmediate(() => {
      order.push('setImmediate ran');
      resolve();
    }),
  );
  await withTimeout(Promise.all([slow, immediate]), 60_000, 'slow query');
  assert.deepEqual(order, ['setImmediate ran', 'query resolved']);
});
