/** The development app never coexists with real apps: it is withdrawn as soon as one exists. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHerald } from '../../src/server/herald.js';
import { configSchema } from '../../src/config/schema.js';
import { DEVELOPMENT_APP } from '../../src/config/load.js';
import { parseApp } from '../../src/apps/app.js';
import { MemoryAppRegistry } from '../../src/apps/registry.js';
import { createLogger } from '../../src/platform/logger.js';
import { RawClient } from '../helpers/raw-client.js';

test('a real app appearing at run time withdraws the development app', async () => {
  const dev = parseApp({ ...DEVELOPMENT_APP });
  const registry = new MemoryAppRegistry([dev]);
  const herald = await startHerald({
    config: configSchema.parse({ host: '127.0.0.1', port: 0, logLevel: 'silent' }),
    apps: [dev],
    registry,
    modules: [],
    developmentAppId: dev.id,
    logger: createLogger('silent', false),
  });
  try {
    const before = await RawClient.established(`ws://127.0.0.1:${herald.port}`, dev.key);
    registry.put(parseApp({ id: 'real', key: 'real-key', secret: 'real-secret-1' }));
    assert.equal(registry.byId(dev.id), undefined);
    assert.equal((await before.closed).code, 4001, 'sockets of the withdrawn app are closed');
    const refused = await RawClient.connect(`ws://127.0.0.1:${herald.port}/app/${dev.key}?protocol=7`);
    assert.equal((await refused.closed).code, 4001);
    await RawClient.established(`ws://127.0.0.1:${herald.port}`, 'real-key').then((c) => c.close());
  } finally {
    await herald.close();
  }
});
