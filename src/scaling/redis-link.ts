/**
 * The Redis connections one node uses: `commands` (state scripts and publishes, auto-pipelined)
 * and `subscriber` (pub/sub). Both reconnect forever; commands issued while disconnected wait
 * in ioredis' offline queue and run on reconnect, and the subscriber re-subscribes its channels.
 * Health (for /ready) is "both connections ready"; losing and regaining Redis is logged once each.
 *
 * Redis Cluster: give several seed URLs separated by commas (or one URL with `?cluster=true`);
 * the clients are then ioredis Cluster clients with sharded subscribers.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../platform/logger.js';
import { retryUntilConnected } from '../platform/startup-retry.js';

export interface RedisLinkOptions {
  url: string;
  logger: Logger;
  /** Longest wait for one connection attempt at start. */
  connectTimeoutMs?: number;
  /** Longest wait for Redis to become reachable at start, retrying (0 or undefined: forever). */
  startupTimeoutMs?: number;
}

const PING_EVERY_MS = 5000;
const PING_TIMEOUT_MS = 5000;

export class RedisLink {
  readonly commands: Redis;
  readonly subscriber: Redis;
  /** Connected to a Redis Cluster (several seeds, or ?cluster=true). */
  readonly clustered: boolean;
  /** Sharded pub/sub (SSUBSCRIBE/SPUBLISH) is used when the server has it (Redis 7+). */
  sharded = false;
  private down = false;
  private started = false;
  private stopped = false;
  private readonly logger: Logger;
  private readonly listeners = new Set<(up: boolean) => void>();
  private watchdog: NodeJS.Timeout | undefined;

