import type { Database } from './database.js';
import { openEmbeddedDatabase } from './embedded.js';
import { openPostgresDatabase } from './postgres.js';
import { migrate } from './migrations.js';

/** Opens PostgreSQL when a URL is given, else the embedded store, and applies migrations. */
export async function openDatabase(options: { databaseUrl?: string; dataDir: string | null }): Promise<Database> {
  const db = options.databaseUrl
    ? await openPostgresDatabase(options.databaseUrl)
    : await openEmbeddedDatabase(options.dataDir);
  await migrate(db);
  return db;
}
