/**
 * The one configuration schema. Environment variables, CLI flags and the generated
 * configuration reference (docs/configuration.md) are all derived from `SETTINGS` below.
 */
import { z } from 'zod';
import { appSchema } from '../apps/app.js';
import { weakTokenReason } from './secrets.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const configSchema = z.object({
  host: z.string().min(1).default('0.0.0.0'),
  port: z.number().int().min(0).max(65535).default(6001),
  logLevel: z.enum(LOG_LEVELS).default('info'),
  /** auto: human-readable lines on a terminal, JSON otherwise; json / pretty force one. */
  logFormat: z.enum(['auto', 'json', 'pretty']).default('auto'),
  /** Seconds of client silence before the server pings (sent to clients as activity_timeout). */
  activityTimeout: z.number().int().min(1).max(3600).default(120),
  /** Seconds to wait for any frame after a server ping before closing with 4201. */
  pongTimeout: z.number().int().min(1).max(600).default(30),
  /** Largest WebSocket message accepted, in bytes; larger frames close the socket with 1009. */
  maxFrameBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(256 * 1024),
  /** Largest HTTP request body accepted, in bytes (413 beyond). */
  maxBodyBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
  /** Bytes queued for one slow WebSocket client before it is disconnected (4100). */
  maxBufferedBytes: z.number().int().min(16 * 1024).default(4 * 1024 * 1024),
  /** Concurrent WebSocket connections from one IP address (0 = unlimited); over it: close 4100. */
  maxConnectionsPerIp: z.number().int().min(0).default(0),
  /** Serve plain HTTP/1.1 API requests on Herald's own request path (platform/http1); false: Node's server for all. */
  leanHttp: z.boolean().default(true),
  /** Time allowed for a client to send complete HTTP/upgrade request headers. */
  handshakeTimeoutMs: z.number().int().min(1000).max(600000).default(10000),
  /** Path prefix in front of /app/{key} (pusher-js `wsPath`). */
  wsPath: z.string().regex(/^(\/[A-Za-z0-9_.~-]+)*$/, 'must be empty or start with / (e.g. /ws)').default(''),
  /** Shorthand for a single app configured by HERALD_APP_* variables; merged into `apps`. */
  app: appSchema.partial().optional(),
  apps: z.array(appSchema).default([]),
  /** Comma-separated webhook URLs for the default app (all event types). */
  appWebhookUrl: z.string().optional(),
  adminToken: z
    .string()
    .min(16, 'must be at least 16 characters')
    .superRefine((token, ctx) => {
      const reason = token.length >= 16 ? weakTokenReason(token) : undefined;
      if (reason) ctx.addIssue({ code: 'custom', message: reason });
    })
    .optional(),
  dataDir: z.string().min(1).default('./.herald'),
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  broker: z.enum(['memory', 'redis', 'nats']).default('memory'),
  redisUrl: z.string().default('redis://127.0.0.1:6379'),
  natsUrl: z.string().default('nats://127.0.0.1:4222'),
  /** Namespace of this cluster's Redis keys / NATS subjects and KV bucket (several clusters can share a server). */
  clusterPrefix: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'must be 1–40 characters of A-Z a-z 0-9 _ -').default('herald'),
  /** A node that has not heartbeated for this long is removed from the cluster state (its members leave). */
  nodeTimeoutMs: z.number().int().min(500).max(300_000).default(15_000),
  metricsPort: z.number().int().min(0).max(65535).optional(),
  /** Interface of the separate metrics listener (default: `host`). */
  metricsHost: z.string().min(1).optional(),
  tlsCert: z.string().optional(),
  tlsKey: z.string().optional(),
  shutdownTimeoutMs: z.number().int().min(0).default(10000),
  /** How long start-up waits for PostgreSQL, Redis or NATS to become reachable (0 = forever). */
  startupTimeoutMs: z.number().int().min(0).default(0),
  /** Event loops (processes) of this node sharing its port: a number, or 'auto' = the CPUs this process may use (docs/scaling.md). */
  workers: z
    .preprocess(
      (v) => (typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v),
      z.union([z.literal('auto'), z.number().int().min(1).max(256)], { error: 'must be a number from 1 to 256, or auto' }),
    )
    .default(1),
  /** Beams: id of a default instance created (or kept in sync) at start; needs beamsSecretKey. */
  beamsInstanceId: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, 'must be 1-100 letters, digits, - or _').optional(),
  /** Beams: secret key of the default instance (Bearer credential of the Publish API, JWT key). */
  beamsSecretKey: z.string().min(8, 'must be at least 8 characters').max(256).regex(/^\S+$/, 'must not contain spaces').optional(),
  /** Webhooks: how long a failing event is retried (seconds since it happened) before it is dropped. */
  webhookRetrySeconds: z.number().int().min(1).max(7 * 24 * 3600).default(3600),
  /** Webhooks: longest wait for a receiver's response before the attempt counts as failed. */
  webhookTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  /** Webhooks: longest pause between retries (exponential back-off from 1 s, capped here). */
  webhookBackoffMaxMs: z.number().int().min(10).max(3_600_000).default(60_000),
  /** Webhooks: how long events are collected into one batched request. */
  webhookBatchWindowMs: z.number().int().min(0).max(10_000).default(50),
  /** Webhooks: most events in one batched request. */
  webhookBatchMaxEvents: z.number().int().min(1).max(1000).default(100),
  /** Webhooks: channel_vacated / member_removed delay, cancelled if the channel/user comes back (Pusher: up to 3 s). */
  webhookVacateDelayMs: z.number().int().min(0).max(60_000).default(3000),
});

