import type { Database } from './database.js';
import { openEmbeddedDatabase } from './embedded.js';
import { migrate } from './migrations.js';
import { HttpError } from '../server/router.js';

export interface OpenDatabaseOptions {
  databaseUrl?: string;
  dataDir: string | null;
  /** Embedded only: its worker thread died on its own (later queries fail with `err`); log it. */
  onEmbeddedCrash?(err: Error): void;
}

/** Opens PostgreSQL when a URL is given, else the embedded store, and applies migrations. */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  // node-postgres is loaded only when configured: the embedded default never needs it (~3 MB of heap).
  const db = options.databaseUrl
    ? await (await import('./postgres.js')).openPostgresDatabase(options.databaseUrl)
    : await openEmbeddedDatabase(options.dataDir, { onCrash: options.onEmbeddedCrash });
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

/** Turns those errors into a 400 HttpError, which every API layer (REST, Beams, GraphQL) reports as bad input. */
function refuseUnstorableText(db: Database): Database {
  const translate = (err: unknown): never => {
    if (UNSTORABLE_TEXT.has(String((err as { code?: unknown } | null)?.code))) {
      throw new HttpError(400, 'Text containing NUL characters (\\u0000) cannot be stored', 'invalid_text');
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
