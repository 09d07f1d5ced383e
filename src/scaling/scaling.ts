/**
 * Everything the engine needs from the cluster, as one bundle of small seams (broker.ts,
 * cluster-state.ts). `memoryScaling()` is the default (one node, all in process, synchronous);
 * createScaling (create.ts) picks Redis or NATS from the configuration, and a host process may
 * pass its own bundle (e.g. the IPC backends of a multi-worker node) to startHerald.
 */
import type { Broker, Control } from './broker.js';
import { systemClock, type Clock } from './clock.js';
import type { ChannelCache, ClusterNode, Membership, UserPresence } from './cluster-state.js';
import { MemoryBroker, MemoryControl } from './memory-broker.js';
import { memoryClusterState } from './memory-cluster-state.js';

export interface Scaling {
  /** Channel events (the fan-out path). */
  broker: Broker;
  /** Node-to-node control messages. */
  control: Control;
  membership: Membership;
  users: UserPresence;
  cache: ChannelCache;
  /** Start after the broker; stop before the broker. */
  node: ClusterNode;
}

export function memoryScaling(clock: Clock = systemClock): Scaling {
  return { broker: new MemoryBroker(), control: new MemoryControl(), ...memoryClusterState(clock) };
}