  constructor(private readonly options: RedisLinkOptions) {
    this.logger = options.logger;
    const common: RedisOptions = {
      lazyConnect: true,
      maxRetriesPerRequest: null,
      enableReadyCheck: true,
      connectionName: 'herald',
      retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), 2000),
    };
    const target = parseRedisTarget(options.url);
    this.clustered = target.cluster;
    if (target.cluster) {
      // Cluster and Redis share the command API Herald uses; typed as Redis for one code path.
      const cluster = (extra: RedisOptions) =>
        new Cluster(target.seeds, {
          lazyConnect: true,
          enableReadyCheck: true,
          shardedSubscribers: true,
          enableAutoPipelining: extra.enableAutoPipelining,
          clusterRetryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 6), 2000),
          redisOptions: { maxRetriesPerRequest: null, connectionName: 'herald', username: target.username, password: target.password, tls: target.tls, ...extra },
        }) as unknown as Redis;
      this.commands = cluster({ enableAutoPipelining: true });
      this.subscriber = cluster({ autoResubscribe: true });
    } else {
      this.commands = new Redis(options.url, { ...common, enableAutoPipelining: true });
      this.subscriber = new Redis(options.url, { ...common, autoResubscribe: true });
    }
    for (const [role, client] of [
      ['commands', this.commands],
      ['subscriber', this.subscriber],
    ] as const) {
      client.on('error', (err: Error) => {
        if (!this.down) this.logger.debug({ err: err.message, role }, 'redis connection error');
      });
      client.on('close', () => this.update());
      client.on('end', () => this.update());
      client.on('ready', () => this.update());
    }
  }

  /**
   * Connects both clients. Redis not reachable yet is retried with back-off, one log line per
   * attempt, until `startupTimeoutMs` (0: forever); then StartupTimeoutError.
   */
  async start(): Promise<void> {
    await retryUntilConnected(() => this.connectOnce(), {
      dependency: 'Redis',
      where: redactUrl(this.options.url),
      logger: this.logger,
      timeoutMs: this.options.startupTimeoutMs,
      cancelled: () => this.stopped,
    });
    const version = await this.serverVersion();
    this.sharded = version.major >= 7;
    this.started = true;
    this.watchdog = setInterval(() => this.probe(), PING_EVERY_MS);
    this.watchdog.unref();
    this.logger.info({ redis: redactUrl(this.options.url), version: version.text, shardedPubSub: this.sharded, cluster: this.clustered }, 'connected to Redis');
  }

  /** One connection attempt of both clients, within connectTimeoutMs; both are closed again on failure. */
  private async connectOnce(): Promise<void> {
    const timeout = this.options.connectTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeout} ms`)), timeout);
    });
    try {
      await Promise.race([Promise.all([this.commands.connect(), this.subscriber.connect()]), deadline]);
    } catch (err) {
      this.commands.disconnect();
      this.subscriber.disconnect();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.started = false;
    clearInterval(this.watchdog);
    await Promise.allSettled([this.commands.quit(), this.subscriber.quit()]);
    this.commands.disconnect();
    this.subscriber.disconnect();
  }

  healthy(): boolean {
    return this.commands.status === 'ready' && this.subscriber.status === 'ready';
  }

  /** Called with false when either connection drops and with true when both are back. */
  onHealthChange(listener: (up: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private update(): void {
    if (!this.started) return;
    const up = this.healthy();
    const ending = this.commands.status === 'end' || this.subscriber.status === 'end';
    if (!up && !this.down && !ending) {
      this.down = true;
      this.logger.error({ redis: redactUrl(this.options.url) }, 'lost the Redis connection: cluster messages and state are unavailable, /ready fails until it is back (reconnecting)');
      for (const l of this.listeners) l(false);
    } else if (up && this.down) {
      this.down = false;
      this.logger.warn({ redis: redactUrl(this.options.url) }, 'Redis connection restored; messages published while it was down were not delivered across nodes');
      for (const l of this.listeners) l(true);
    }
  }

  /**
   * A silent network failure (no FIN, no RST) leaves a socket that looks connected forever:
   * an unanswered PING drops it, so the outage shows in /ready and the client reconnects.
   */
  private probe(): void {
    for (const client of [this.commands, this.subscriber]) {
      if (client.status !== 'ready') continue;
      const timer = setTimeout(() => {
        this.logger.warn({ redis: redactUrl(this.options.url) }, `Redis did not answer a ping within ${PING_TIMEOUT_MS} ms: reconnecting`);
        client.disconnect(true);
      }, PING_TIMEOUT_MS);
      timer.unref();
      client.ping().then(
        () => clearTimeout(timer),
        () => clearTimeout(timer),
      );
    }
  }

  private async serverVersion(): Promise<{ major: number; text: string }> {
    try {
      const info = await this.commands.info('server');
      const text = /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? 'unknown';
      return { major: Number.parseInt(text, 10) || 0, text };
    } catch {
      return { major: 0, text: 'unknown' };
    }
  }
}

type RedisTarget =
  | { cluster: false }
  | { cluster: true; seeds: Array<{ host: string; port: number }>; username?: string; password?: string; tls?: object };

/** One URL = one server; several comma-separated URLs or `?cluster=true` = a Redis Cluster's seeds. */
export function parseRedisTarget(value: string): RedisTarget {
  const urls = value.split(',').map((u) => u.trim()).filter(Boolean);
  let first: URL;
  try {
    first = new URL(urls[0] ?? '');
  } catch {
    throw new Error(`HERALD_REDIS_URL is not a redis:// URL: ${redactUrl(value)}`);
  }
  if (urls.length === 1 && first.searchParams.get('cluster') !== 'true') return { cluster: false };
  const seeds = urls.map((u) => {
    const parsed = new URL(u);
    return { host: parsed.hostname, port: Number(parsed.port || 6379) };
  });
  return {
    cluster: true,
    seeds,
    username: first.username ? decodeURIComponent(first.username) : undefined,
    password: first.password ? decodeURIComponent(first.password) : undefined,
    tls: first.protocol === 'rediss:' ? {} : undefined,
  };
}

/** The URL(s) without passwords, for logs and errors. */
export function redactUrl(url: string): string {
  if (url.includes(',')) return url.split(',').map((u) => redactUrl(u.trim())).join(',');
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(invalid URL)';
  }
}
