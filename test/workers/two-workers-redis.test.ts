/**
 * `herald start --workers 2` with HERALD_BROKER=redis: each worker joins the Redis cluster as a node
 * of its own, so clients on the two workers get each other's events and presence counts once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Pusher from 'pusher';
import { PusherJs, type PusherJsOptions } from '../helpers/pusher-js.js';
import { withTimeout } from '../helpers/wait.js';
import { CHILD_APP, startChildHerald, type ChildHerald } from '../ops/child-herald.js';
import { cleanupNamespace, collect, serviceUp, skipMessage, subscribed, uniqueId, until } from '../scaling/support.js';

let node: ChildHerald | undefined;
let skip: string | undefined;
const prefix = uniqueId('wk').replace(/-/g, '_');
const clients: PusherJs[] = [];

before(async () => {
  if (!(await serviceUp('redis'))) {
    skip = skipMessage('redis');
    return;
  }
  node = await startChildHerald(['--workers', '2'], { HERALD_BROKER: 'redis', HERALD_CLUSTER_PREFIX: prefix });
});

after(async () => {
  for (const c of clients) c.disconnect();
  await node?.cleanup();
  if (!skip) await cleanupNamespace('redis', prefix);
});

test('each worker is a node of the Redis cluster: events and presence across the two workers', async (t) => {
  if (skip || !node) return t.skip(skip);
  const sdk = new Pusher({ appId: CHILD_APP.id, key: CHILD_APP.key, secret: CHILD_APP.secret, host: '127.0.0.1', port: String(node.port), useTLS: false });
  for (const user of ['r1', 'r2']) {
    const c = new PusherJs(CHILD_APP.key, {
      cluster: 'local',
      wsHost: '127.0.0.1',
      wsPort: node.port,
      forceTLS: false,
      enabledTransports: ['ws'],
      channelAuthorization: {
        customHandler: (p: { socketId: string; channelName: string }, cb: (e: Error | null, a: unknown) => void) =>
          cb(null, sdk.authorizeChannel(p.socketId, p.channelName, { user_id: user })),
      },
    } as unknown as PusherJsOptions);
    clients.push(c);
    // One after another: node:cluster hands them to the two workers in turn.
    await withTimeout(new Promise<void>((resolve) => c.connection.bind('connected', () => resolve())), 10_000, 'pusher-js to connect');
  }
  const got = (await Promise.all(clients.map((c) => subscribed(c, 'redis-news')))).map((ch) => collect<{ n: number }>(ch, 'e'));
  await sdk.trigger('redis-news', 'e', { n: 1 });
  await until(() => got.every((g) => g.length === 1), 10_000, 'both workers to deliver');
  for (const c of clients) await subscribed(c, 'presence-redis');
  const users = (await (await sdk.get({ path: '/channels/presence-redis/users' })).json()) as { users: Array<{ id: string }> };
  assert.deepEqual(users.users.map((u) => u.id).sort(), ['r1', 'r2']);
  const lines = node.lines.join('\n');
  assert.doesNotMatch(lines, /"level":50/, 'no errors logged');
});
