/**
 * The cluster-state contract against a networked backend (Redis, NATS): each node is a state
 * object over its own link, in its own namespace; skipped with a message when the service is down.
 */
import type { ChannelCache, ClusterNode, Membership, UserPresence } from '../../src/scaling/cluster-state.js';
import { ManualClock } from '../../src/scaling/clock.js';
import { clusterContract, type ContractBackend } from './contract.js';
import { cleanupNamespace, serviceUp, skipMessage, uniqueId } from './support.js';

type NetworkedState = Membership & UserPresence & ChannelCache & ClusterNode;

/** Opens one node's state (started) and how to release its link. */
export type OpenState = (prefix: string, nodeTimeoutMs: number, clock?: ManualClock) => Promise<{ state: NetworkedState; stopLink: () => Promise<void> }>;

export function networkedContract(service: 'redis' | 'nats', open: OpenState): void {
  const node = async (prefix: string, nodeTimeoutMs: number, clock?: ManualClock): Promise<ContractBackend> => {
    const { state, stopLink } = await open(prefix, nodeTimeoutMs, clock);
    return {
      membership: state,
      users: state,
      cache: state,
      node: state,
      close: async () => {
        await state.stop();
        await stopLink();
        await cleanupNamespace(service, prefix);
      },
    };
  };
  clusterContract(
    service,
    async () => ((await serviceUp(service)) ? node(uniqueId('contract'), 15_000) : skipMessage(service)),
    async () => {
      if (!(await serviceUp(service))) return skipMessage(service);
      const prefix = uniqueId('contract-reap');
      return { dead: await node(prefix, 600, new ManualClock()), survivor: await node(prefix, 600) };
    },
  );
}
