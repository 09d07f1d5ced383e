/**
 * Prometheus metrics at GET /metrics — on the main port, or on its own listener when
 * HERALD_METRICS_PORT is set. Counting happens in engine observers and server hooks with plain
 * number increments; prom-client only sees the totals when scraped. See docs/operations.md.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendText } from '../platform/http-context.js';
import type { HeraldModule, ModuleContext } from '../core/module.js';
import { serviceKey } from '../platform/module-graph.js';
import { WEBHOOKS_SERVICE } from '../webhooks/service.js';
import { AppStatsTable, PendingPublishes } from './app-stats.js';
import { createMetrics, type HeraldMetrics } from './collectors.js';
import { Counter } from 'prom-client';
import { XHR_FORWARDED_SERVICE } from '../transports/xhr/module.js';
import { networkTotals } from './network.js';
import { METRICS_RENDER_SERVICE } from '../core/worker-services.js';
import { onWebhookDelivery, readWebhookGauges, readWebhookQueueDepth } from './sources.js';

/** The metrics service: lets tests and other modules scrape without HTTP. */
export interface MetricsService {
  /** Port of the separate metrics listener; undefined when /metrics is on the main port. */
  port: number | undefined;
  metrics: HeraldMetrics;
}

export const METRICS_SERVICE = serviceKey<MetricsService>('metrics');

export interface MetricsOptions {
  /** Apps with their own `app` label; the rest share "(other)" (bounds label cardinality). */
  maxAppLabels?: number;
}

export function metricsModule(options: MetricsOptions = {}): HeraldModule {
  let unobserve: (() => void) | undefined;
  let listener: Server | undefined;
  return {
    name: 'metrics',
    provides: [METRICS_SERVICE],
    // Read at start: their providers start first when present.
    optional: [WEBHOOKS_SERVICE, XHR_FORWARDED_SERVICE, METRICS_RENDER_SERVICE],
    // Its beforePublish hook times publishes from admission, so it runs after the quota check.
    after: [{ module: 'apps', why: 'publish latency is timed after the quota check (beforePublish order)' }],
    async start(ctx: ModuleContext) {
      const webhookService = ctx.optional(WEBHOOKS_SERVICE);
      const xhrForwarded = ctx.optional(XHR_FORWARDED_SERVICE);
      const apps = new AppStatsTable(options.maxAppLabels ?? 50);
      // Requests by route and status: plain counts on the hot path (prom-client hashes the label
      // object on every inc()), handed to the counter when scraped.
      const requestCounts = new Map<string, Map<number, { route: string; status: string; count: number }>>();
      const metrics = createMetrics({
        apps,
        httpRequestCounts: () => [...requestCounts.values()].flatMap((byStatus) => [...byStatus.values()]),
        network: () => networkTotals(ctx.socketBytes),
        brokerName: ctx.broker.name,
        brokerHealthy: () => ctx.broker.healthy(),
        webhookGauges: () => readWebhookGauges(webhookService),
        webhookQueueDepth: () => readWebhookQueueDepth(webhookService),
      });
      // Read per scrape from the xhr module (multi-worker nodes: requests handed to the owning worker).
      new Counter({
        name: 'herald_xhr_forwarded_requests_total',
        help: 'HTTP fallback (xhr) requests a worker handed to the worker owning their session',
        registers: [metrics.registry],
        collect() {
          this.reset();
          this.inc(xhrForwarded?.() ?? 0);
        },
      });
      const stopEngine = observeEngine(ctx, apps, metrics);
      const stopWebhooks = recordWebhooks(webhookService, apps, metrics);
      unobserve = () => {
        stopEngine();
        stopWebhooks?.();
      };

      ctx.hooks.httpRequest.push((_method, route, status, ms) => {
        let byStatus = requestCounts.get(route);
        if (!byStatus) requestCounts.set(route, (byStatus = new Map()));
        const cell = byStatus.get(status);
        if (cell) cell.count++;
        else byStatus.set(status, { route, status: String(status), count: 1 });
        metrics.httpDuration.route(route).observe(ms / 1000);
      });

      // In a worker of a multi-worker node the primary sums every worker's metrics.
      const renderNode = ctx.optional(METRICS_RENDER_SERVICE);
      const serve = async (res: ServerResponse) => {
        sendText(res, 200, await (renderNode ?? metrics.render)(), metrics.contentType);
      };
      if (ctx.config.metricsPort === undefined) {
        ctx.router.add('GET', '/metrics', (httpCtx) => serve(httpCtx.res));
      } else {
        listener = await listen(ctx, serve);
      }
      const service: MetricsService = { port: listener ? (listener.address() as AddressInfo).port : undefined, metrics };
      ctx.provide(METRICS_SERVICE, service);
    },
    async stop() {
      unobserve?.();
      if (listener) {
        const closing = new Promise<void>((resolve) => listener!.close(() => resolve()));
        listener.closeAllConnections();
        await closing;
      }
    },
  };
}

