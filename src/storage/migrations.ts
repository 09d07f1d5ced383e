/**
 * Versioned migrations, applied at start in id order. Each capability adds its own entries
 * to MIGRATIONS (never edit an applied one; add a new id instead).
 */
import type { Database, Migration } from './database.js';

export const MIGRATIONS: Migration[] = [];

/** Lets a capability module contribute migrations without editing this file. */
export function registerMigrations(migrations: Migration[]): void {
  for (const m of migrations) if (!MIGRATIONS.some((x) => x.id === m.id)) MIGRATIONS.push(m);
}

/** Key of the advisory lock that serializes migrations across nodes sharing one PostgreSQL. */
const MIGRATION_LOCK = 725100;

/**
 * Applies what is not applied yet. On PostgreSQL several nodes may start at once against a fresh
 * database: everything (the migrations table included) happens on one dedicated connection while
 * it holds the advisory lock, so lock, DDL and unlock cannot land on different pooled connections
 * and no two nodes ever run the same CREATE at once.
 */
export async function migrate(db: Database, migrations: Migration[] = MIGRATIONS): Promise<string[]> {
  const sorted = [...migrations].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const run = async (conn: Pick<Database, 'query'>): Promise<string[]> => {
    const locking = db.kind === 'postgres';
    if (locking) await conn.query(`SELECT pg_advisory_lock(${MIGRATION_LOCK})`);
    try {
      await conn.query(`CREATE TABLE IF NOT EXISTS herald_migrations (id TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
      const done = new Set((await conn.query<{ id: string }>('SELECT id FROM herald_migrations')).map((r) => r.id));
      const applied: string[] = [];
      for (const m of sorted) {
        if (done.has(m.id)) continue;
        await inTransaction(conn, async () => {
          for (const statement of splitStatements(m.sql)) await conn.query(statement);
          await conn.query('INSERT INTO herald_migrations (id) VALUES ($1)', [m.id]);
        });
        applied.push(m.id);
      }
      return applied;
    } finally {
      if (locking) await conn.query(`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`);
    }
  };
  if (db.session) return db.session(run);
  // Single-connection backends (embedded): transactions through the Database itself.
  return runWithoutSession(db, sorted);
}

async function inTransaction(conn: Pick<Database, 'query'>, fn: () => Promise<void>): Promise<void> {
  await conn.query('BEGIN');
  try {
    await fn();
    await conn.query('COMMIT');
  } catch (err) {
    await conn.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

async function runWithoutSession(db: Database, sorted: Migration[]): Promise<string[]> {
  await db.query(`CREATE TABLE IF NOT EXISTS herald_migrations (id TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
  const done = new Set((await db.query<{ id: string }>('SELECT id FROM herald_migrations')).map((r) => r.id));
  const applied: string[] = [];
  for (const m of sorted) {
    if (done.has(m.id)) continue;
    await db.transaction(async (tx) => {
      for (const statement of splitStatements(m.sql)) await tx.query(statement);
      await tx.query('INSERT INTO herald_migrations (id) VALUES ($1)', [m.id]);
    });
    applied.push(m.id);
  }
  return applied;
}

/** Splits a migration on semicolons at line ends (migrations contain no procedural code). */
function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*$/m)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
