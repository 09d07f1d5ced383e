/**
 * The Prometheus metrics of one Herald (names prefixed `herald_`), plus the process-wide default
 * metrics (CPU, memory, event-loop lag, GC…) shared by every Herald in the process.
 * Counters kept as plain numbers elsewhere are copied in at scrape time (`collect`).
 */
import { readFileSync } from 'node:fs';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AppStats, AppStatsTable } from './app-stats.js';
import type { WebhookGauges } from './sources.js';
import { RouteHistogram } from './route-histogram.js';
import { registerEventLoopDelay } from './event-loop-delay.js';
import { processSendPath } from '../transports/websocket/native-send.js';

export const PREFIX = 'herald_';

/** What the collectors read when scraped. */
export interface MetricsState {
  apps: AppStatsTable;
  network(): { read: number; written: number };
  brokerName: string;
  brokerHealthy(): boolean;
  webhookGauges(): WebhookGauges | undefined;
  webhookQueueDepth(): Promise<number | undefined>;
  /** HTTP requests by route and status, counted outside prom-client (read per scrape). */
  httpRequestCounts?(): Iterable<{ route: string; status: string; count: number }>;
}

export interface HeraldMetrics {
  registry: Registry;
  httpRequests: Counter<'route' | 'status'>;
  httpDuration: RouteHistogram;
  refused: Counter<'code'>;
  /** Open connections of this node by transport (`ws`, `xhr_streaming`, `xhr_polling`). */
  transportConnections: Gauge<'transport'>;
  publishLatency: Histogram<'broker'>;
  webhookRequests: Counter<'app' | 'outcome'>;
  webhookEvents: Counter<'app' | 'outcome'>;
  webhookDuration: Histogram;
  /** Prometheus text exposition of this Herald's and the process's metrics. */
  render(): Promise<string>;
  /** The same metrics as objects (summed across the workers of a node by the primary). */
  json(): Promise<unknown[]>;
  contentType: string;
}

let processRegistry: Registry | undefined;

/** The longest timer Node accepts (~24.8 days). */
const DORMANT_MONITOR_MS = 2 ** 31 - 1;

/** Default Node.js metrics are per process: registered once, whatever the number of Heralds. */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    // prom-client's own delay monitor would wake the process every 10 ms (event-loop-delay.ts):
    // its timer is set to never fire in practice and its seven delay gauges are replaced.
    collectDefaultMetrics({ register: processRegistry, prefix: PREFIX, eventLoopMonitoringPrecision: DORMANT_MONITOR_MS });
    registerEventLoopDelay(processRegistry, PREFIX);
  }
  return processRegistry;
}

