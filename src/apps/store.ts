/**
 * The app store: apps created at runtime (admin API, `herald apps`), kept in the shared database
 * (embedded PGlite or PostgreSQL). Each app is one JSON document validated by the app schema, plus
 * one row per accepted key so the database itself refuses a key used by two apps.
 */
import type { Database } from '../storage/database.js';
import { registerMigrations } from '../storage/migrations.js';
import { appSchema, type AppConfig } from './app.js';

registerMigrations([
  {
    id: '0100_apps',
    sql: `
CREATE TABLE IF NOT EXISTS herald_apps (
  id TEXT PRIMARY KEY,
  config JSONB NOT NULL,
  version INTEGER NOT NULL DEFAULT 1,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS herald_app_keys (
  key TEXT PRIMARY KEY,
  app_id TEXT NOT NULL REFERENCES herald_apps(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS herald_app_keys_app_id ON herald_app_keys (app_id);
`,
  },
]);

/** PostgreSQL NOTIFY channel telling every node sharing the database that an app changed. */
export const APP_CHANGES_CHANNEL = 'herald_apps';

/** Upper bound on stored apps: every node keeps all of them in memory. */
export const MAX_STORED_APPS = 10_000;

export interface StoredApp {
  config: AppConfig;
  /** Incremented on every change; nodes compare it to skip unchanged apps on reload. */
  version: number;
  createdAt: string;
  updatedAt: string;
}

export type AppStoreErrorKind = 'not_found' | 'conflict' | 'invalid' | 'limit' | 'read_only' | 'unavailable';

/** A refusal the caller can show as is (HTTP status / CLI message). Never contains a secret. */
export class AppStoreError extends Error {
  constructor(
    readonly kind: AppStoreErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'AppStoreError';
  }
}

interface AppRow {
  id: string;
  config: unknown;
  version: number | string;
  created_at: Date | string;
  updated_at: Date | string;
}

type Query = Pick<Database, 'query'>;

export class AppStore {
  constructor(readonly db: Database) {}

  /** Every stored app; `onCorrupt` hears the id of any row that no longer validates (skipped). */
  async list(onCorrupt?: (id: string) => void): Promise<StoredApp[]> {
    const rows = await this.db.query<AppRow>(
      `SELECT id, config, version, created_at, updated_at FROM herald_apps ORDER BY created_at, id LIMIT ${MAX_STORED_APPS}`,
    );
    const apps: StoredApp[] = [];
    for (const row of rows) {
      const app = toStored(row);
      if (app) apps.push(app);
      else onCorrupt?.(row.id);
    }
    return apps;
  }

  /** Change stamps only (creation time + version), for cheap change detection on periodic reloads. */
  async stamps(): Promise<Map<string, string>> {
    const rows = await this.db.query<{ id: string; version: number | string; created_at: Date | string }>(
      `SELECT id, version, created_at FROM herald_apps LIMIT ${MAX_STORED_APPS}`,
    );
    return new Map(rows.map((r) => [r.id, changeStamp(isoTime(r.created_at), Number(r.version))]));
  }

  async get(id: string): Promise<StoredApp | undefined> {
    const rows = await this.db.query<AppRow>('SELECT id, config, version, created_at, updated_at FROM herald_apps WHERE id = $1', [id]);
    return rows[0] ? toStored(rows[0]) : undefined;
  }

  async create(config: AppConfig): Promise<StoredApp> {
    return this.db.transaction(async (tx) => {
      const counted = await tx.query<{ count: number | string }>('SELECT count(*) AS count FROM herald_apps');
      if (Number(counted[0]?.count ?? 0) >= MAX_STORED_APPS) throw new AppStoreError('limit', `The store already holds ${MAX_STORED_APPS} apps (the limit)`);
      if ((await tx.query('SELECT 1 FROM herald_apps WHERE id = $1', [config.id])).length > 0) {
        throw new AppStoreError('conflict', `An app with id "${config.id}" already exists`);
      }
      await assertKeysFree(tx, config, undefined);
      const rows = await tx.query<AppRow>(
        'INSERT INTO herald_apps (id, config) VALUES ($1, $2::jsonb) RETURNING id, config, version, created_at, updated_at',
        [config.id, JSON.stringify(config)],
      );
      await writeKeys(tx, config);
      await this.notify(tx, config.id);
      return toStored(rows[0]!)!;
    });
  }

