/** The cluster-state contract against the in-memory backend (the default of every single node). */
import { memoryScaling } from '../../src/scaling/scaling.js';
import { clusterContract } from './contract.js';

clusterContract('memory', async () => {
  const { membership, users, cache, node } = memoryScaling();
  await node.start();
  return { membership, users, cache, node, close: async () => undefined };
});
