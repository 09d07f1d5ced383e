// WebSocket pings (RFC 6455 §5.5.2) from a real `ws` client (what pusher-js runs on in Node) to a
// running Herald: each is answered with a pong echoing its payload, in order, and the connection
// keeps working. Herald answers them itself (src/transports/websocket/gateway.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHerald } from '../helpers/herald.js';
import { RawClient } from '../helpers/raw-client.js';
import { withTimeout } from '../helpers/wait.js';

test('a ws client\'s pings are answered with pongs carrying their payloads, and the connection keeps serving', { timeout: 30_000 }, async () => {
  const h = await startTestHerald();
  const client = await RawClient.established(h.wsUrl, h.app.key);
  try {
    const pongs: string[] = [];
    const three = withTimeout(
      new Promise<void>((resolve) => {
        client.ws.on('pong', (data: Buffer) => {
          pongs.push(data.toString());
          if (pongs.length === 3) resolve();
        });
      }),
      5000,
      'three pongs',
    );
    for (const payload of ['one', '', 'x'.repeat(125)]) client.ws.ping(payload);
    await three;
    assert.deepEqual(pongs, ['one', '', 'x'.repeat(125)]);
    client.send({ event: 'pusher:subscribe', data: { channel: 'after-pings' } });
    await client.waitFor((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === 'after-pings');
    await h.pusherServer().trigger('after-pings', 'still-here', { ok: true });
    const event = await client.waitFor((f) => f.event === 'still-here');
    assert.deepEqual(event.data, { ok: true });
  } finally {
    client.ws.terminate();
    await h.stop();
  }
});
