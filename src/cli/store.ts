/**
 * `herald store check`: looks for damage in the embedded store (src/storage/store-check.ts) without
 * changing it: file sizes first, then every table read in file order and through its primary key.
 * Exit 0 when nothing is wrong, 4 (as `herald start` for a damaged store) when something is, 2 for
 * usage errors or a store in use.
 */
import { resolve } from 'node:path';
import { ConfigError, loadConfig } from '../config/load.js';
import { acquireDataDirLock, DataDirLockedError } from '../apps/data-dir.js';
import { openEmbeddedDatabase } from '../storage/embedded.js';
import { checkDataDirFiles, checkTables, EXIT_DAMAGED_STORE, storeExists } from '../storage/store-check.js';
import type { CliCommand } from './command.js';

const USAGE = `Usage: herald store check [--data-dir <dir>] [--config <file>]

Checks the embedded store (HERALD_DATA_DIR, default ./.herald) for damage without changing it:
the control file and the size of every table file, then every table read in file order and
through its primary key. Stop Herald first (the store can be opened by one process at a time).
Exit codes: 0 nothing wrong, 4 damaged, 2 usage error or store in use.
`;

export const storeCommand: CliCommand = {
  name: 'store',
  summary: 'Check the embedded store for damage (herald store check)',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub !== 'check' || rest.includes('--help')) {
      (sub === 'check' || sub === undefined || sub === '--help' ? process.stdout : process.stderr).write(USAGE);
      return sub === 'check' || sub === '--help' ? 0 : 2;
    }
    let dataDir: string;
    try {
      const { config } = loadConfig({ argv: rest, env: process.env });
      if (config.databaseUrl) {
        process.stderr.write('herald store check: the store is PostgreSQL (HERALD_DATABASE_URL); check it with PostgreSQL\'s own tools (amcheck, pg_checksums)\n');
        return 2;
      }
      dataDir = resolve(config.dataDir);
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`herald store check: ${err.message}\n`);
        return 2;
      }
      throw err;
    }
    return check(dataDir);
  },
};

async function check(dataDir: string): Promise<number> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (!storeExists(dataDir)) {
    out(`No embedded store in ${dataDir}: nothing to check.`);
    return 0;
  }
  let lock;
  try {
    lock = acquireDataDirLock(dataDir, 'cli');
  } catch (err) {
    process.stderr.write(`herald store check: ${err instanceof DataDirLockedError ? err.message : (err as Error).message}\n`);
    return 2;
  }
  try {
    const problems = checkDataDirFiles(dataDir);
    let tables: Array<{ table: string; rows: number }> = [];
    // A broken control file aborts the engine: the file check has said everything there is.
    if (!problems.some((p) => p.startsWith('global/pg_control') || p.startsWith('PG_VERSION'))) {
      let db;
      try {
        db = await openEmbeddedDatabase(dataDir);
      } catch (err) {
        problems.push(`the engine cannot open it: ${(err as Error).message}`);
      }
      if (db) {
        try {
          const result = await checkTables(db);
          problems.push(...result.problems);
          tables = result.tables;
        } finally {
          await db.close().catch(() => undefined);
        }
      }
    }
    out(`Embedded store: ${dataDir}`);
    for (const t of tables) out(`  ${t.table}: ${t.rows} rows`);
    if (problems.length === 0) {
      out('No damage found.');
      return 0;
    }
    out(`Damaged (${problems.length} problem${problems.length === 1 ? '' : 's'}):`);
    for (const p of problems) out(`  - ${p}`);
    out(`Restore ${dataDir} from a backup, or move it aside and start with an empty store (apps from the configuration come back; stored apps, usage, queued webhooks and Beams data do not).`);
    return EXIT_DAMAGED_STORE;
  } finally {
    lock.release();
  }
}
