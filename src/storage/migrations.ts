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

export async function migrate(db: Database, migrations: Migration[] = MIGRATIONS): Promise<string[]> {
  await db.query(
    `CREATE TABLE IF NOT EXISTS herald_migrations (id TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
  );
  const applied: string[] = [];
  const sorted = [...migrations].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  // An advisory lock keeps several nodes starting at once against one PostgreSQL from racing.
  if (db.kind === 'postgres') await db.query('SELECT pg_advisory_lock(725100)');
  try {
    const done = new Set((await db.query<{ id: string }>('SELECT id FROM herald_migrations')).map((r) => r.id));
    for (const m of sorted) {
      if (done.has(m.id)) continue;
      await db.transaction(async (tx) => {
        for (const statement of splitStatements(m.sql)) await tx.query(statement);
        await tx.query('INSERT INTO herald_migrations (id) VALUES ($1)', [m.id]);
      });
      applied.push(m.id);
    }
  } finally {
    if (db.kind === 'postgres') await db.query('SELECT pg_advisory_unlock(725100)');
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
