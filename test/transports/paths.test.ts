/**
 * pusher-js's `wsPath` and `httpPath` against a Herald with HERALD_WS_PATH (docs/protocol.md, HTTP
 * fallback URLs): `wsPath` moves the WebSocket URL only, `httpPath` the HTTP ones only; Herald
 * serves the HTTP routes under `/pusher` and under its wsPath.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { closeCode } from '../helpers/pusher-js.js';
import { nextEvent } from '../helpers/wait.js';

let h: TestHerald;
before(async () => {
  h = await startTestHerald({ config: { wsPath: '/realtime' } });
});
after(() => h.stop());

const http = (extra: Record<string, unknown>) => ({ httpHost: '127.0.0.1', httpPort: h.port, enabledTransports: ['xhr_polling'], ...extra });

test('wsPath: the WebSocket connects under the prefix', async () => {
  const client = h.pusherClient({ wsPath: '/realtime' });
  await nextEvent(client.connection, 'connected');
  client.disconnect();
});

test('HTTP fallbacks connect under /pusher (the default httpPath, whatever wsPath is) and under the wsPath prefix', async () => {
  for (const options of [http({ wsPath: '/realtime' }), http({ httpPath: '/realtime' })]) {
    const client = h.pusherClient(options);
    await nextEvent(client.connection, 'connected', 15_000);
    client.disconnect();
  }
});

test('httpPath alone does not move the WebSocket URL: /app/{key} is refused with 4005', async () => {
  const client = h.pusherClient({ httpPath: '/realtime' });
  assert.equal(await closeCode(client), 4005);
  client.disconnect();
});
