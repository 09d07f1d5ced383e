/**
 * The webhook service: routes events to endpoints, writes them to the outbox (off the hot path),
 * runs one dispatcher per configured (app, URL), and reports every delivery attempt.
 * Provided as WEBHOOKS_SERVICE so the console and metrics can subscribe:
 *
 *   const webhooks = ctx.optional(WEBHOOKS_SERVICE);     // declared in the module's `optional`
 *   webhooks.on('delivery', (record) => …);            // every attempt, after it is logged
 *   await webhooks.recentDeliveries(appId, 50);         // the stored log, newest first
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { App } from '../apps/app.js';
import type { AppRegistry } from '../apps/registry.js';
import type { Logger } from '../platform/logger.js';
import { serviceKey } from '../platform/module-graph.js';
import type { Database } from '../storage/database.js';
import { insertDelivery, recentDeliveries, type DeliveryRecord } from './delivery-log.js';
import { EndpointDispatcher } from './dispatcher.js';
import { cancelOnlyEndpoints, customHeaders, endpointByUrl, endpointsFor, endpointUrls } from './endpoints.js';
import type { EventTiming, WebhookEvent } from './events.js';
import { buildSignedRequest, WebhookHttpClient } from './http-post.js';
import { OutboxStore, type EndpointQueue, type NewOutboxRow } from './outbox.js';
import { OutboxWriter } from './outbox-writer.js';
import type { WebhookSettings } from './settings.js';

export const WEBHOOKS_SERVICE = serviceKey<WebhookService>('webhooks');

export interface WebhookServiceOptions {
  settings: WebhookSettings;
  apps: AppRegistry;
  logger: Logger;
  openDatabase: () => Promise<Database>;
  now?: () => number;
}

export interface WebhookServiceEvents {
  /** One delivery-log record (delivered, failed, expired or dropped), after it was stored. */
  delivery: [DeliveryRecord];
}

const SWEEP_INTERVAL_MS = 60_000;
/** The event a test delivery carries: a name no Pusher webhook uses, so receivers can ignore it. */
export const TEST_EVENT = 'herald_test';
const TEST_CHANNEL = 'herald-test';

/** The URL is not one of the app's endpoints (only configured endpoints are ever contacted). */
export class UnknownEndpointError extends Error {
  constructor(appId: string, url: string) {
    super(`App ${appId} has no webhook endpoint ${url.slice(0, 200)}`);
    this.name = 'UnknownEndpointError';
  }
}
const PRUNE_EVERY = 50;

export class WebhookService extends EventEmitter<WebhookServiceEvents> {
  readonly settings: WebhookSettings;
  private readonly apps: AppRegistry;
  private readonly logger: Logger;
  private readonly openDatabase: () => Promise<Database>;
  private readonly now: () => number;
  private readonly owner = randomUUID();
  private readonly http = new WebhookHttpClient();
  private readonly writer: OutboxWriter;
  private readonly dispatchers = new Map<string, EndpointDispatcher>();
  private readonly logCounts = new Map<string, number>();
  private storeReady: Promise<OutboxStore> | undefined;
  private store: OutboxStore | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private unsubscribeApps: (() => void) | undefined;
  private stopped = false;

  constructor(options: WebhookServiceOptions) {
    super();
    this.settings = options.settings;
    this.apps = options.apps;
    this.logger = options.logger;
    this.openDatabase = options.openDatabase;
    this.now = options.now ?? Date.now;
    this.writer = new OutboxWriter({
      insert: async (rows) => {
        await (await this.ensureStore()).write(rows, this.now());
      },
      onWritten: (rows) => this.wake(rows),
      flushDelayMs: this.settings.flushDelayMs,
      maxBuffered: this.settings.maxBufferedEvents,
      logger: this.logger,
    });
  }

  /**
   * Opens the outbox when any app has webhooks, so queued deliveries resume and new events are
   * durable from the first one. A database that cannot be opened does not stop Herald: events wait
   * in memory (bounded) while the writer keeps retrying.
   */
  async start(): Promise<void> {
    this.unsubscribeApps = this.apps.onChange((id, app) => void this.onAppChanged(id, app));
    if (this.apps.list().some((a) => a.webhooks.length > 0)) {
      await this.ensureStore().catch(() => undefined); // logged in ensureStore
    }
  }

