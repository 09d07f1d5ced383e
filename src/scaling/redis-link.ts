/**
 * The Redis connections one node uses: `commands` (state scripts and publishes, auto-pipelined)
 * and `subscriber` (pub/sub). Both reconnect forever; commands issued while disconnected wait
 * in ioredis' offline queue and run on reconnect, and the subscriber re-subscribes its channels.
 * Health (for /ready) is "both connections ready"; losing and regaining Redis is logged once each.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../server/logger.js';

export interface RedisLinkOptions {
  url: string;
  logger: Logger;
  /** Longest wait for the first connection at start. */
  connectTimeoutMs?: number;
}

export class RedisLink {
  readonly commands: Redis;
  readonly subscriber: Redis;
  /** Sharded pub/sub (SSUBSCRIBE/SPUBLISH) is used when the server has it (Redis 7+). */
  sharded = false;
  private down = false;
  private started = false;
  private readonly logger: Logger;
  private readonly listeners = new Set<(up: boolean) => void>();

  constructor(private readonly options: RedisLinkOptions) {
    this.logger = options.logger;
    const common: RedisOptions = {
      lazyConnect: true,
      maxRetriesPerRequest: null,
      enableReadyCheck: true,
      connectionName: 'herald',
      retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), 2000),
    };
    this.commands = new Redis(options.url, { ...common, enableAutoPipelining: true });
    this.subscriber = new Redis(options.url, { ...common, autoResubscribe: true });
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

  /** Connects both clients; rejects (with a clear message) when Redis is unreachable at start. */
  async start(): Promise<void> {
    const timeout = this.options.connectTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`cannot reach Redis at ${redactUrl(this.options.url)} within ${timeout} ms`)), timeout);
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
    const version = await this.serverVersion();
    this.sharded = version.major >= 7;
    this.started = true;
    this.logger.info({ redis: redactUrl(this.options.url), version: version.text, shardedPubSub: this.sharded }, 'connected to Redis');
  }

  async stop(): Promise<void> {
    this.started = false;
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

/** The URL without its password, for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(invalid URL)';
  }
}
