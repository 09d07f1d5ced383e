/**
 * A damaged embedded store (docs/operations.md). PGlite aborts its WebAssembly instance on a broken
 * control file, and reads a table file cut short as if it had fewer rows. Two levels of checking:
 *
 * - `checkDataDirFiles`: cheap, no engine: the files every cluster has, the control file's fixed
 *   size and relation files whole pages long. Run before every open, so start-up fails with a clear
 *   message (DamagedStoreError, exit code 4) instead of a WASM abort.
 * - `checkStore` (`herald store check`): opens the store through the Database seam and reads every
 *   table twice, once in file order and once through its primary key, so rows the index knows but
 *   the table file lost show up as a read error or a count mismatch.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Database } from './database.js';

/** Exit code of `herald start` and `herald store check` for a damaged embedded store. */
export const EXIT_DAMAGED_STORE = 4;

const PAGE_BYTES = 8192;
/** pg_control is always written as one 8 KiB page (PG_CONTROL_FILE_SIZE). */
const CONTROL_FILE_BYTES = 8192;
const RELATION_FILE = /^\d+(_(fsm|vm|init))?(\.\d+)?$/;

export class DamagedStoreError extends Error {
  constructor(
    readonly dataDir: string,
    readonly problems: string[],
  ) {
    super(
      `The embedded store in ${dataDir} is damaged and cannot be used:\n${problems.map((p) => `  - ${p}`).join('\n')}\n` +
        `Restore the directory from a backup, or move it aside (mv ${dataDir} ${dataDir}.damaged) and start again with an empty store: ` +
        `apps from the configuration come back, stored apps, usage stats, queued webhooks and Beams data do not. ` +
        `\`herald store check --data-dir ${dataDir}\` reports what is wrong.`,
    );
    this.name = 'DamagedStoreError';
  }
}

/** True when the directory holds an embedded store (as opposed to nothing yet). */
export function storeExists(dataDir: string): boolean {
  return existsSync(join(dataDir, 'PG_VERSION'));
}

/** Problems visible from file names and sizes alone, each naming the file. */
export function checkDataDirFiles(dataDir: string): string[] {
  const dir = resolve(dataDir);
  const problems: string[] = [];
  const control = join(dir, 'global', 'pg_control');
  for (const required of ['PG_VERSION', 'global', 'base', 'pg_wal']) {
    if (!existsSync(join(dir, required))) problems.push(`${required} is missing`);
  }
  if (!existsSync(control)) problems.push('global/pg_control (the cluster control file) is missing');
  else if (statSync(control).size !== CONTROL_FILE_BYTES) {
    problems.push(`global/pg_control is ${statSync(control).size} bytes; it is always ${CONTROL_FILE_BYTES} (truncated or overwritten)`);
  }
  const relationDirs = [join(dir, 'global')];
  if (existsSync(join(dir, 'base'))) for (const db of readdirSync(join(dir, 'base'))) relationDirs.push(join(dir, 'base', db));
  for (const relationDir of relationDirs) {
    if (!existsSync(relationDir) || !statSync(relationDir).isDirectory()) continue;
    for (const name of readdirSync(relationDir)) {
      if (!RELATION_FILE.test(name)) continue;
      const size = statSync(join(relationDir, name)).size;
      if (size % PAGE_BYTES !== 0) {
        problems.push(`${join(relationDir, name).slice(dir.length + 1)} is ${size} bytes, not a whole number of ${PAGE_BYTES}-byte pages (truncated)`);
      }
    }
  }
  return problems;
}

/** Error messages PGlite gives for a store it cannot read (as opposed to a lock, a full disk…). */
export function looksDamaged(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /^Aborted\(|RuntimeError|unreachable|could not read (block|file)|invalid page|invalid (magic|checksum)|incorrect checksum|pg_control|could not open file|PANIC/i.test(message);
}

export interface TableCheck {
  table: string;
  rows: number;
}

export interface StoreCheck {
  problems: string[];
  tables: TableCheck[];
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Reads every table of an open store: in file order, and through its primary key when it has one. */
export async function checkTables(db: Database): Promise<StoreCheck> {
  const problems: string[] = [];
  const tables: TableCheck[] = [];
  const names = await db.query<{ table: string }>(`SELECT tablename AS table FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`);
  for (const { table } of names) {
    let rows: number;
    try {
      rows = Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${quote(table)}`))[0]!.n);
    } catch (err) {
      problems.push(`table ${table}: cannot be read (${(err as Error).message})`);
      continue;
    }
    tables.push({ table, rows });
    const key = await db.query<{ column: string }>(
      `SELECT a.attname AS column FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
        WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)`,
      [quote(table)],
    );
    if (key.length === 0) continue;
    try {
      // Through the index: every entry must find its row in the table file.
      const viaIndex = await db.transaction(async (tx) => {
        await tx.query('SET LOCAL enable_seqscan = off');
        await tx.query('SET LOCAL enable_bitmapscan = off');
        await tx.query('SET LOCAL enable_indexonlyscan = off');
        const order = key.map((k) => quote(k.column)).join(', ');
        return Number((await tx.query<{ n: string }>(`SELECT count(*) AS n FROM (SELECT 1 FROM ${quote(table)} ORDER BY ${order}) AS rows`))[0]!.n);
      });
      if (viaIndex !== rows) problems.push(`table ${table}: ${rows} rows in the table file but ${viaIndex} in its primary key index (rows lost)`);
    } catch (err) {
      problems.push(`table ${table}: its primary key index points at rows the table file no longer has (${(err as Error).message})`);
    }
  }
  return { problems, tables };
}
