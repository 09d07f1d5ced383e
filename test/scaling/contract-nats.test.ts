/** The cluster-state contract against NATS JetStream KV (skipped with a message when NATS is not reachable). */
import { createLogger } from '../../src/platform/logger.js';
import { NatsClusterState } from '../../src/scaling/nats-cluster-state.js';
import { NatsLink } from '../../src/scaling/nats-link.js';
import { networkedContract } from './contract-networked.js';
import { NATS_URL } from './support.js';

networkedContract('nats', async (prefix, nodeTimeoutMs, clock) => {
  const logger = createLogger('silent', false);
  const link = new NatsLink({ url: NATS_URL, logger });
  // The state starts the link (JetStream KV buckets need it).
  const state = new NatsClusterState({ link, prefix, logger, nodeTimeoutMs, clock });
  await state.start();
  return { state, stopLink: () => link.stop() };
});
