/**
 * Keeps the in-memory app registry (what the engine and HTTP API read) in step with the app store:
 * all stored apps are loaded at start; a change made on this node is applied before the admin call
 * returns; changes made elsewhere arrive through PostgreSQL LISTEN/NOTIFY, with a periodic full
 * reload as the safety net (a missed notification, a dropped listener connection).
 */
import { toApp } from './app.js';
import type { MemoryAppRegistry } from './registry.js';
import { changeStamp, type AppStore, type StoredApp } from './store.js';
import type { Logger } from '../platform/logger.js';

/** Above this many changed apps a reload reads them all in one query. */
const BULK_THRESHOLD = 20;

export interface StoreRegistrySyncOptions {
  store: AppStore;
  registry: MemoryAppRegistry;
  /** Ids and keys of apps from configuration: a stored app using one is not served (config wins). */
  reservedIds: ReadonlySet<string>;
  reservedKeys: ReadonlySet<string>;
  logger: Logger;
}

export class StoreRegistrySync {
  /** Stored apps currently in the registry, by id, with the stamp of the state served. */
  private readonly served = new Map<string, string>();
  private readonly shadowWarned = new Set<string>();
  /** Every read-then-apply runs in this queue, so an older read never overwrites a newer change. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: StoreRegistrySyncOptions) {}

  get size(): number {
    return this.served.size;
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Loads every stored app (start, and the periodic safety net). */
  reloadAll(): Promise<void> {
    return this.enqueue(async () => {
      const stamps = await this.options.store.stamps();
      const changed = [...stamps].filter(([id, stamp]) => this.served.get(id) !== stamp).map(([id]) => id);
      if (changed.length > BULK_THRESHOLD) {
        // Start-up or a large change: one query for everything beats one per app.
        const wanted = new Set(changed);
        for (const stored of await this.options.store.list((id) => this.warnCorrupt(id))) {
          if (wanted.has(stored.config.id)) this.apply(stored);
        }
      } else {
        for (const id of changed) {
          const stored = await this.options.store.get(id);
          if (stored) this.apply(stored);
          else this.warnCorrupt(id);
        }
      }
      for (const id of [...this.served.keys()]) if (!stamps.has(id)) this.remove(id);
    });
  }

  /** Re-reads one app (a notification from another node). */
  reloadOne(id: string): Promise<void> {
    return this.enqueue(async () => {
      const stored = await this.options.store.get(id);
      if (stored) this.apply(stored);
      else this.remove(id);
    });
  }

  /** Applies a change just committed on this node (the manager's result). */
  changed(id: string, stored: StoredApp | undefined): Promise<void> {
    return this.enqueue(async () => {
      if (stored) this.apply(stored);
      else this.remove(id);
    });
  }

  private apply(stored: StoredApp): void {
    const { config } = stored;
    const stamp = changeStamp(stored.createdAt, stored.version);
    if (this.served.get(config.id) === stamp) return;
    const keys = [config.key, ...config.extraCredentials.map((c) => c.key)];
    if (this.options.reservedIds.has(config.id) || keys.some((k) => this.options.reservedKeys.has(k))) {
      // Configuration wins; say so once rather than on every reload.
      if (!this.shadowWarned.has(stamp)) {
        this.shadowWarned.add(stamp);
        this.options.logger.warn({ appId: config.id }, 'stored app not served: its id or key is used by an app from configuration');
      }
      this.remove(config.id);
      return;
    }
    this.options.registry.put(toApp(config));
    this.served.set(config.id, stamp);
  }

  private remove(id: string): void {
    if (!this.served.has(id)) return;
    this.served.delete(id);
    this.options.registry.remove(id);
  }

  private warnCorrupt(id: string): void {
    if (this.shadowWarned.has(`corrupt:${id}`)) return;
    this.shadowWarned.add(`corrupt:${id}`);
    this.options.logger.warn({ appId: id }, 'stored app is not valid and is not served; fix or delete it');
  }
}
