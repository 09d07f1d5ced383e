/** The cluster-state contract against Redis (skipped with a message when Redis is not reachable). */
import { createLogger } from '../../src/platform/logger.js';
import { RedisClusterState } from '../../src/scaling/redis-cluster-state.js';
import { RedisLink } from '../../src/scaling/redis-link.js';
import { networkedContract } from './contract-networked.js';
import { REDIS_URL } from './support.js';

networkedContract('redis', async (prefix, nodeTimeoutMs, clock) => {
  const logger = createLogger('silent', false);
  const link = new RedisLink({ url: REDIS_URL, logger });
  await link.start();
  const state = new RedisClusterState({ link, prefix, logger, nodeTimeoutMs, clock });
  await state.start();
  return { state, stopLink: () => link.stop() };
});
