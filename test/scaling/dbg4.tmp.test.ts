import { test } from 'node:test';
import { startChildNode } from './child-node.js';
test('x', async () => {
const n = await startChildNode({ HERALD_BROKER: 'redis', HERALD_APP_ID: 'a', HERALD_APP_KEY: 'k', HERALD_APP_SECRET: 'secret123' });
console.log('port', n.port);
await n.cleanup();
});
