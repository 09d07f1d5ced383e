/** Embedded store: PGlite (PostgreSQL compiled to WASM) in a data directory. No server, no compile step. */
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import type { Database } from './database.js';

export async function openEmbeddedDatabase(dataDir: string | null): Promise<Database> {
  // null = purely in memory (tests); otherwise a persistent directory.
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const pg = dataDir ? await PGlite.create(dataDir) : await PGlite.create();
  // PGlite runs one statement at a time; queue queries so a transaction is never interleaved.
  let tail: Promise<unknown> = Promise.resolve();
  const serialize = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
  const query = async <T>(sql: string, params?: unknown[]) => (await pg.query<T>(sql, params as unknown[])).rows;
  return {
    kind: 'embedded',
    query: <T>(sql: string, params?: unknown[]) => serialize(() => query<T>(sql, params)),
    transaction: <T>(fn: (tx: Pick<Database, 'query'>) => Promise<T>) =>
      serialize(() => pg.transaction(async (tx) => fn({ query: async <R>(s: string, p?: unknown[]) => (await tx.query<R>(s, p as unknown[])).rows }))),
    close: () => serialize(() => pg.close()),
  };
}
