/**
 * Many nodes, one fresh PostgreSQL database (docs/scaling.md): migrations run on one dedicated
 * connection holding an advisory lock, so ten Heralds started at once on an empty, uniquely named
 * database all come up ready and the schema is applied once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';

const SERVER_URL = 'postgres://postgres@127.0.0.1:5432';

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T | undefined> {
  const client = new pg.Client({ connectionString: `${SERVER_URL}/postgres`, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
  } catch {
    return undefined;
  }
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const available = (await admin(async (c) => (await c.query('SELECT 1')).rowCount === 1)) === true;

test('ten nodes started at once on a fresh database all become ready; each migration is applied once', { skip: available ? false : 'PostgreSQL is not running on 127.0.0.1:5432' }, async () => {
  const name = `herald_migrate_${process.pid}_${Date.now()}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const nodes: TestHerald[] = [];
  try {
    const started = await Promise.allSettled(
      Array.from({ length: 10 }, () => startTestHerald({ config: { databaseUrl: `${SERVER_URL}/${name}` } })),
    );
    for (const s of started) if (s.status === 'fulfilled') nodes.push(s.value);
    const failures = started.flatMap((s) => (s.status === 'rejected' ? [String((s.reason as Error).message)] : []));
    assert.deepEqual(failures, [], 'every node started');
    for (const node of nodes) {
      const ready = await fetch(`${node.httpUrl}/ready`);
      assert.equal(ready.status, 200, await ready.text());
    }
    const counts = new pg.Client({ connectionString: `${SERVER_URL}/${name}` });
    await counts.connect();
    try {
      const applied = (await counts.query<{ id: string }>('SELECT id FROM herald_migrations ORDER BY id')).rows.map((r) => r.id);
      assert.ok(applied.length >= 3, `migrations recorded: ${applied.join(', ')}`);
      assert.equal(new Set(applied).size, applied.length);
    } finally {
      await counts.end();
    }
  } finally {
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
    await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  }
});
