/** The cluster-state contract against NATS JetStream KV (skipped with a message when NATS is not reachable). */
import { createLogger } from '../../src/server/logger.js';
import { NatsClusterState } from '../../src/scaling/nats-cluster-state.js';
import { NatsLink } from '../../src/scaling/nats-link.js';
import { ManualClock } from '../../src/scaling/clock.js';
import { clusterContract, type ContractBackend } from './contract.js';
import { cleanupNamespace, NATS_URL, serviceUp, skipMessage, uniqueId } from './support.js';

async function natsNode(prefix: string, nodeTimeoutMs: number, clock?: ManualClock): Promise<ContractBackend> {
  const logger = createLogger('silent', false);
  const link = new NatsLink({ url: NATS_URL, logger });
  const state = new NatsClusterState({ link, prefix, logger, nodeTimeoutMs, clock });
  await state.start();
  return {
    membership: state,
    users: state,
    cache: state,
    node: state,
    close: async () => {
      await state.stop();
      await link.stop();
      await cleanupNamespace('nats', prefix);
    },
  };
}

clusterContract(
  'nats',
  async () => ((await serviceUp('nats')) ? natsNode(uniqueId('contract'), 15_000) : skipMessage('nats')),
  async () => {
    if (!(await serviceUp('nats'))) return skipMessage('nats');
    const prefix = uniqueId('contract-reap');
    return { dead: await natsNode(prefix, 600, new ManualClock()), survivor: await natsNode(prefix, 600) };
  },
);
