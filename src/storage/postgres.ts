/** PostgreSQL store for production (HERALD_DATABASE_URL), through node-postgres. */
import pg from 'pg';
import type { Logger } from '../platform/logger.js';
import { retryUntilConnected } from '../platform/startup-retry.js';
import type { Database } from './database.js';

/** The URL without its password, for log lines. */
function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:[redacted]@');
}

/** At start: PostgreSQL not reachable yet is retried (one log line per attempt) for this long. */
export interface StartupRetry {
  logger: Logger;
  /** 0 or undefined: forever. */
  timeoutMs?: number;
}

export async function openPostgresDatabase(url: string, poolSize = 10, startupRetry?: StartupRetry): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // A dropped idle client must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  try {
    if (startupRetry) {
      await retryUntilConnected(() => pool.query('SELECT 1'), { dependency: 'PostgreSQL', where: redactUrl(url), logger: startupRetry.logger, timeoutMs: startupRetry.timeoutMs });
    } else {
      await pool.query('SELECT 1');
    }
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  return {
    kind: 'postgres',
    query: async <T>(sql: string, params?: unknown[]) => (await pool.query(sql, params)).rows as T[],
    async transaction<T>(fn: (tx: Pick<Database, 'query'>) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn({ query: async <R>(s: string, p?: unknown[]) => (await client.query(s, p)).rows as R[] });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    async session<T>(fn: (conn: Pick<Database, 'query'>) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        return await fn({ query: async <R>(s: string, p?: unknown[]) => (await client.query(s, p)).rows as R[] });
      } catch (err) {
        // A failed session may hold session state (a lock): do not hand the connection back.
        broken = err as Error;
        throw err;
      } finally {
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}