  /** Called for every webhook event the engine produced (hot path: never blocks, never throws). */
  enqueue(app: App, event: WebhookEvent, happenedAt: number, timing: EventTiming = {}): void {
    const urls = endpointsFor(app, event);
    const { cancels } = timing;
    // A re-add cancels the held removal also where only the removal is wanted (a filtered endpoint).
    const cancelOnly = cancels === undefined ? [] : cancelOnlyEndpoints(app, event, urls);
    if (urls.length === 0 && cancelOnly.length === 0) return;
    const serialized = JSON.stringify(event);
    const hold = timing.hold ? { key: timing.hold.key, until: happenedAt + timing.hold.ms } : undefined;
    const rowFor = (url: string): NewOutboxRow => ({ appId: app.id, url, channel: event.channel, event: serialized, createdAt: happenedAt, expiresAt: happenedAt + this.settings.retryMs });
    for (const url of urls) {
      const row = rowFor(url);
      if (hold) row.hold = hold;
      if (cancels !== undefined) row.cancels = cancels;
      this.writer.add(row);
    }
    if (cancels !== undefined) for (const url of cancelOnly) this.writer.add({ ...rowFor(url), cancels, cancelOnly: true });
  }

  /** The stored delivery log of an app, newest first. */
  async recentDeliveries(appId: string, limit = 100, beforeId?: number): Promise<DeliveryRecord[]> {
    const store = await this.ensureStore();
    return recentDeliveries(store.database, appId, Math.max(1, Math.min(limit, 1000)), beforeId);
  }

  /** Events of an app waiting in the outbox (all endpoints, held removals included). */
  async pendingCount(appId: string): Promise<number> {
    const store = await this.ensureStore();
    return store.pendingCount(appId);
  }

  /** The outbox per endpoint of an app: waiting events, next retry, attempts (console, admin API). */
  async endpointQueues(appId: string): Promise<EndpointQueue[]> {
    return (await this.ensureStore()).queueSummary(appId);
  }

  /** Sends an endpoint's waiting retries now instead of at their back-off time; returns how many. */
  async retryNow(app: App, url: string): Promise<number> {
    if (!endpointByUrl(app, url)) throw new UnknownEndpointError(app.id, url);
    const store = await this.ensureStore();
    const moved = await store.retryNow(app.id, url, this.now());
    if (!this.stopped) this.dispatcher(app.id, url).poke();
    return moved;
  }

  /**
   * Sends one signed request with a single `herald_test` event to a configured endpoint, outside
   * the outbox (never retried), and logs it like any delivery so it shows in the delivery log.
   */
  async testSend(app: App, url: string): Promise<DeliveryRecord> {
    const endpoint = endpointByUrl(app, url);
    if (!endpoint) throw new UnknownEndpointError(app.id, url);
    const now = this.now();
    const event = { name: TEST_EVENT, channel: TEST_CHANNEL, data: JSON.stringify({ message: 'Test delivery from the Herald console' }) };
    const request = buildSignedRequest({ key: app.key, secret: app.secret }, now, [JSON.stringify(event)], customHeaders(endpoint));
    const result = await this.http.post(url, request, this.settings.timeoutMs);
    const record: DeliveryRecord = {
      appId: app.id,
      url,
      at: this.now(),
      outcome: result.ok ? 'delivered' : 'failed',
      latencyMs: result.latencyMs,
      events: 1,
      attempt: 1,
      sample: [{ name: TEST_EVENT, channel: TEST_CHANNEL }],
    };
    if (result.statusCode !== undefined) record.statusCode = result.statusCode;
    if (result.error !== undefined) record.error = result.error;
    const store = await this.ensureStore();
    const stored = { ...record, id: await insertDelivery(store.database, record) };
    this.report([stored]);
    return stored;
  }

  stats(): { buffered: number; written: number; dropped: number; endpoints: number } {
    return { buffered: this.writer.buffered, written: this.writer.written, dropped: this.writer.dropped, endpoints: this.dispatchers.size };
  }

  /** Writes buffered events to the outbox now. */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** Graceful shutdown, step 1: persist the buffer, then send what is due until `deadline`. */
  async drain(deadline: number): Promise<void> {
    await this.writer.flush();
    await Promise.all([...this.dispatchers.values()].map((d) => d.settle(deadline)));
  }