  /**
   * Reads the app under a row lock, lets `change` compute the new configuration, and saves it.
   * Concurrent updates from several nodes are applied one after the other, never lost.
   */
  async update(id: string, change: (current: AppConfig) => AppConfig): Promise<StoredApp> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<AppRow>('SELECT id, config, version, created_at, updated_at FROM herald_apps WHERE id = $1 FOR UPDATE', [id]);
      const current = rows[0] ? toStored(rows[0]) : undefined;
      if (!current) throw new AppStoreError('not_found', `No stored app with id "${id}"`);
      const next = change(current.config);
      if (next.id !== id) throw new AppStoreError('invalid', 'An app id cannot be changed');
      await assertKeysFree(tx, next, id);
      const updated = await tx.query<AppRow>(
        `UPDATE herald_apps SET config = $2::jsonb, version = version + 1, updated_at = now() WHERE id = $1
         RETURNING id, config, version, created_at, updated_at`,
        [id, JSON.stringify(next)],
      );
      await tx.query('DELETE FROM herald_app_keys WHERE app_id = $1', [id]);
      await writeKeys(tx, next);
      await this.notify(tx, id);
      return toStored(updated[0]!)!;
    });
  }

  async delete(id: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const rows = await tx.query('DELETE FROM herald_apps WHERE id = $1 RETURNING id', [id]);
      if (rows.length === 0) throw new AppStoreError('not_found', `No stored app with id "${id}"`);
      await this.notify(tx, id);
    });
  }

  /** Inside the transaction, so other nodes hear about the change only once it is committed. */
  private async notify(tx: Query, id: string): Promise<void> {
    if (this.db.kind === 'postgres') await tx.query('SELECT pg_notify($1, $2)', [APP_CHANGES_CHANNEL, id]);
  }
}

/** Identifies one saved state of an app; differs after any change, or after delete + re-create. */
export function changeStamp(createdAt: string, version: number): string {
  return `${createdAt}#${version}`;
}

function distinctKeys(config: AppConfig): string[] {
  return [...new Set([config.key, ...config.extraCredentials.map((c) => c.key)])];
}

async function assertKeysFree(tx: Query, config: AppConfig, ownId: string | undefined): Promise<void> {
  const keys = distinctKeys(config);
  const taken = await tx.query<{ key: string; app_id: string }>('SELECT key, app_id FROM herald_app_keys WHERE key = ANY($1::text[])', [keys]);
  const clash = taken.find((row) => row.app_id !== ownId);
  if (clash) throw new AppStoreError('conflict', `Key "${clash.key}" is already used by app "${clash.app_id}"`);
}

async function writeKeys(tx: Query, config: AppConfig): Promise<void> {
  for (const key of distinctKeys(config)) {
    await tx.query('INSERT INTO herald_app_keys (key, app_id) VALUES ($1, $2)', [key, config.id]);
  }
}

/** Parses a row; the schema fills in fields added since the app was saved. Undefined if corrupt. */
function toStored(row: AppRow): StoredApp | undefined {
  const raw = typeof row.config === 'string' ? safeJson(row.config) : row.config;
  const parsed = appSchema.safeParse(raw);
  if (!parsed.success || parsed.data.id !== row.id) return undefined;
  return { config: parsed.data, version: Number(row.version), createdAt: isoTime(row.created_at), updatedAt: isoTime(row.updated_at) };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isoTime(value: Date | string): string {
  return value instanceof Date ? value.toISOString() : new Date(value).toISOString();
}
