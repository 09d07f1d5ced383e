/** PostgreSQL store for production (HERALD_DATABASE_URL), through node-postgres. */
import pg from 'pg';
import type { Database } from './database.js';

export async function openPostgresDatabase(url: string, poolSize = 10): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // A dropped idle client must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  await pool.query('SELECT 1');
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
