/**
 * Builds the broker and cluster state chosen by configuration (HERALD_BROKER):
 *   memory — one node, everything in process (no cluster state: the engine's own maps);
 *   redis  — Redis pub/sub for messages, Redis (Lua scripts) for shared state;
 *   nats   — NATS for messages, NATS JetStream KV for shared state (no Redis needed).
 */
import type { HeraldConfig } from '../config/schema.js';
import type { Logger } from '../server/logger.js';
import type { Broker } from './broker.js';
import type { ClusterState } from './cluster-state.js';
import { MemoryBroker } from './memory-broker.js';
import { NatsBroker } from './nats-broker.js';
import { NatsClusterState } from './nats-cluster-state.js';
import { NatsLink } from './nats-link.js';
import { RedisBroker } from './redis-broker.js';
import { RedisClusterState } from './redis-cluster-state.js';
import { RedisLink } from './redis-link.js';

export interface Scaling {
  broker: Broker;
  /** Undefined on a single node. Start it after the broker; stop it before the broker. */
  cluster?: ClusterState;
}

type ScalingConfig = Pick<HeraldConfig, 'broker' | 'redisUrl' | 'natsUrl' | 'clusterPrefix' | 'nodeTimeoutMs'> & { startupTimeoutMs?: number };

export function createScaling(config: ScalingConfig, logger: Logger): Scaling {
  const log = logger.child({ component: 'scaling' });
  switch (config.broker) {
    case 'redis': {
      const link = new RedisLink({ url: config.redisUrl, logger: log, startupTimeoutMs: config.startupTimeoutMs });
      return {
        broker: new RedisBroker(link, config.clusterPrefix, log),
        cluster: new RedisClusterState({ link, prefix: config.clusterPrefix, logger: log, nodeTimeoutMs: config.nodeTimeoutMs }),
      };
    }
    case 'nats': {
      const link = new NatsLink({ url: config.natsUrl, logger: log, startupTimeoutMs: config.startupTimeoutMs });
      return {
        broker: new NatsBroker(link, config.clusterPrefix, log),
        cluster: new NatsClusterState({ link, prefix: config.clusterPrefix, logger: log, nodeTimeoutMs: config.nodeTimeoutMs }),
      };
    }
    default:
      return { broker: new MemoryBroker() };
  }
}
