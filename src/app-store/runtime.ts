/**
 * Opens the app store for a running Herald and wires it to the live registry. PostgreSQL, or an
 * embedded store that already exists, is opened at start (stored apps must be served from the
 * first connection). A fresh embedded data directory is only created — and locked — when
 * something needs it: an admin change, or a periodic usage flush with something to save. So a
 * Herald serving configured apps only never writes a database (a read-only directory does not
 * stop it). Meanwhile a cheap check notices a store created by `herald apps` and opens it.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { App } from '../apps/app.js';
import { acquireDataDirLock, DataDirLockedError, seedEmbeddedDataDir, type DataDirLock } from '../apps/data-dir.js';
import { AppManager } from '../apps/manager.js';
import { listenForChanges, type ChangeListener } from '../apps/pg-listener.js';
import { MemoryAppRegistry } from '../apps/registry.js';
import { APP_CHANGES_CHANNEL, AppStore, AppStoreError } from '../apps/store.js';
import { StoreRegistrySync } from '../apps/store-registry.js';
import type { UsageTracker } from '../apps/usage.js';
import { UsageStore } from '../apps/usage-store.js';
import type { ModuleContext } from '../core/module.js';
import { DATABASE_SERVICE, type DatabaseProvider } from './database-module.js';
import { StartupTimeoutError } from '../platform/startup-retry.js';
import { DamagedStoreError } from '../storage/store-check.js';
import type { IpcPeer } from '../platform/ipc.js';
import { APPS_CHANGED, REMOTE_STORE_SERVICE, WORKER_SERVICE } from '../core/worker-services.js';

const MAX_APP_ID_IN_NOTIFY = 64;
/** How often a Herald without an embedded store yet looks whether `herald apps` created one. */
const STORE_APPEARED_CHECK_MS = 2000;

interface OpenStore {
  manager: AppManager;
  sync: StoreRegistrySync | undefined;
}

export class AppStoreRuntime {
  private lock: DataDirLock | undefined;
  private listener: ChangeListener | undefined;
  private reloadTimer: NodeJS.Timeout | undefined;
  private appearTimer: NodeJS.Timeout | undefined;
  private url: string | undefined;
  private opening: Promise<OpenStore> | undefined;
  private configApps: App[] = [];
  private closed = false;

  constructor(
    private readonly ctx: ModuleContext,
    private readonly tracker: UsageTracker,
    private readonly reloadIntervalMs: number,
  ) {}

  private get embedded(): boolean {
    return !this.ctx.config.databaseUrl;
  }

  private storeExists(): boolean {
    return existsSync(join(this.ctx.config.dataDir, 'PG_VERSION'));
  }

  /** True when reading needs no new store: PostgreSQL, an embedded store on disk, or one being opened. */
  hasStore(): boolean {
    return this.opening !== undefined || !this.embedded || this.storeExists();
  }

  /** Opens the store now when it exists (PostgreSQL, or an embedded store on disk). */
  async init(): Promise<void> {
    this.configApps = this.ctx.apps.list();
    this.ctx.hooks.started.push(() => this.recordUrl());
    // Another worker of this node changed an app: re-read it (opening the store if this worker
    // has not yet: it was just created there).
    this.workerPeer()?.handle(APPS_CHANGED, async (id) => {
      if (typeof id !== 'string' || this.closed) return;
      try {
        await (await this.open()).sync?.reloadOne(id);
      } catch (err) {
        this.ctx.logger.warn({ err: (err as Error).message, appId: id }, 'app reload failed');
      }
    });
    // In a worker the primary owns the embedded store, its lock and its seeding.
    if (this.embedded && !this.ctx.optional(REMOTE_STORE_SERVICE)) this.ctx.decorate(DATABASE_SERVICE, (original) => this.guardedDatabase(original));
    if (!this.embedded || this.storeExists()) {
      await this.open();
      return;
    }
    this.appearTimer = setInterval(() => {
      if (this.opening || !this.storeExists()) return;
      // Created by `herald apps` while we ran: serve its apps. A CLI still holding the lock → next tick.
      this.open().catch(() => undefined);
    }, STORE_APPEARED_CHECK_MS);
    this.appearTimer.unref();
  }

