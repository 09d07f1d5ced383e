import type { Database } from './database.js';
import { openEmbeddedDatabase } from './embedded.js';
import type { StartupRetry } from './postgres.js';
import { migrate } from './migrations.js';
import { checkDataDirFiles, DamagedStoreError, looksDamaged, storeExists } from './store-check.js';
import { resolve } from 'node:path';
import { invalid } from '../platform/errors.js';

export interface OpenDatabaseOptions {
  databaseUrl?: string;
  dataDir: string | null;
  /** Embedded only: its worker thread died on its own (later queries fail with `err`); log it. */
  onEmbeddedCrash?(err: Error): void;
  /** PostgreSQL at start: retry while it is not reachable yet (src/platform/startup-retry.ts). */
  startupRetry?: StartupRetry;
}

/** Opens PostgreSQL when a URL is given, else the embedded store, and applies migrations. */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  // node-postgres is loaded only when configured: the embedded default never needs it (~3 MB of heap).
  if (options.databaseUrl) return migrated(await (await import('./postgres.js')).openPostgresDatabase(options.databaseUrl, undefined, options.startupRetry));
  // A damaged directory gets a clear message naming it (DamagedStoreError), not a WASM abort.
  const dir = options.dataDir === null ? null : resolve(options.dataDir);
  if (dir && storeExists(dir)) {
    const problems = checkDataDirFiles(dir);
    if (problems.length > 0) throw new DamagedStoreError(dir, problems);
  }
  try {
    return await migrated(await openEmbeddedDatabase(options.dataDir, { onCrash: options.onEmbeddedCrash }));
  } catch (err) {
    if (dir && looksDamaged(err)) throw new DamagedStoreError(dir, [(err as Error).message]);
    throw err;
  }
}

async function migrated(db: Database): Promise<Database> {
  try {
    await migrate(db);
  } catch (err) {
    // Do not leak the connection pool or the embedded worker (which holds the data directory).
    await db.close().catch(() => undefined);
    throw err;
  }
  return refuseUnstorableText(db);
}

/**
 * SQLSTATEs PostgreSQL (and PGlite) raise for NUL characters: in text (22021, "invalid byte
 * sequence for encoding UTF8: 0x00") and as \u0000 in JSON (22P05). JavaScript strings and JSON
 * may hold them, PostgreSQL text never can: that is the caller's input, not a server failure.
 */
const UNSTORABLE_TEXT = new Set(['22021', '22P05']);

/** Turns those errors into an `invalid` DomainError, which every API layer (REST, Beams, GraphQL) reports as bad input. */
export function refuseUnstorableText(db: Database): Database {
  const translate = (err: unknown): never => {
    if (UNSTORABLE_TEXT.has(String((err as { code?: unknown } | null)?.code))) {
      throw invalid('Text containing NUL characters (\\u0000) cannot be stored', { code: 'invalid_text' });
    }
    throw err;
  };
  return {
    kind: db.kind,
    query: <T>(sql: string, params?: unknown[]) => db.query<T>(sql, params).catch(translate),
    transaction: <T>(fn: (tx: Pick<Database, 'query'>) => Promise<T>) =>
      db.transaction((tx) => fn({ query: <R>(sql: string, params?: unknown[]) => tx.query<R>(sql, params).catch(translate) })),
    close: () => db.close(),
  };
}