const LATENCY_SAMPLE_EVERY = 16;

function observeEngine(ctx: ModuleContext, apps: AppStatsTable, metrics: HeraldMetrics): () => void {
  const pending = new PendingPublishes();
  const publishLatency = metrics.publishLatency.labels({ broker: ctx.broker.name });
  let admitted = 0;
  ctx.hooks.beforePublish.push((app, events) => {
    const stats = apps.get(app.id);
    for (const event of events) {
      const channels = event.channels.length;
      stats.apiMessagesIn += channels;
      stats.apiBytesIn += Buffer.byteLength(event.data) * channels;
      // The latency histogram needs a sample, not every publish: timing 1 in 16 keeps this
      // bookkeeping (a key string and a map entry per channel) off most publishes.
      if (admitted++ % LATENCY_SAMPLE_EVERY !== 0) continue;
      const now = performance.now();
      for (const channel of event.channels) pending.add(PendingPublishes.key(app.id, channel, event.name), now);
    }
  });
  // One labelled child per transport, looked up once: connection churn must not hash labels each time.
  const byTransport = new Map<string, ReturnType<typeof metrics.transportConnections.labels>>();
  const transportGauge = (transport = 'ws') => {
    let child = byTransport.get(transport);
    if (!child) byTransport.set(transport, (child = metrics.transportConnections.labels({ transport })));
    return child;
  };
  return ctx.engine.observe({
    connectionOpened(app, conn) {
      const stats = apps.get(app.id);
      stats.connections++;
      stats.connectionsOpened++;
      transportGauge(conn.transport).inc();
    },
    connectionClosed(app, conn) {
      const stats = apps.get(app.id);
      stats.connections--;
      stats.connectionsClosed++;
      transportGauge(conn.transport).dec();
    },
    connectionRefused(_appKey, code) {
      metrics.refused.inc({ code: String(code) });
    },
    channelOccupied(app) {
      apps.get(app.id).channels++;
    },
    channelVacated(app) {
      apps.get(app.id).channels--;
    },
    clientEvent(app, _channel, _event, data) {
      const stats = apps.get(app.id);
      stats.clientMessagesIn++;
      stats.clientBytesIn += Buffer.byteLength(data);
    },
    // Once per publish and channel, with the number of local recipients: never per message.
    published(app, channel, event, data, recipients, source) {
      if (recipients > 0) {
        const stats = apps.get(app.id);
        stats.messagesOut += recipients;
        stats.bytesOut += Buffer.byteLength(data) * recipients;
      }
      if (source !== 'api' || pending.size === 0) return;
      const admittedAt = pending.take(PendingPublishes.key(app.id, channel, event));
      if (admittedAt === undefined) return; // not sampled, or published through another node
      publishLatency.observe((performance.now() - admittedAt) / 1000);
    },
  });
}

/** Counts the webhook deliveries the webhooks service reports; returns the detach function. */
function recordWebhooks(service: unknown, apps: AppStatsTable, metrics: HeraldMetrics): (() => void) | undefined {
  return onWebhookDelivery(service, (d) => {
    const labels = { app: apps.get(d.appId).label, outcome: d.outcome };
    metrics.webhookRequests.inc(labels);
    metrics.webhookEvents.inc(labels, d.events);
    if (d.latencyMs !== undefined) metrics.webhookDuration.observe(d.latencyMs / 1000);
  });
}

async function listen(ctx: ModuleContext, serve: (res: ServerResponse) => Promise<void>): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if ((req.method === 'GET' || req.method === 'HEAD') && path === '/metrics') {
      serve(res).catch((err) => {
        ctx.logger.error({ err }, 'metrics scrape failed');
        if (!res.headersSent) res.writeHead(500).end();
      });
      return;
    }
    sendText(res, 404, 'Not found: this listener serves GET /metrics only\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(ctx.config.metricsPort, ctx.config.metricsHost ?? ctx.config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  ctx.logger.info({ host: ctx.config.metricsHost ?? ctx.config.host, port: (server.address() as AddressInfo).port }, 'metrics listening');
  return server;
}
