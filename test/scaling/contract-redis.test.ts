/** The cluster-state contract against Redis (skipped with a message when Redis is not reachable). */
import { createLogger } from '../../src/server/logger.js';
import { RedisClusterState } from '../../src/scaling/redis-cluster-state.js';
import { RedisLink } from '../../src/scaling/redis-link.js';
import { ManualClock } from '../../src/scaling/clock.js';
import { clusterContract, type ContractBackend } from './contract.js';
import { cleanupNamespace, REDIS_URL, serviceUp, skipMessage, uniqueId } from './support.js';

async function redisNode(prefix: string, nodeTimeoutMs: number, clock?: ManualClock): Promise<ContractBackend> {
  const logger = createLogger('silent', false);
  const link = new RedisLink({ url: REDIS_URL, logger });
  await link.start();
  const state = new RedisClusterState({ link, prefix, logger, nodeTimeoutMs, clock });
  await state.start();
  return {
    membership: state,
    users: state,
    cache: state,
    node: state,
    close: async () => {
      await state.stop();
      await link.stop();
      await cleanupNamespace('redis', prefix);
    },
  };
}

clusterContract(
  'redis',
  async () => ((await serviceUp('redis')) ? redisNode(uniqueId('contract'), 15_000) : skipMessage('redis')),
  async () => {
    if (!(await serviceUp('redis'))) return skipMessage('redis');
    const prefix = uniqueId('contract-reap');
    return { dead: await redisNode(prefix, 600, new ManualClock()), survivor: await redisNode(prefix, 600) };
  },
);
