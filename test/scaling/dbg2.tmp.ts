import { cleanupNamespace, startCluster } from './support.js';
const c = await startCluster('nats', { nodes: 1 });
console.log('prefix', c.prefix);
await c.stop();
