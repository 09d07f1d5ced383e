/**
 * Channel queries without sockets (queries.ts and the engine's local counts): what the HTTP API's
 * channel info, channel list, presence users and cache info report, cluster-wide through the
 * in-memory Membership and ChannelCache.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, signInFrame, subscribeFrame } from './fake.js';

/** ann (2 sockets) and bob in presence-room, two sockets on news, one on private-a, ann on her user channel. */
function populated() {
  const h = harness();
  const join = (channel: string, userId?: string) => {
    const s = h.open();
    h.engine.receive(s.conn, subscribeFrame(s.conn, channel, userId === undefined ? undefined : { user_id: userId, user_info: { name: userId } }));
    return s;
  };
  const [ann1] = [join('presence-room', 'ann'), join('presence-room', 'ann'), join('presence-room', 'bob'), join('news'), join('news'), join('private-a')];
  h.engine.receive(ann1.conn, signInFrame(ann1.conn, { id: 'ann' }));
  h.engine.receive(ann1.conn, subscribeFrame(ann1.conn, '#server-to-user-ann'));
  return h;
}

test('subscription and user counts: sockets count each, a user with two sockets counts once', async () => {
  const { engine } = populated();
  assert.equal(await engine.queries.subscriptionCount('1', 'presence-room'), 3);
  assert.equal(await engine.queries.userCount('1', 'presence-room'), 2);
  assert.equal(await engine.queries.subscriptionCount('1', 'news'), 2);
  assert.equal(await engine.queries.subscriptionCount('1', 'nobody'), 0);
  assert.equal(engine.subscriptionCount('1', 'presence-room'), 3, 'this node\'s own view agrees');
  assert.equal(engine.userCount('1', 'presence-room'), 2);
});

test('channel list: occupied channels with counts (user counts for presence), by prefix, never #server-to-user-', async () => {
  const { engine } = populated();
  const byName = (list: Array<{ name: string }>) => [...list].sort((a, b) => a.name.localeCompare(b.name));
  assert.deepEqual(byName(await engine.queries.channels('1')), [
    { name: 'news', subscriptionCount: 2 },
    { name: 'presence-room', subscriptionCount: 3, userCount: 2 },
    { name: 'private-a', subscriptionCount: 1 },
  ]);
  assert.deepEqual(await engine.queries.channels('1', 'pr'), (await engine.queries.channels('1')).filter((c) => c.name.startsWith('pr')));
  assert.deepEqual(byName(await engine.queries.channels('1', 'private-')), [{ name: 'private-a', subscriptionCount: 1 }]);
  assert.deepEqual(engine.occupiedChannels('1').sort(), ['news', 'presence-room', 'private-a']);
});

test('presence users: one entry per user with its user_info; empty once everyone left', async () => {
  const { engine } = populated();
  const members = await engine.queries.members('1', 'presence-room');
  assert.deepEqual([...members].sort((a, b) => a.id.localeCompare(b.id)), [
    { id: 'ann', userInfo: { name: 'ann' } },
    { id: 'bob', userInfo: { name: 'bob' } },
  ]);
  for (const conn of [...(engine.state('1')?.connections.values() ?? [])]) engine.disconnect(conn);
  assert.deepEqual(await engine.queries.members('1', 'presence-room'), []);
  assert.deepEqual(await engine.queries.channels('1'), []);
  assert.equal(engine.connectionCount('1'), 0);
});

test('cache info: the last event with its remaining ttl in whole seconds and its publish time', async () => {
  const { engine, clock } = harness({ cacheTtlSeconds: 30 });
  const publishedAt = clock.now();
  engine.publish({ appId: '1', channels: ['cache-x'], event: 'e', data: 'd' });
  clock.advance(10_500);
  assert.deepEqual(await engine.queries.cachedEvent('1', 'cache-x'), { event: 'e', data: 'd', ttl: 20, publishedAt });
  assert.equal(await engine.queries.cachedEvent('1', 'cache-other'), undefined);
});
