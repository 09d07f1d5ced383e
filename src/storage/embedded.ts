/**
 * Embedded store: PGlite (PostgreSQL compiled to WASM) in a data directory. No server, no compile step.
 * PGlite runs in a worker thread (embedded-worker.mjs): a query there no longer blocks Herald's event
 * loop, so publish fan-out and connections keep flowing while webhooks, usage stats, the apps store
 * or Beams write. Values cross the thread by structured clone, which keeps Date, bigint, Uint8Array
 * (bytea), arrays and JSON objects as they are.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Database } from './database.js';
import { EmbeddedStoreError, EmbeddedWorkerClient } from './embedded-client.js';

export { EmbeddedStoreError } from './embedded-client.js';

export interface EmbeddedDatabaseOptions {
  /** Called once if the worker dies on its own (WASM abort…); later queries then fail with that error. */
  onCrash?(err: Error): void;
}

/**
 * Data directories open in this process. PGlite has no lock of its own and two instances on one
 * directory corrupt it; across processes the data-dir lock (src/apps/data-dir.ts) guards it.
 */
const openDirs = new Set<string>();

/** The worker behind each embedded database, for tests that simulate a crash. */
const clients = new WeakMap<Database, EmbeddedWorkerClient>();

export function embeddedWorkerOf(db: Database): EmbeddedWorkerClient | undefined {
  return clients.get(db);
}

interface Job {
  run(): Promise<unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

export async function openEmbeddedDatabase(dataDir: string | null, options: EmbeddedDatabaseOptions = {}): Promise<Database> {
  // null = purely in memory (tests); otherwise a persistent directory.
  const dir = dataDir === null ? null : resolve(dataDir);
  if (dir) {
    if (openDirs.has(dir)) throw new Error(`the embedded store in ${dir} is already open in this process (PGlite must not be opened twice)`);
    mkdirSync(dir, { recursive: true });
    openDirs.add(dir);
  }
  // One job at a time: a transaction holds the queue from BEGIN to COMMIT/ROLLBACK, so no other
  // statement can land inside it. A queue (not a promise chain) so waiting jobs can be failed at once.
  const queue: Job[] = [];
  let running = false;

  const client = new EmbeddedWorkerClient({ dataDir: dir, onCrash: options.onCrash });
  // Whatever ends the worker (close, crash, failed open) frees the directory for a later open and
  // fails the jobs still waiting (a crash must not leave them hanging behind an open transaction).
  void client.exited.then(() => {
    if (dir) openDirs.delete(dir);
    const error = client.failed ?? new EmbeddedStoreError('the embedded store is closed', 'EMBEDDED_STORE_CLOSED');
    for (const job of queue.splice(0)) job.reject(error);
  });
  try {
    await client.open();
  } catch (err) {
    await client.exited;
    throw err;
  }

  const pump = (): void => {
    if (running) return;
    const job = queue.shift();
    if (!job) return;
    running = true;
    job
      .run()
      .then(job.resolve, job.reject)
      .finally(() => {
        running = false;
        pump();
      });
  };
  const enqueue = <T>(run: () => Promise<T>): Promise<T> => {
    if (client.failed) return Promise.reject(client.failed);
    return new Promise<T>((resolve, reject) => {
      queue.push({ run, resolve: resolve as (value: unknown) => void, reject });
      pump();
    });
  };
  const send = async <T>(sql: string, params?: unknown[]): Promise<T[]> => (await client.query(sql, params ?? [])) as T[];

  const db: Database = {
    kind: 'embedded',
    query: <T>(sql: string, params?: unknown[]) => enqueue(() => send<T>(sql, params)),
    transaction: <T>(fn: (tx: Pick<Database, 'query'>) => Promise<T>) =>
      enqueue(async () => {
        let open = true;
        const tx: Pick<Database, 'query'> = {
          query: <R>(sql: string, params?: unknown[]) =>
            open ? send<R>(sql, params) : Promise.reject(new Error('embedded store: query on a transaction that has already ended')),
        };
        await send('BEGIN');
        let result: T;
        try {
          result = await fn(tx);
        } catch (err) {
          open = false;
          await send('ROLLBACK').catch(() => undefined);
          throw err;
        }
        // Closed before COMMIT is sent, so a straggling tx.query cannot run outside the transaction.
        open = false;
        try {
          await send('COMMIT');
        } catch (err) {
          await send('ROLLBACK').catch(() => undefined);
          throw err;
        }
        return result;
      }),
    close: async () => {
      const closing = client.close();
      // Jobs still waiting for their turn will never run: fail them now rather than leave them hanging.
      const error = client.failed ?? new EmbeddedStoreError('the embedded store is closed', 'EMBEDDED_STORE_CLOSED');
      for (const job of queue.splice(0)) job.reject(error);
      await closing;
    },
  };
  clients.set(db, client);
  return db;
}
