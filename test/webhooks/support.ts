/** Shared helpers for the webhook tests: authorized pusher-js clients and fast-retry settings. */
import type Pusher from 'pusher';
import type { HeraldConfigInput } from '../../src/config/schema.js';
import type { DeliveryRecord } from '../../src/webhooks/delivery-log.js';
import { WEBHOOKS_SERVICE, type WebhookService } from '../../src/webhooks/service.js';
import type { TestHerald } from '../helpers/herald.js';
import type { PusherJs } from '../helpers/pusher-js.js';
import { nextEvent, withTimeout } from '../helpers/wait.js';

/** Guard for awaited events: generous, because the CI machine may be heavily loaded (never a timing assertion). */
export const WAIT_MS = 30_000;

/** Retries quickly so outage tests finish fast (the defaults are 1 s doubling up to 60 s). */
export const FAST_RETRY: Partial<HeraldConfigInput> = {
  webhookBackoffMaxMs: 200,
  webhookBatchWindowMs: 20,
  webhookTimeoutMs: 10_000,
};

/** A stock pusher-js client whose private/presence authorization is signed in-process by the pusher SDK. */
export function authorizedClient(h: TestHerald, server: Pusher, userId = 'user-1'): PusherJs {
  return h.pusherClient({
    channelAuthorization: {
      customHandler: (params: { socketId: string; channelName: string }, cb: (err: Error | null, data: unknown) => void) => {
        try {
          const presence = params.channelName.startsWith('presence-') ? { user_id: userId, user_info: { name: userId } } : undefined;
          cb(null, server.authorizeChannel(params.socketId, params.channelName, presence));
        } catch (err) {
          cb(err as Error, null);
        }
      },
    },
  });
}

export async function subscribed(client: PusherJs, name: string) {
  const channel = client.subscribe(name);
  await nextEvent(channel, 'pusher:subscription_succeeded');
  return channel;
}

export async function connected(client: PusherJs): Promise<string> {
  if (client.connection.state !== 'connected') await nextEvent(client.connection, 'connected');
  return client.connection.socket_id;
}

export function webhookService(h: TestHerald): WebhookService {
  return h.herald.services.get(WEBHOOKS_SERVICE)!;
}

/** Resolves with the first delivery-log record matching `match`. */
export function nextDelivery(service: WebhookService, match: (r: DeliveryRecord) => boolean, ms = WAIT_MS, what = 'delivery record'): Promise<DeliveryRecord> {
  let listener: (r: DeliveryRecord) => void = () => undefined;
  return withTimeout(
    new Promise<DeliveryRecord>((resolve) => {
      listener = (record) => {
        if (match(record)) resolve(record);
      };
      service.on('delivery', listener);
    }),
    ms,
    what,
  ).finally(() => service.off('delivery', listener));
}

/** PostgreSQL for durability tests, or undefined (with the reason) when it is not reachable. */
export async function postgresUrl(): Promise<{ url?: string; reason?: string }> {
  const url = process.env.HERALD_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { url };
  } catch (err) {
    return { reason: `PostgreSQL not reachable at ${url}: ${(err as Error).message}` };
  } finally {
    await client.end().catch(() => undefined);
  }
}
