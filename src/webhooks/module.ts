/**
 * Webhooks capability: engine events → Pusher-style signed, batched webhooks through a durable
 * outbox (docs/webhooks.md). Provides WEBHOOKS_SERVICE (WebhookService) and the delivery-log
 * routes; with the apps module present, counts each webhook request in the app's usage.
 */
import type { ChannelsEngine } from '../channels/engine.js';
import type { HeraldModule } from '../core/module.js';
import { APPS_SERVICE, type AppsService } from '../app-store/module.js';
import { DATABASE_SERVICE } from '../app-store/database-module.js';
import type { DeliveryRecord } from './delivery-log.js';
import { CACHE_MISS_GATE_SERVICE, WebhookEventSource } from './events.js';
import { registerWebhookRoutes } from './routes.js';
import { WEBHOOKS_SERVICE, WebhookService } from './service.js';
import { webhookSettings } from './settings.js';

/** How long shutdown waits for clients to finish closing (their channel_vacated events follow). */
const DISCONNECT_WAIT_MS = 1000;
/** Upper bound for sending what is due during shutdown (the Herald also has its own deadline). */
const DRAIN_DELIVERY_MS = 5000;

export function webhooksModule(): HeraldModule {
  let service: WebhookService | undefined;
  let unobserve: (() => void) | undefined;
  return {
    name: 'webhooks',
    provides: [WEBHOOKS_SERVICE],
    needs: [DATABASE_SERVICE],
    optional: [APPS_SERVICE, CACHE_MISS_GATE_SERVICE],
    async start(ctx) {
      const settings = webhookSettings(ctx.config);
      const webhooks = new WebhookService({
        settings,
        apps: ctx.apps,
        logger: ctx.logger.child({ module: 'webhooks' }),
        openDatabase: () => ctx.need(DATABASE_SERVICE)(),
      });
      const events = new WebhookEventSource({
        vacateDelayMs: settings.vacateDelayMs,
        sink: (app, event, happenedAt, timing) => webhooks.enqueue(app, event, happenedAt, timing),
        cacheMissGate: ctx.optional(CACHE_MISS_GATE_SERVICE),
      });
      service = webhooks;
      const stopObserving = ctx.engine.observe(events);
      const stopCounting = countUsage(webhooks, ctx.optional(APPS_SERVICE));
      unobserve = () => {
        stopObserving();
        stopCounting();
      };
      ctx.provide(WEBHOOKS_SERVICE, webhooks);
      registerWebhookRoutes(ctx.router, { apps: ctx.apps, service: webhooks, adminToken: ctx.config.adminToken });
      ctx.hooks.drain.push(async () => {
        const budget = Math.min(DRAIN_DELIVERY_MS, Math.max(100, ctx.config.shutdownTimeoutMs - 1000));
        // The vacancies and removals of the clients being closed must reach the outbox too.
        await connectionsClosed(ctx.engine, Math.min(DISCONNECT_WAIT_MS, budget));
        await webhooks.drain(Date.now() + budget);
      });
      await webhooks.start();
    },
    async stop() {
      unobserve?.();
      await service?.stop();
    },
  };
}

/**
 * Counts webhook requests in the apps' usage (webhooksSent), as Pusher counts webhook calls: every
 * 'delivered' or 'failed' record was one HTTP request sent; 'expired' and 'dropped' sent nothing.
 */
function countUsage(webhooks: WebhookService, apps: AppsService | undefined): () => void {
  if (!apps) return () => undefined;
  const listener = (record: DeliveryRecord) => {
    if (record.outcome === 'delivered' || record.outcome === 'failed') apps.usage.webhooksSent(record.appId, 1);
  };
  webhooks.on('delivery', listener);
  return () => webhooks.off('delivery', listener);
}

/** Resolves once the node has no connections left, or after `ms`. */
function connectionsClosed(engine: ChannelsEngine, ms: number): Promise<void> {
  if (engine.connectionCount() === 0) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      stopObserving();
      resolve();
    };
    const timer = setTimeout(done, ms);
    const stopObserving = engine.observe({
      connectionClosed: () => {
        if (engine.connectionCount() === 0) done();
      },
    });
  });
}
