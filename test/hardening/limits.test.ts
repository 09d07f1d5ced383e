/** Slow consumers, per-IP connection limits and connect/subscribe/disconnect churn. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { startTestHerald } from '../helpers/herald.js';
import { RawClient } from '../helpers/raw-client.js';
import { eventually, withTimeout } from '../helpers/wait.js';
import { hmacSha256Hex } from '../../src/protocol/signatures.js';

test('a client that stops reading is closed with 4100 once its buffer is full; others get everything', async () => {
  const h = await startTestHerald({ config: { maxBufferedBytes: 256 * 1024 } });
  try {
    const slow = await RawClient.established(h.wsUrl, h.app.key);
    const fast = await RawClient.established(h.wsUrl, h.app.key);
    for (const c of [slow, fast]) {
      c.send({ event: 'pusher:subscribe', data: { channel: 'firehose' } });
      await c.waitEvent('pusher_internal:subscription_succeeded', 'firehose');
    }
    (slow.ws as unknown as { _socket: Socket })._socket.pause();
    let received = 0;
    fast.ws.on('message', () => received++);
    const sdk = h.pusherServer();
    const payload = 'x'.repeat(9000);
    // Far more than loopback's kernel buffers hold, so the server-side queue must grow.
    const total = 2000;
    for (let i = 0; i < total; i += 10) {
      await sdk.triggerBatch(Array.from({ length: 10 }, () => ({ channel: 'firehose', name: 'blob', data: payload })));
    }
    await eventually(() => received >= total, 20_000, 'fast client receives every event');
    (slow.ws as unknown as { _socket: Socket })._socket.resume();
    const closed = await withTimeout(slow.closed, 20_000, 'slow client closed');
    assert.equal(closed.code, 4100);
    assert.equal(received, total);
    fast.close();
  } finally {
    await h.stop();
  }
});

test('connections per IP are capped (4100) when configured', async () => {
  const h = await startTestHerald({ config: { maxConnectionsPerIp: 2 } });
  try {
    const a = await RawClient.established(h.wsUrl, h.app.key);
    const b = await RawClient.established(h.wsUrl, h.app.key);
    const c = await RawClient.connect(`${h.wsUrl}/app/${h.app.key}?protocol=7`);
    assert.equal((await c.closed).code, 4100);
    a.close();
    await a.closed;
    await eventually(async () => {
      const d = await RawClient.connect(`${h.wsUrl}/app/${h.app.key}?protocol=7`);
      const first = await Promise.race([d.waitFor(() => true).then(() => 'open'), d.closed.then(() => 'closed')]);
      d.close();
      return first === 'open';
    }, 5000, 'a slot frees up when a connection closes');
    b.close();
  } finally {
    await h.stop();
  }
});

test('churn: connect/subscribe/disconnect cycles leave no channel, presence or connection state behind', async () => {
  const cycles = Number(process.env.HERALD_CHURN_CYCLES ?? 1500);
  const h = await startTestHerald();
  try {
    const sdk = h.pusherServer();
    const rssBefore = process.memoryUsage().rss;
    const batch = 50;
    for (let done = 0; done < cycles; done += batch) {
      await Promise.all(
        Array.from({ length: batch }, async (_, i) => {
          const c = await RawClient.established(h.wsUrl, h.app.key);
          const n = done + i;
          c.send({ event: 'pusher:subscribe', data: { channel: `churn-${n % 20}` } });
          const channelData = JSON.stringify({ user_id: `u${n % 7}` });
          const auth = `${h.app.key}:${hmacSha256Hex(h.app.secret, `${c.socketId}:presence-churn:${channelData}`)}`;
          c.send({ event: 'pusher:subscribe', data: { channel: 'presence-churn', auth, channel_data: channelData } });
          await c.waitEvent('pusher_internal:subscription_succeeded', 'presence-churn');
          c.close();
          await c.closed;
        }),
      );
    }
    await eventually(async () => Object.keys((await (await sdk.get({ path: '/channels', params: {} })).json()).channels).length === 0, 10_000, 'no occupied channels');
    const users = await (await sdk.get({ path: '/channels/presence-churn/users', params: {} })).json();
    assert.deepEqual(users, { users: [] });
    const info = await (await sdk.get({ path: '/channels/presence-churn', params: { info: 'user_count,subscription_count' } })).json();
    assert.deepEqual(info, { occupied: false, user_count: 0, subscription_count: 0 });
    assert.equal(h.herald.engine.connectionCount(), 0);
    const rssAfter = process.memoryUsage().rss;
    process.stdout.write(`# churn: ${cycles} cycles, RSS ${(rssBefore / 1e6).toFixed(1)} MB → ${(rssAfter / 1e6).toFixed(1)} MB\n`);
  } finally {
    await h.stop();
  }
});
