/**
 * The SQL seam shared by every persistent capability (apps, stats, webhook outbox, Beams).
 * Two backends speak the same PostgreSQL dialect: embedded PGlite (default, a data directory,
 * no server) and PostgreSQL (HERALD_DATABASE_URL). One set of migrations serves both.
 */

export interface Database {
  readonly kind: 'embedded' | 'postgres';
  /** Runs one parameterized statement ($1, $2, …) and returns its rows. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs `fn` inside a transaction; rolls back if it throws. */
  transaction<T>(fn: (tx: Pick<Database, 'query'>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /**
   * Runs `fn` on one dedicated connection for its whole duration (session state such as advisory
   * locks holds across its statements). Absent: the backend has a single connection anyway.
   */
  session?<T>(fn: (conn: Pick<Database, 'query'>) => Promise<T>): Promise<T>;
}

export interface Migration {
  /** Unique, sortable id such as `0001_apps`. Applied in id order, once. */
  id: string;
  sql: string;
}
