/**
 * The apps capability: the app store (embedded PGlite or PostgreSQL) feeding the live app registry,
 * the admin API, per-app stats/usage and quotas. Apps from configuration keep working and are
 * read-only here. See docs/apps.md.
 */
import { randomUUID } from 'node:crypto';
import { registerAdminApi } from '../apps/admin-api.js';
import type { AppManager } from '../apps/manager.js';
import { AppStoreRuntime } from './runtime.js';
import { UsageTracker } from '../apps/usage.js';
import type { HeraldModule, ModuleContext } from '../core/module.js';
import { serviceKey } from '../platform/module-graph.js';
import { DATABASE_SERVICE } from './database-module.js';
import { REMOTE_STORE_SERVICE, USAGE_FLUSH, USAGE_FLUSH_ALL, WORKER_SERVICE } from '../core/worker-services.js';

export interface AppsService {
  /** Opens the store on first use; rejects with AppStoreError('unavailable') when it cannot. */
  manager(): Promise<AppManager>;
  /** False while no store exists yet (a fresh embedded data directory): every app is a configured one. */
  hasStore(): boolean;
  usage: UsageTracker;
}

/** Other capabilities (console, GraphQL, webhooks' usage counts) manage apps and read stats through it. */
export const APPS_SERVICE = serviceKey<AppsService>('apps');

export interface AppsModuleOptions {
  /** How often usage counters are written to the store (default 5 s). */
  flushIntervalMs?: number;
  /** Full reload of stored apps, the safety net behind LISTEN/NOTIFY (default 30 s). */
  reloadIntervalMs?: number;
  /** Uptime after which usage flushes may create a fresh embedded store (default 60 s). */
  createStoreAfterMs?: number;
}

export function appsModule(options: AppsModuleOptions = {}): HeraldModule {
  const flushIntervalMs = options.flushIntervalMs ?? 5000;
  const reloadIntervalMs = options.reloadIntervalMs ?? 30_000;
  let runtime: AppStoreRuntime | undefined;
  let usage: UsageTracker | undefined;

  const stop = async () => {
    await runtime?.close();
    await usage?.stop();
    runtime?.releaseLock();
    runtime = undefined;
    usage = undefined;
  };

  const start = async (ctx: ModuleContext) => {
    const { config, logger } = ctx;
    const worker = ctx.optional(WORKER_SERVICE);
    const tracker = new UsageTracker({
      engine: ctx.engine,
      nodeId: randomUUID(),
      // Connection counts are exchanged through the store between nodes, and between workers.
      cluster: config.databaseUrl !== undefined || worker !== undefined,
      flushOtherWorkers: worker && (() => worker.request(USAGE_FLUSH_ALL, undefined, 10_000)),
      flushIntervalMs,
      createStoreAfterMs: options.createStoreAfterMs,
      logger,
      openStore: async () => void (await runtime?.open()),
    });
    usage = tracker;
    worker?.handle(USAGE_FLUSH, () => tracker.flush());
    runtime = new AppStoreRuntime(ctx, tracker, reloadIntervalMs);
    await runtime.init();
    tracker.start();
    const store = runtime;

    ctx.engine.observe({
      connectionOpened: (app) => tracker.connectionOpened(app),
      published: (app, _channel, _event, _data, recipients) => tracker.delivered(app, recipients),
      clientEvent: (app) => tracker.clientEvent(app),
    });
    ctx.hooks.apiCall.push((app) => tracker.apiCall(app));
    ctx.hooks.beforePublish.push((app, events) => tracker.checkPublish(app, events));
    ctx.hooks.admitConnection.push((app, current) => tracker.admit(app, current));
    ctx.hooks.drain.push(() => tracker.flush());

    const manager = () => store.manager();
    registerAdminApi(ctx.router, { adminToken: config.adminToken, apps: ctx.apps, manager, usage: tracker });
    ctx.provide(APPS_SERVICE, { manager, hasStore: () => store.hasStore(), usage: tracker });
  };

  return {
    name: 'apps',
    provides: [APPS_SERVICE],
    needs: [DATABASE_SERVICE],
    // Whoever opens the embedded database first goes through the data-directory lock (runtime.ts).
    decorates: [DATABASE_SERVICE],
    optional: [WORKER_SERVICE, REMOTE_STORE_SERVICE],
    async start(ctx) {
      try {
        await start(ctx);
      } catch (err) {
        // Not counted as started, so Herald will not call stop(): release the lock and timers here.
        await stop().catch(() => undefined);
        throw err;
      }
    },
    stop,
  };
}
