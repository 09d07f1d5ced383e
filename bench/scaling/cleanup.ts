/** Removes what one benchmark run left in Redis (its key prefix) or NATS (its KV bucket). */
import { Redis } from 'ioredis';
import { connect } from 'nats';

export async function cleanupNamespace(broker: string, prefix: string): Promise<void> {
  try {
    if (broker === 'redis') {
      const redis = new Redis(process.env.HERALD_REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
      await redis.connect();
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
      redis.disconnect();
    } else if (broker === 'nats') {
      const nc = await connect({ servers: process.env.HERALD_NATS_URL ?? 'nats://127.0.0.1:4222', timeout: 2000 });
      await (await nc.jetstreamManager()).streams.delete(`KV_${prefix}-state`).catch(() => undefined);
      await nc.close();
    }
  } catch {
    /* best effort: a leftover namespace is small and harmless */
  }
}
