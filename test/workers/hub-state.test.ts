/** The primary's in-memory cluster state: first/last decided across workers, a dead worker removed exactly. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HubClusterState } from '../../src/workers/hub-state.js';

const join = (hub: HubClusterState, node: string, channel: string, userId?: string, maxMembers = 100) =>
  hub.join(node, { appId: 'a', channel, member: userId ? { userId, rawUserId: userId, userInfo: { n: userId } } : undefined, maxMembers });

function twoWorkers(): HubClusterState {
  const hub = new HubClusterState();
  hub.addNode('w1');
  hub.addNode('w2');
  return hub;
}

test('a channel is occupied by its first subscriber on any worker and vacated by the last', () => {
  const hub = twoWorkers();
  const first = join(hub, 'w1', 'news');
  const second = join(hub, 'w2', 'news');
  assert.ok(first.ok && second.ok);
  assert.equal(first.occupied, true);
  assert.equal(second.occupied, false);
  assert.equal(second.subscriptionCount, 2);
  assert.ok(second.revision > first.revision, 'revisions grow');
  assert.equal(hub.leave('w1', 'a', 'news').vacated, false);
  const last = hub.leave('w2', 'a', 'news');
  assert.equal(last.vacated, true);
  assert.equal(hub.subscriptionCount('a', 'news'), 0);
  assert.deepEqual(hub.channels('a'), []);
});

test('a presence member on two workers is added once and removed with its last connection', () => {
  const hub = twoWorkers();
  const a = join(hub, 'w1', 'presence-room', 'u1');
  const b = join(hub, 'w2', 'presence-room', 'u1');
  assert.ok(a.ok && b.ok);
  assert.equal(a.memberAdded, true);
  assert.equal(b.memberAdded, false);
  assert.equal(hub.userCount('a', 'presence-room'), 1);
  assert.deepEqual(hub.channels('a'), [{ name: 'presence-room', subscriptionCount: 2, userCount: 1 }]);
  assert.equal(hub.leave('w1', 'a', 'presence-room', 'u1').memberRemoved, undefined);
  assert.deepEqual(hub.leave('w2', 'a', 'presence-room', 'u1').memberRemoved, { userId: 'u1', rawUserId: 'u1' });
  assert.deepEqual(hub.members('a', 'presence-room'), []);
});

test('a full presence channel refuses a new member but not another connection of a present one', () => {
  const hub = twoWorkers();
  assert.ok(join(hub, 'w1', 'presence-full', 'u1', 1).ok);
  assert.deepEqual(join(hub, 'w2', 'presence-full', 'u2', 1), { ok: false, reason: 'full' });
  assert.ok(join(hub, 'w2', 'presence-full', 'u1', 1).ok);
});

test('removing a dead worker reports what its clients leave behind, once', () => {
  const hub = twoWorkers();
  join(hub, 'w1', 'presence-room', 'u1');
  join(hub, 'w1', 'presence-room', 'u2');
  join(hub, 'w2', 'presence-room', 'u2');
  join(hub, 'w1', 'only-w1');
  hub.userOnline('w1', 'a', 'u1', []);
  const removed = hub.removeNode('w1');
  assert.equal(removed.length, 1);
  const { changes } = removed[0]!;
  assert.deepEqual(
    changes.channels.map((c) => [c.channel, c.subscriptionCount]),
    [
      ['presence-room', 1],
      ['only-w1', 0],
    ],
  );
  assert.deepEqual(changes.members.map((m) => m.userId), ['u1'], 'u2 is still connected on w2');
  assert.deepEqual(changes.usersOffline.map((u) => u.userId), ['u1']);
  assert.deepEqual(hub.removeNode('w1'), [], 'a second removal changes nothing');
  assert.deepEqual(join(hub, 'w1', 'late'), { ok: false, reason: 'evicted' }, 'a removed worker changes nothing');
  assert.equal(hub.userCount('a', 'presence-room'), 1);
});

test('revisions keep growing after an app empties (workers ignore older changes)', () => {
  const hub = twoWorkers();
  const first = join(hub, 'w1', 'c');
  assert.ok(first.ok);
  hub.leave('w1', 'a', 'c');
  const again = join(hub, 'w2', 'c');
  assert.ok(again.ok && again.revision > first.revision);
});

test('signed-in users: online with the first connection on any worker, offline with the last', () => {
  const hub = twoWorkers();
  assert.equal(hub.userOnline('w1', 'a', 'u1', ['u2']).cameOnline, true);
  const second = hub.userOnline('w2', 'a', 'u1', []);
  assert.equal(second.cameOnline, false);
  assert.deepEqual(hub.userOnline('w2', 'a', 'u2', ['u1', 'u3']).online, ['u1']);
  assert.equal(hub.userOffline('w1', 'a', 'u1').wentOffline, false);
  assert.equal(hub.userOffline('w2', 'a', 'u1').wentOffline, true);
  assert.equal(hub.userOffline('w2', 'a', 'u1').ok, false, 'nothing left to remove');
});

test('cache channels keep the last event until its TTL', () => {
  let now = 1_000_000;
  const hub = new HubClusterState(() => now);
  hub.addNode('w1');
  hub.setCache('a', 'cache-x', 'e', '{}', 30);
  assert.deepEqual(hub.getCache('a', 'cache-x'), { event: 'e', data: '{}', ttl: 30 });
  now += 29_500;
  assert.deepEqual(hub.getCache('a', 'cache-x'), { event: 'e', data: '{}', ttl: 1 });
  now += 500;
  assert.equal(hub.getCache('a', 'cache-x'), undefined);
});