function packageVersion(): string {
  try {
    // src/metrics/ and dist/metrics/ are both two levels below package.json.
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** A counter whose per-app values are copied from AppStats on every scrape. */
function appCounter(registry: Registry, state: MetricsState, name: string, help: string, read: (s: AppStats) => number): void {
  new Counter({
    name: PREFIX + name,
    help,
    labelNames: ['app'],
    registers: [registry],
    collect() {
      this.reset();
      for (const stats of state.apps.labels()) this.inc({ app: stats.label }, read(stats));
    },
  });
}

function appGauge(registry: Registry, state: MetricsState, name: string, help: string, read: (s: AppStats) => number): void {
  new Gauge({
    name: PREFIX + name,
    help,
    labelNames: ['app'],
    registers: [registry],
    collect() {
      this.reset();
      for (const stats of state.apps.labels()) this.set({ app: stats.label }, read(stats));
    },
  });
}

function sourceCounter(registry: Registry, state: MetricsState, name: string, help: string, api: (s: AppStats) => number, client: (s: AppStats) => number): void {
  new Counter({
    name: PREFIX + name,
    help,
    labelNames: ['app', 'source'],
    registers: [registry],
    collect() {
      this.reset();
      for (const stats of state.apps.labels()) {
        this.inc({ app: stats.label, source: 'api' }, api(stats));
        this.inc({ app: stats.label, source: 'client' }, client(stats));
      }
    },
  });
}

export function createMetrics(state: MetricsState): HeraldMetrics {
  const registry = new Registry();
  const registers = [registry];

  new Gauge({ name: `${PREFIX}info`, help: 'Always 1; labels carry the Herald version and broker', labelNames: ['version', 'broker'], registers }).set(
    { version: packageVersion(), broker: state.brokerName },
    1,
  );

  appGauge(registry, state, 'connections', 'Open WebSocket connections', (s) => s.connections);
  appCounter(registry, state, 'connections_opened_total', 'WebSocket connections accepted', (s) => s.connectionsOpened);
  appCounter(registry, state, 'connections_closed_total', 'WebSocket connections closed (by either side)', (s) => s.connectionsClosed);
  appGauge(registry, state, 'channels', 'Occupied channels (at least one local subscriber)', (s) => s.channels);
  sourceCounter(
    registry,
    state,
    'messages_received_total',
    'Events published into Herald: HTTP API events (one per channel, counted on the node that received the call) and client events',
    (s) => s.apiMessagesIn,
    (s) => s.clientMessagesIn,
  );
  sourceCounter(registry, state, 'message_bytes_received_total', 'Event data bytes of messages_received_total', (s) => s.apiBytesIn, (s) => s.clientBytesIn);
  appCounter(registry, state, 'messages_sent_total', 'Event deliveries to WebSocket clients of this node (one per recipient)', (s) => s.messagesOut);
  appCounter(registry, state, 'message_bytes_sent_total', 'Event data bytes delivered (data size times recipients; frame envelope excluded)', (s) => s.bytesOut);

  const transportConnections = new Gauge({ name: `${PREFIX}transport_connections`, help: 'Open connections of this node by transport: ws, or the HTTP fallbacks xhr_streaming and xhr_polling', labelNames: ['transport'], registers });
  for (const transport of ['ws', 'xhr_streaming', 'xhr_polling']) transportConnections.set({ transport }, 0);
  const refused = new Counter({ name: `${PREFIX}connections_refused_total`, help: 'WebSocket handshakes refused, by Pusher close code', labelNames: ['code'], registers });
  const httpRequests = new Counter({
    name: `${PREFIX}http_requests_total`,
    help: 'HTTP requests by route and status',
    labelNames: ['route', 'status'],
    registers,
    collect() {
      if (!state.httpRequestCounts) return;
      this.reset();
      for (const { route, status, count } of state.httpRequestCounts()) this.inc({ route, status }, count);
    },
  });
  // Observed on every HTTP request: a plain-counter histogram (see route-histogram.ts).
  const httpDuration = new RouteHistogram(
    `${PREFIX}http_request_duration_seconds`,
    'HTTP request handling time by route',
    [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  );
  const publishLatency = new Histogram({
    name: `${PREFIX}publish_latency_seconds`,
    help: 'Time from an accepted HTTP publish to its delivery on the publishing node (includes the broker round trip)',
    labelNames: ['broker'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers,
  });

  new Counter({
    name: `${PREFIX}network_received_bytes_total`,
    help: 'Bytes read from client sockets on the main listener (HTTP, WebSocket and TLS)',
    registers,
    collect() {
      this.reset();
      this.inc(state.network().read);
    },
  });
  new Counter({
    name: `${PREFIX}network_sent_bytes_total`,
    help: 'Bytes written to client sockets on the main listener (HTTP, WebSocket and TLS)',
    registers,
    collect() {
      this.reset();
      this.inc(state.network().written);
    },
  });
  new Gauge({
    name: `${PREFIX}websocket_send_path`,
    help: 'Always 1; the label says how WebSocket frames are written: io_uring or send (native send path, docs/operations.md) or js',
    labelNames: ['path'],
    registers,
    collect() {
      this.reset();
      this.set({ path: processSendPath().path.name }, 1);
    },
  });
  new Gauge({
    name: `${PREFIX}broker_up`,
    help: '1 while the broker connection is healthy',
    labelNames: ['broker'],
    registers,
    collect() {
      this.set({ broker: state.brokerName }, state.brokerHealthy() ? 1 : 0);
    },
  });

  const webhookRequests = new Counter({
    name: `${PREFIX}webhook_requests_total`,
    help: 'Webhook HTTP attempts by outcome (delivered = 2xx, failed = retried later, expired = given up, dropped = endpoint removed)',
    labelNames: ['app', 'outcome'],
    registers,
  });
  const webhookEvents = new Counter({
    name: `${PREFIX}webhook_events_total`,
    help: 'Webhook events by the outcome of the request that carried them',
    labelNames: ['app', 'outcome'],
    registers,
  });
  const webhookDuration = new Histogram({
    name: `${PREFIX}webhook_request_duration_seconds`,
    help: 'Time for a webhook receiver to answer',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  new Gauge({
    name: `${PREFIX}webhook_queue_depth`,
    help: 'Webhook events waiting to be sent (the unwritten buffer, plus the outbox when the webhooks service reports it)',
    registers,
    async collect() {
      this.set((await state.webhookQueueDepth()) ?? 0);
    },
  });
  new Counter({
    name: `${PREFIX}webhook_buffer_dropped_events_total`,
    help: 'Webhook events lost because the outbox buffer was full (database unavailable for long)',
    registers,
    collect() {
      this.reset();
      this.inc(state.webhookGauges()?.dropped ?? 0);
    },
  });

  const shared = processMetrics();
  return {
    registry,
    httpRequests,
    httpDuration,
    refused,
    transportConnections,
    publishLatency,
    webhookRequests,
    webhookEvents,
    webhookDuration,
    contentType: registry.contentType,
    async render() {
      return (await registry.metrics()) + (await shared.metrics());
    },
    async json() {
      return [...(await registry.getMetricsAsJSON()), ...(await shared.getMetricsAsJSON())];
    },
  };
}
