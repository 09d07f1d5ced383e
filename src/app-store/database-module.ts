/**
 * Makes the database available to other modules as the DATABASE_SERVICE: a function that opens
 * it (embedded PGlite in dataDir, or PostgreSQL when databaseUrl is set) on first use, so a Herald
 * whose modules need no storage never opens one.
 */
import type { HeraldModule } from '../core/module.js';
import { serviceKey } from '../platform/module-graph.js';
import type { Database } from '../storage/database.js';
import { openDatabase } from '../storage/open.js';

export type DatabaseProvider = () => Promise<Database>;

/** The shared database: opened on the first call. The apps module wraps it (data-directory lock). */
export const DATABASE_SERVICE = serviceKey<DatabaseProvider>('database');

export function storageModule(): HeraldModule {
  let opening: Promise<Database> | undefined;
  return {
    name: 'storage',
    provides: [DATABASE_SERVICE],
    start(ctx) {
      // The first open happens at start (PostgreSQL: the app store): it waits for the server.
      let first = true;
      const provider: DatabaseProvider = () => {
        const startupRetry = first ? { logger: ctx.logger, timeoutMs: ctx.config.startupTimeoutMs } : undefined;
        first = false;
        opening ??= openDatabase({
          databaseUrl: ctx.config.databaseUrl,
          dataDir: ctx.config.dataDir,
          startupRetry,
          onEmbeddedCrash: (err) => ctx.logger.error({ err: err.message }, 'embedded store worker crashed; database queries will fail until restart'),
        }).then(
          (db) => {
            ctx.logger.info({ kind: db.kind }, 'database opened');
            return db;
          },
          (err: unknown) => {
            // Forget the failure so the next caller retries (PostgreSQL may come back).
            opening = undefined;
            ctx.logger.error({ err: (err as Error).message }, 'database unavailable');
            throw err;
          },
        );
        return opening;
      };
      ctx.provide(DATABASE_SERVICE, provider);
      ctx.hooks.readiness.push(async () => {
        if (!opening) return undefined;
        try {
          await (await opening).query('SELECT 1');
          return undefined;
        } catch (err) {
          return `database unavailable: ${(err as Error).message}`;
        }
      });
    },
    async stop() {
      if (opening) await (await opening.catch(() => undefined))?.close();
    },
  };
}