  private recordUrl(): void {
    const { config } = this.ctx;
    const address = this.ctx.server.address();
    if (!address || typeof address !== 'object') return;
    const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
    this.url = `${config.tlsCert ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
    this.lock?.setUrl(this.url);
  }

  /** Embedded: the data directory is ours while the store is open (PGlite is single-process). */
  private takeLock(): void {
    if (!this.embedded || this.lock) return;
    const { config } = this.ctx;
    try {
      this.lock = acquireDataDirLock(config.dataDir, 'server');
    } catch (err) {
      const reason = err instanceof DataDirLockedError ? err.message : `cannot use the data directory ${resolve(config.dataDir)}: ${(err as Error).message}`;
      throw new AppStoreError('unavailable', `The app store is unavailable: ${reason}`);
    }
    if (this.url) this.lock.setUrl(this.url);
  }

  /**
   * Whoever opens the embedded database first (this module, webhooks, Beams…) goes through the
   * data directory lock and the template seed: wraps the storage module's database provider
   * (the module declares `decorates`, so every other reader starts after this and sees the wrap).
   * (Belongs in the storage layer; kept here so the storage seam did not have to change.)
   */
  private guardedDatabase(original: DatabaseProvider): DatabaseProvider {
    let seeded: Promise<void> | undefined;
    const guarded: DatabaseProvider = async () => {
      this.takeLock();
      seeded ??= seedEmbeddedDataDir(this.ctx.config.dataDir).catch(() => undefined);
      await seeded;
      try {
        const db = await original();
        // Another module opened it: serve stored apps and save usage from now on as well.
        if (!this.opening && !this.closed) this.open().catch(() => undefined);
        return db;
      } catch (err) {
        this.releaseLock();
        throw err;
      }
    };
    return guarded;
  }

  /** The manager, opening (or creating) the store on first use. */
  async manager(): Promise<AppManager> {
    return (await this.open()).manager;
  }

  open(): Promise<OpenStore> {
    if (this.closed) return Promise.reject(new AppStoreError('unavailable', 'The app store is closed (shutting down)'));
    this.opening ??= this.doOpen().catch((err) => {
      // Let a later call retry (a lock held by `herald apps` is released within seconds).
      this.opening = undefined;
      throw err;
    });
    return this.opening;
  }

  private async doOpen(): Promise<OpenStore> {
    const { config, logger } = this.ctx;
    let db;
    try {
      // Embedded: the guarded provider takes the lock and seeds a new directory first.
      db = await this.ctx.need(DATABASE_SERVICE)();
    } catch (err) {
      if (err instanceof AppStoreError || err instanceof StartupTimeoutError || err instanceof DamagedStoreError) throw err;
      const where = this.embedded ? `the embedded store in ${resolve(config.dataDir)}` : 'PostgreSQL (HERALD_DATABASE_URL)';
      throw new AppStoreError('unavailable', `App store: cannot open ${where}: ${(err as Error).message}`);
    }
    const store = new AppStore(db);
    const usageStore = new UsageStore(db);
    const sync = await this.startSync(store);
    const tracker = this.tracker;
    const manager = new AppManager({
      store,
      configApps: this.configApps,
      onChanged: async (id, stored) => {
        if (!stored) {
          tracker.forget(id);
          await usageStore.deleteApp(id);
        }
        await sync?.changed(id, stored);
        // The other workers of this node hold their own registries: they apply the change
        // before the admin call returns, as this worker does.
        await this.workerPeer()?.request(APPS_CHANGED, id).catch(() => undefined);
      },
    });
    await tracker.attach(usageStore);
    if (this.appearTimer) clearInterval(this.appearTimer);
    this.appearTimer = undefined;
    logger.info({ backend: db.kind, storedApps: sync?.size ?? 0 }, 'app store open');
    return { manager, sync };
  }

  private async startSync(store: AppStore): Promise<StoreRegistrySync | undefined> {
    const { config, logger } = this.ctx;
    if (!(this.ctx.apps instanceof MemoryAppRegistry)) {
      logger.warn('the app registry is not a MemoryAppRegistry: stored apps are managed but not served by this node');
      return undefined;
    }
    const sync = new StoreRegistrySync({
      store,
      registry: this.ctx.apps,
      reservedIds: new Set(this.configApps.map((a) => a.id)),
      reservedKeys: new Set(this.configApps.flatMap((a) => a.credentials.map((c) => c.key))),
      logger,
    });
    await sync.reloadAll();
    const reloadAll = () => sync.reloadAll().catch((err) => logger.warn({ err: (err as Error).message }, 'app store reload failed'));
    this.reloadTimer = setInterval(reloadAll, this.reloadIntervalMs);
    this.reloadTimer.unref();
    if (config.databaseUrl) {
      this.listener = await listenForChanges({
        databaseUrl: config.databaseUrl,
        channel: APP_CHANGES_CHANNEL,
        logger,
        onNotification: (id) => {
          if (id.length === 0 || id.length > MAX_APP_ID_IN_NOTIFY) return;
          sync.reloadOne(id).catch((err) => logger.warn({ err: (err as Error).message, appId: id }, 'app reload failed'));
        },
        onReconnected: reloadAll,
      });
    }
    return sync;
  }

  private workerPeer(): IpcPeer | undefined {
    return this.ctx.optional(WORKER_SERVICE);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.appearTimer) clearInterval(this.appearTimer);
    this.appearTimer = undefined;
    await this.opening?.catch(() => undefined);
    if (this.reloadTimer) clearInterval(this.reloadTimer);
    this.reloadTimer = undefined;
    await this.listener?.close();
    this.listener = undefined;
  }

  /** Last: the database itself is closed by the storage module right after. */
  releaseLock(): void {
    this.lock?.release();
    this.lock = undefined;
  }
}
