/**
 * The store a CLI command works on directly: PostgreSQL, or the embedded store when no Herald
 * holds it (PGlite allows one process at a time, so the data directory stays locked until close).
 */
import { acquireDataDirLock, seedEmbeddedDataDir, type DataDirLock } from '../apps/data-dir.js';
import type { Database } from '../storage/database.js';
import { openDatabase } from '../storage/open.js';
import { CliError } from './command.js';

export interface CliStore {
  readonly db: Database;
  /** Where the commands go, for messages ("PostgreSQL", "embedded store in …"). */
  readonly description: string;
  /** Closes the database and releases the data-directory lock. */
  close(): Promise<void>;
}

export async function openCliStore(options: { databaseUrl?: string; dataDir: string }): Promise<CliStore> {
  let lock: DataDirLock | undefined;
  if (!options.databaseUrl) {
    lock = acquireDataDirLock(options.dataDir, 'cli');
    await seedEmbeddedDataDir(options.dataDir);
  }
  let db: Database;
  try {
    db = await openDatabase({ databaseUrl: options.databaseUrl, dataDir: options.dataDir });
  } catch (err) {
    lock?.release();
    const where = options.databaseUrl ? 'PostgreSQL (HERALD_DATABASE_URL)' : `the embedded store in ${options.dataDir}`;
    throw new CliError(`Cannot open ${where}: ${(err as Error).message}`);
  }
  return {
    db,
    description: options.databaseUrl ? 'PostgreSQL' : `embedded store in ${options.dataDir}`,
    async close() {
      await db.close().catch(() => undefined);
      lock?.release();
    },
  };
}
