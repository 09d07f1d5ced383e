/**
 * Graceful shutdown end to end: `herald start` child processes, SIGTERM with connected clients.
 * Clients are told to reconnect (close code 4200) and stock pusher-js does — through a switching
 * TCP proxy standing in for a load balancer — to a second node, where events reach it again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Pusher from 'pusher';
import { WebSocket } from 'ws';
import { PusherJs } from '../helpers/pusher-js.js';
import { nextEvent, withTimeout } from '../helpers/wait.js';
import { CHILD_APP, startChildHerald } from './child-herald.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

test('SIGTERM: clients get 4200 and pusher-js reconnects to another node; the process exits 0', async (t) => {
  const [nodeA, nodeB] = await Promise.all([startChildHerald(), startChildHerald()]);
  const proxy = new TcpProxy(nodeA.port);
  await proxy.start();
  const client = new PusherJs(CHILD_APP.key, { cluster: 'local', wsHost: '127.0.0.1', wsPort: proxy.port, forceTLS: false, enabledTransports: ['ws'] });
  t.after(async () => {
    client.disconnect();
    await proxy.stop();
    await Promise.all([nodeA.cleanup(), nodeB.cleanup()]);
  });

  await nextEvent(client.connection, 'connected', 30_000);
  const firstSocketId = client.connection.socket_id;
  const channel = client.subscribe('failover');
  await nextEvent(channel, 'pusher:subscription_succeeded');

  // A raw WebSocket straight to node A, to see the exact close code pusher-js acts on.
  const raw = new WebSocket(`ws://127.0.0.1:${nodeA.port}/app/${CHILD_APP.key}?protocol=7`);
  await new Promise((resolve, reject) => raw.once('message', resolve).once('error', reject));
  const rawClosed = new Promise<number>((resolve) => raw.once('close', (code) => resolve(code)));

  // The load balancer now sends new connections to node B; node A is told to stop.
  proxy.targetPort = nodeB.port;
  const resubscribed = nextEvent(channel, 'pusher:subscription_succeeded', 30_000);
  nodeA.process.kill('SIGTERM');

  assert.equal(await withTimeout(rawClosed, 30_000, 'close from node A'), 4200);
  await resubscribed;
  assert.equal(client.connection.state, 'connected');
  assert.notEqual(client.connection.socket_id, firstSocketId, 'a new connection, on node B');

  const onB = new Pusher({ appId: CHILD_APP.id, key: CHILD_APP.key, secret: CHILD_APP.secret, host: '127.0.0.1', port: String(nodeB.port), useTLS: false });
  const got = nextEvent<{ from: string }>(channel, 'hello');
  await onB.trigger('failover', 'hello', { from: 'B' });
  assert.deepEqual(await got, { from: 'B' });

  assert.equal(await withTimeout(nodeA.exited, 30_000, 'node A to exit'), 0);
  assert.ok(nodeA.lines.some((l) => l.includes('"shutting down"') && l.includes('SIGTERM')), 'the shutdown is logged');
});