export type HeraldConfigInput = z.input<typeof configSchema>;
export type HeraldConfig = z.output<typeof configSchema>;

export type SettingType = 'string' | 'int' | 'bool';

export interface Setting {
  /** Dotted path into the config object, e.g. `app.clientEvents`. */
  path: string;
  env: string;
  flag: string;
  type: SettingType;
  description: string;
  default?: string;
}

/** Settings reachable from the environment and the command line. */
export const SETTINGS: Setting[] = [
  { path: 'host', env: 'HERALD_HOST', flag: '--host', type: 'string', default: '0.0.0.0', description: 'Interface to listen on.' },
  { path: 'port', env: 'HERALD_PORT', flag: '--port', type: 'int', default: '6001', description: 'Port for WebSocket (/app/{key}) and HTTP API (/apps/{id}/...).' },
  { path: 'logLevel', env: 'HERALD_LOG_LEVEL', flag: '--log-level', type: 'string', default: 'info', description: `Log level: ${LOG_LEVELS.join(', ')}.` },
  { path: 'logFormat', env: 'HERALD_LOG_FORMAT', flag: '--log-format', type: 'string', default: 'auto', description: 'auto (readable lines on a terminal, JSON otherwise), json or pretty.' },
  { path: 'activityTimeout', env: 'HERALD_ACTIVITY_TIMEOUT', flag: '--activity-timeout', type: 'int', default: '120', description: 'Seconds of silence before the server pings a client; sent to clients as activity_timeout.' },
  { path: 'pongTimeout', env: 'HERALD_PONG_TIMEOUT', flag: '--pong-timeout', type: 'int', default: '30', description: 'Seconds to wait for a reply to a server ping before closing with 4201.' },
  { path: 'maxFrameBytes', env: 'HERALD_MAX_FRAME_BYTES', flag: '--max-frame-bytes', type: 'int', default: '262144', description: 'Largest WebSocket message accepted; larger ones close the socket with 1009.' },
  { path: 'maxBodyBytes', env: 'HERALD_MAX_BODY_BYTES', flag: '--max-body-bytes', type: 'int', default: '1048576', description: 'Largest HTTP request body accepted (413 beyond).' },
  { path: 'leanHttp', env: 'HERALD_LEAN_HTTP', flag: '--lean-http', type: 'bool', default: 'true', description: 'Serve plain HTTP/1.1 API requests (the Pusher HTTP API, /health) on Herald\'s own lean request path; false sends every request through Node\'s HTTP server. Without TLS only.' },
  { path: 'maxBufferedBytes', env: 'HERALD_MAX_BUFFERED_BYTES', flag: '--max-buffered-bytes', type: 'int', default: '4194304', description: 'Bytes queued for a client that does not read before it is disconnected with 4100.' },
  { path: 'wsPath', env: 'HERALD_WS_PATH', flag: '--ws-path', type: 'string', default: '', description: 'Path prefix before /app/{key} (pusher-js wsPath).' },
  { path: 'app.id', env: 'HERALD_APP_ID', flag: '--app-id', type: 'string', description: 'Default app id.' },
  { path: 'app.key', env: 'HERALD_APP_KEY', flag: '--app-key', type: 'string', description: 'Default app key.' },
  { path: 'app.secret', env: 'HERALD_APP_SECRET', flag: '--app-secret', type: 'string', description: 'Default app secret (at least 8 characters).' },
  { path: 'app.clientEvents', env: 'HERALD_APP_CLIENT_EVENTS', flag: '--app-client-events', type: 'bool', default: 'true', description: 'Allow client events for the default app.' },
  { path: 'appWebhookUrl', env: 'HERALD_APP_WEBHOOK_URL', flag: '--app-webhook-url', type: 'string', description: 'Comma-separated webhook URLs for the default app (all event types).' },
  { path: 'adminToken', env: 'HERALD_ADMIN_TOKEN', flag: '--admin-token', type: 'string', description: 'Bearer token for /admin, the console and admin GraphQL (at least 16 characters).' },
  { path: 'dataDir', env: 'HERALD_DATA_DIR', flag: '--data-dir', type: 'string', default: './.herald', description: 'Directory of the embedded store.' },
  { path: 'databaseUrl', env: 'HERALD_DATABASE_URL', flag: '--database-url', type: 'string', description: 'PostgreSQL URL; when set it replaces the embedded store.' },
  { path: 'broker', env: 'HERALD_BROKER', flag: '--broker', type: 'string', default: 'memory', description: 'memory, redis or nats: how nodes share messages and state.' },
  { path: 'redisUrl', env: 'HERALD_REDIS_URL', flag: '--redis-url', type: 'string', default: 'redis://127.0.0.1:6379', description: 'Redis URL for HERALD_BROKER=redis; for a Redis Cluster, several seed URLs separated by commas (or one URL with ?cluster=true).' },
  { path: 'natsUrl', env: 'HERALD_NATS_URL', flag: '--nats-url', type: 'string', default: 'nats://127.0.0.1:4222', description: 'NATS URL for HERALD_BROKER=nats.' },
  { path: 'clusterPrefix', env: 'HERALD_CLUSTER_PREFIX', flag: '--cluster-prefix', type: 'string', default: 'herald', description: 'Namespace of the Redis keys / NATS subjects and KV bucket of this cluster (all its nodes use the same).' },
  { path: 'nodeTimeoutMs', env: 'HERALD_NODE_TIMEOUT_MS', flag: '--node-timeout-ms', type: 'int', default: '15000', description: 'A node silent this long is removed from the cluster: its presence members leave (within about 1.3× this).' },
  { path: 'metricsPort', env: 'HERALD_METRICS_PORT', flag: '--metrics-port', type: 'int', description: 'Serve /metrics on this port instead of the main one.' },
  { path: 'metricsHost', env: 'HERALD_METRICS_HOST', flag: '--metrics-host', type: 'string', description: 'Interface of the metrics listener (needs HERALD_METRICS_PORT; default HERALD_HOST): e.g. 127.0.0.1 or an internal address, so /metrics is not on the public interface.' },
  { path: 'tlsCert', env: 'HERALD_TLS_CERT', flag: '--tls-cert', type: 'string', description: 'PEM certificate file; with HERALD_TLS_KEY serves wss:// and https://.' },
  { path: 'tlsKey', env: 'HERALD_TLS_KEY', flag: '--tls-key', type: 'string', description: 'PEM private key file.' },
  { path: 'maxConnectionsPerIp', env: 'HERALD_MAX_CONNECTIONS_PER_IP', flag: '--max-connections-per-ip', type: 'int', default: '0', description: 'Concurrent WebSocket connections from one IP (0 = unlimited; behind a proxy every client shares its IP). Over it: close 4100.' },
  { path: 'handshakeTimeoutMs', env: 'HERALD_HANDSHAKE_TIMEOUT_MS', flag: '--handshake-timeout-ms', type: 'int', default: '10000', description: 'Time a client has to send complete request headers (HTTP and WebSocket upgrade) before the socket is dropped.' },
  { path: 'shutdownTimeoutMs', env: 'HERALD_SHUTDOWN_TIMEOUT_MS', flag: '--shutdown-timeout-ms', type: 'int', default: '10000', description: 'Longest graceful shutdown before exiting anyway.' },
  { path: 'startupTimeoutMs', env: 'HERALD_STARTUP_TIMEOUT_MS', flag: '--startup-timeout-ms', type: 'int', default: '0', description: 'How long start-up retries PostgreSQL, Redis or NATS that are not reachable yet (one log line per attempt, back-off up to 10 s); past it `herald start` exits with code 3. 0 = retry forever.' },
  { path: 'workers', env: 'HERALD_WORKERS', flag: '--workers', type: 'string', description: 'Worker processes sharing the port, one event loop each (docs/scaling.md): a number from 1 to 256, or auto (the CPUs this process may use). Default 1: one process, no supervisor.' },
  { path: 'beamsInstanceId', env: 'HERALD_BEAMS_INSTANCE_ID', flag: '--beams-instance-id', type: 'string', description: 'Beams: id of a default instance created at start (with HERALD_BEAMS_SECRET_KEY); more via `herald beams create`.' },
  { path: 'beamsSecretKey', env: 'HERALD_BEAMS_SECRET_KEY', flag: '--beams-secret-key', type: 'string', description: 'Beams: secret key of the default instance (at least 8 characters).' },
  { path: 'webhookRetrySeconds', env: 'HERALD_WEBHOOK_RETRY_SECONDS', flag: '--webhook-retry-seconds', type: 'int', default: '3600', description: 'How long an undelivered webhook event is retried (seconds after it happened) before it is dropped.' },
  { path: 'webhookTimeoutMs', env: 'HERALD_WEBHOOK_TIMEOUT_MS', flag: '--webhook-timeout-ms', type: 'int', default: '10000', description: 'Longest wait for a webhook receiver to answer before the attempt counts as failed.' },
  { path: 'webhookBackoffMaxMs', env: 'HERALD_WEBHOOK_BACKOFF_MAX_MS', flag: '--webhook-backoff-max-ms', type: 'int', default: '60000', description: 'Longest pause between webhook retries (exponential back-off from 1 s).' },
  { path: 'webhookBatchWindowMs', env: 'HERALD_WEBHOOK_BATCH_WINDOW_MS', flag: '--webhook-batch-window-ms', type: 'int', default: '50', description: 'How long webhook events are collected into one request (apps with webhookBatching).' },
  { path: 'webhookBatchMaxEvents', env: 'HERALD_WEBHOOK_BATCH_MAX_EVENTS', flag: '--webhook-batch-max-events', type: 'int', default: '100', description: 'Most events in one batched webhook request.' },
  { path: 'webhookVacateDelayMs', env: 'HERALD_WEBHOOK_VACATE_DELAY_MS', flag: '--webhook-vacate-delay-ms', type: 'int', default: '3000', description: 'Delay of channel_vacated / member_removed webhooks; cancelled when the channel or user comes back in time.' },
];