  /** Graceful shutdown, step 2: stop everything; leased rows are released for the next start. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribeApps?.();
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.writer.buffered > 0 && this.storeReady) await this.writer.flush().catch(() => undefined);
    this.writer.close();
    const stopping = [...this.dispatchers.values()].map((d) => d.stop());
    this.http.close();
    await Promise.all(stopping);
    if (this.store) {
      await this.store.releaseLeases(this.now()).catch((err) => this.logger.warn({ err }, 'could not release webhook leases'));
    }
    this.removeAllListeners();
  }

  // ---- internals ----------------------------------------------------------------------------

  private ensureStore(): Promise<OutboxStore> {
    if (this.storeReady) return this.storeReady;
    const opening = (async () => {
      const db = await this.openDatabase();
      const store = new OutboxStore(db, this.owner);
      const now = this.now();
      // The embedded store belongs to this process alone: every lease left is from a dead one.
      if (db.kind === 'embedded') await store.releaseLeases(now, true);
      this.store = store;
      if (this.stopped) return store;
      await this.resumeConfiguredEndpoints(store);
      this.pollTimer = setInterval(() => void this.poll(), this.settings.pollMs);
      this.pollTimer.unref();
      this.sweepTimer = setInterval(() => {
        store.sweepOrphans(this.now()).catch((err) => this.logger.warn({ err }, 'webhook outbox sweep failed'));
      }, SWEEP_INTERVAL_MS);
      this.sweepTimer.unref();
      return store;
    })();
    this.storeReady = opening;
    opening.catch((err) => {
      this.logger.error({ err }, 'webhook outbox unavailable: events are buffered in memory until the database opens');
      // Allow another attempt later (the writer retries with back-off).
      if (this.storeReady === opening) this.storeReady = undefined;
    });
    return opening;
  }

  /** Start-up: drop rows of removed endpoints, then let every configured endpoint look for work. */
  private async resumeConfiguredEndpoints(store: OutboxStore): Promise<void> {
    try {
      const stale = new Set<string>();
      for (const { appId, url } of await store.queuedEndpoints()) {
        const app = this.apps.byId(appId);
        if (app && !endpointByUrl(app, url)) stale.add(appId);
      }
      for (const appId of stale) await this.dropRemovedEndpoints(store, this.apps.byId(appId)!);
    } catch (err) {
      this.logger.warn({ err }, 'could not drop webhook events of removed endpoints');
    }
    for (const app of this.apps.list()) {
      for (const url of endpointUrls(app)) this.dispatcher(app.id, url).poke();
    }
  }

  private dispatcher(appId: string, url: string): EndpointDispatcher {
    const key = `${appId}\n${url}`;
    let dispatcher = this.dispatchers.get(key);
    if (!dispatcher) {
      dispatcher = new EndpointDispatcher(
        {
          store: this.store!,
          apps: this.apps,
          settings: this.settings,
          http: this.http,
          logger: this.logger,
          now: this.now,
          onDelivery: (records) => this.report(records),
        },
        appId,
        url,
      );
      this.dispatchers.set(key, dispatcher);
    }
    return dispatcher;
  }

  private wake(rows: NewOutboxRow[]): void {
    if (this.stopped || !this.store) return;
    let last = '';
    for (const row of rows) {
      const key = `${row.appId}\n${row.url}`;
      if (key === last) continue;
      last = key;
      this.dispatcher(row.appId, row.url).notify();
    }
  }

  private async poll(): Promise<void> {
    if (!this.store || this.stopped) return;
    try {
      for (const { appId, url } of await this.store.dueEndpoints(this.now())) {
        const app = this.apps.byId(appId);
        // Rows of apps this node does not know stay for a node that does (or the orphan sweep).
        if (app && endpointByUrl(app, url)) this.dispatcher(appId, url).poke();
      }
    } catch (err) {
      this.logger.warn({ err }, 'webhook outbox poll failed');
    }
  }

  private async onAppChanged(id: string, app: App | undefined): Promise<void> {
    if (this.stopped) return;
    const urls = app ? endpointUrls(app) : [];
    for (const [key, dispatcher] of this.dispatchers) {
      if (dispatcher.appId === id && !urls.includes(dispatcher.url)) {
        this.dispatchers.delete(key);
        void dispatcher.stop();
      }
    }
    if (urls.length > 0 && !this.store) {
      this.ensureStore().catch(() => undefined);
      return;
    }
    if (!this.store) return;
    try {
      if (app) await this.dropRemovedEndpoints(this.store, app);
      else await this.store.dropUnconfigured(id, []);
    } catch (err) {
      this.logger.warn({ err, appId: id }, 'could not drop webhook events of removed endpoints');
    }
    if (app) for (const url of urls) this.dispatcher(id, url).poke();
  }

  private async dropRemovedEndpoints(store: OutboxStore, app: App): Promise<void> {
    const dropped = await store.dropUnconfigured(app.id, endpointUrls(app));
    const records: DeliveryRecord[] = [];
    for (const { url, count } of dropped) {
      const record: DeliveryRecord = { appId: app.id, url, at: this.now(), outcome: 'dropped', events: count, attempt: 0, error: 'endpoint removed from the app configuration', sample: [] };
      records.push({ ...record, id: await insertDelivery(store.database, record) });
      this.logger.warn({ appId: app.id, url, events: count }, 'webhook events dropped: endpoint no longer configured');
    }
    this.report(records);
  }

  private report(records: DeliveryRecord[]): void {
    for (const record of records) {
      const count = (this.logCounts.get(record.appId) ?? 0) + 1;
      this.logCounts.set(record.appId, count % PRUNE_EVERY);
      if (count >= PRUNE_EVERY && this.store) {
        this.store.pruneLog(record.appId, this.settings.deliveryLogKeep).catch((err) => this.logger.warn({ err }, 'delivery log prune failed'));
      }
      try {
        this.emit('delivery', record);
      } catch (err) {
        this.logger.error({ err }, 'webhook delivery listener failed');
      }
    }
  }
}
