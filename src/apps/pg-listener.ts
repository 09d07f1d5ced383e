/**
 * A dedicated PostgreSQL connection that LISTENs for app changes made by other nodes or the CLI.
 * Reconnects with backoff when the connection drops; after a reconnect the caller reloads
 * everything, since notifications sent meanwhile are lost.
 */
import type pg from 'pg';
import type { Logger } from '../platform/logger.js';

export interface ChangeListener {
  close(): Promise<void>;
}

export interface ListenOptions {
  databaseUrl: string;
  channel: string;
  onNotification(payload: string): void;
  /** Called after a reconnect (not after the first connect). */
  onReconnected(): void;
  logger: Logger;
}

const MAX_BACKOFF_MS = 30_000;

export async function listenForChanges(options: ListenOptions): Promise<ChangeListener> {
  let client: pg.Client | undefined;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let backoff = 500;

  const connect = async (): Promise<void> => {
    // Loaded here, not at start-up: only a PostgreSQL store listens (the embedded default never does).
    const { default: pgModule } = await import('pg');
    const c = new pgModule.Client({ connectionString: options.databaseUrl });
    c.on('notification', (msg) => {
      if (msg.channel === options.channel && typeof msg.payload === 'string') options.onNotification(msg.payload);
    });
    c.on('error', () => dropped(c));
    c.on('end', () => dropped(c));
    try {
      await c.connect();
      await c.query(`LISTEN ${options.channel}`);
    } catch (err) {
      await c.end().catch(() => undefined);
      throw err;
    }
    client = c;
  };

  const dropped = (c: pg.Client) => {
    if (closed || client !== c) return;
    client = undefined;
    c.end().catch(() => undefined);
    options.logger.warn('app change listener lost its database connection; reconnecting');
    schedule();
  };

  const schedule = () => {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      connect().then(
        () => {
          backoff = 500;
          options.logger.info('app change listener reconnected');
          options.onReconnected();
        },
        () => {
          backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
          schedule();
        },
      );
    }, backoff);
    retryTimer.unref();
  };

  await connect();
  return {
    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}
