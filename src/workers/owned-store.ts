/**
 * The embedded store as the hub of a multi-worker node owns it: opened on the first worker's
 * request (as a one-process node opens it), behind the data directory's lock and seed.
 */
import { acquireDataDirLock, seedEmbeddedDataDir, type DataDirLock } from '../apps/data-dir.js';
import type { HeraldConfig } from '../config/schema.js';
import type { Logger } from '../platform/logger.js';
import type { Database } from '../storage/database.js';
import { openDatabase } from '../storage/open.js';
// Capabilities register their migrations when their modules load: the owner of the store must
// apply every one, although it runs none of them.
import '../server/modules.js';

export class OwnedStore {
  private database: Promise<Database> | undefined;
  private lock: DataDirLock | undefined;
  private url: string | undefined;
  private closed = false;

  constructor(
    private readonly config: Pick<HeraldConfig, 'databaseUrl' | 'dataDir'>,
    private readonly logger: Logger,
  ) {}

  /** Where the node serves (written into the lock, so `herald apps` can point at it). */
  setUrl(url: string): void {
    this.url = url;
    this.lock?.setUrl(url);
  }

  open(): Promise<Database> {
    // A worker's late query while the node stops must not open the store again.
    if (this.closed) return Promise.reject(new Error('The store is closed (the node is stopping)'));
    const { config } = this;
    this.database ??= (async () => {
      if (!config.databaseUrl) {
        this.lock ??= acquireDataDirLock(config.dataDir, 'server');
        if (this.url) this.lock.setUrl(this.url);
        await seedEmbeddedDataDir(config.dataDir).catch(() => undefined);
      }
      const db = await openDatabase({
        databaseUrl: config.databaseUrl,
        dataDir: config.dataDir,
        onEmbeddedCrash: (err) => this.logger.error({ err: err.message }, 'embedded store worker crashed; database queries will fail until restart'),
      });
      this.logger.info({ kind: db.kind }, 'database opened (owned by the supervisor)');
      return db;
    })().catch((err: unknown) => {
      this.database = undefined;
      this.releaseLock();
      throw err;
    });
    return this.database;
  }

  async close(): Promise<void> {
    this.closed = true;
    const db = await this.database?.catch(() => undefined);
    this.database = undefined;
    await db?.close().catch(() => undefined);
    this.releaseLock();
  }

  private releaseLock(): void {
    this.lock?.release();
    this.lock = undefined;
  }
}
