/**
 * Builds the scaling backends chosen by configuration (HERALD_BROKER):
 *   memory — one node, everything in process (scaling.ts: memoryScaling);
 *   redis  — Redis pub/sub for messages, Redis (Lua scripts) for shared state;
 *   nats   — NATS for messages, NATS JetStream KV for shared state (no Redis needed).
 * Each networked backend is one broker (events + control over one link) and one cluster state
 * implementing Membership, UserPresence, ChannelCache and ClusterNode.
 */
import type { HeraldConfig } from '../config/schema.js';
import type { Logger } from '../platform/logger.js';
import { memoryScaling, type Scaling } from './scaling.js';

export type { Scaling };

type ScalingConfig = Pick<HeraldConfig, 'broker' | 'redisUrl' | 'natsUrl' | 'clusterPrefix' | 'nodeTimeoutMs'> & { startupTimeoutMs?: number };

/**
 * The networked backends are imported only when configured: ioredis (~15 MB resident once loaded)
 * and nats (~5 MB) would otherwise sit in every single-node process that never uses them.
 */
export async function createScaling(config: ScalingConfig, logger: Logger): Promise<Scaling> {
  const log = logger.child({ component: 'scaling' });
  switch (config.broker) {
    case 'redis': {
      const [{ RedisLink }, { RedisBroker }, { RedisClusterState }] = await Promise.all([
        import('./redis-link.js'),
        import('./redis-broker.js'),
        import('./redis-cluster-state.js'),
      ]);
      const link = new RedisLink({ url: config.redisUrl, logger: log, startupTimeoutMs: config.startupTimeoutMs });
      const broker = new RedisBroker(link, config.clusterPrefix, log);
      const state = new RedisClusterState({ link, prefix: config.clusterPrefix, logger: log, nodeTimeoutMs: config.nodeTimeoutMs });
      return { broker, control: broker.control, membership: state, users: state, cache: state, node: state };
    }
    case 'nats': {
      const [{ NatsLink }, { NatsBroker }, { NatsClusterState }] = await Promise.all([
        import('./nats-link.js'),
        import('./nats-broker.js'),
        import('./nats-cluster-state.js'),
      ]);
      const link = new NatsLink({ url: config.natsUrl, logger: log, startupTimeoutMs: config.startupTimeoutMs });
      const broker = new NatsBroker(link, config.clusterPrefix, log);
      const state = new NatsClusterState({ link, prefix: config.clusterPrefix, logger: log, nodeTimeoutMs: config.nodeTimeoutMs });
      return { broker, control: broker.control, membership: state, users: state, cache: state, node: state };
    }
    default:
      return memoryScaling();
  }
}
