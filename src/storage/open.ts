import type { Database } from './database.js';
import { openEmbeddedDatabase } from './embedded.js';
import { openPostgresDatabase } from './postgres.js';
import { migrate } from './migrations.js';

export interface OpenDatabaseOptions {
  databaseUrl?: string;
  dataDir: string | null;
  /** Embedded only: its worker thread died on its own (later queries fail with `err`); log it. */
  onEmbeddedCrash?(err: Error): void;
}

/** Opens PostgreSQL when a URL is given, else the embedded store, and applies migrations. */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const db = options.databaseUrl
    ? await openPostgresDatabase(options.databaseUrl)
    : await openEmbeddedDatabase(options.dataDir, { onCrash: options.onEmbeddedCrash });
  try {
    await migrate(db);
  } catch (err) {
    // Do not leak the connection pool or the embedded worker (which holds the data directory).
    await db.close().catch(() => undefined);
    throw err;
  }
  return db;
}
