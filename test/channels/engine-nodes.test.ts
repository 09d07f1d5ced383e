/**
 * Several engines over one shared state (the multi-node behaviour), without sockets or servers:
 * presence counted once with member events once, counts, watchlists and terminate across nodes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { App } from '../../src/apps/app.js';
import { sharedNodes, signInFrame, subscribeFrame } from './fake.js';

test('presence across nodes: one member per user, member_added/removed once, to the other nodes\' sockets', () => {
  const { nodes } = sharedNodes(2);
  const [A, B] = nodes as [ReturnType<typeof sharedNodes>['nodes'][0], ReturnType<typeof sharedNodes>['nodes'][0]];
  const seen: string[] = [];
  for (const [i, node] of nodes.entries()) {
    node.engine.observe({
      memberAdded: (_app: App, _channel: string, userId: string) => seen.push(`${i} added ${userId}`),
      memberRemoved: (_app: App, _channel: string, userId: string) => seen.push(`${i} removed ${userId}`),
      channelOccupied: (_app: App, channel: string) => seen.push(`${i} occupied ${channel}`),
      channelVacated: (_app: App, channel: string) => seen.push(`${i} vacated ${channel}`),
    });
  }
  const a1 = A.open();
  const b1 = B.open();
  const b2 = B.open();
  A.engine.receive(a1.conn, subscribeFrame(a1.conn, 'presence-room', { user_id: 'ann' }));
  B.engine.receive(b1.conn, subscribeFrame(b1.conn, 'presence-room', { user_id: 'bob' }));
  assert.deepEqual(a1.transport.data('pusher_internal:member_added'), [{ user_id: 'bob', user_info: null }], 'A\'s socket hears of bob, who joined on B');
  const roster = b1.transport.data('pusher_internal:subscription_succeeded')[0] as { presence: { ids: string[] } };
  assert.deepEqual(roster.presence.ids.sort(), ['ann', 'bob']);
  assert.deepEqual(b1.transport.data('pusher_internal:member_added'), [], 'the joining socket gets the roster instead');

  B.engine.receive(b2.conn, subscribeFrame(b2.conn, 'presence-room', { user_id: 'ann' }));
  A.engine.disconnect(a1.conn);
  assert.deepEqual(b1.transport.data('pusher_internal:member_removed'), [], 'ann is still present through B');
  B.engine.disconnect(b2.conn);
  assert.deepEqual(b1.transport.data('pusher_internal:member_removed'), [{ user_id: 'ann' }]);
  B.engine.disconnect(b1.conn);
  assert.deepEqual(seen, ['0 occupied presence-room', '0 added ann', '1 added bob', '1 removed ann', '1 removed bob', '1 vacated presence-room'], 'each observer event once, on the node that made the change');
});

test('subscription counts, watchlists and terminate across nodes', () => {
  const { nodes } = sharedNodes(2, { subscriptionCountEvents: true });
  const [A, B] = nodes as [ReturnType<typeof sharedNodes>['nodes'][0], ReturnType<typeof sharedNodes>['nodes'][0]];
  const a = A.open();
  const b = B.open();
  A.engine.receive(a.conn, subscribeFrame(a.conn, 'news'));
  B.engine.receive(b.conn, subscribeFrame(b.conn, 'news'));
  assert.deepEqual(a.transport.data('pusher_internal:subscription_count').at(-1), { subscription_count: 2 }, 'the cluster-wide count');

  A.engine.receive(a.conn, signInFrame(a.conn, { id: 'ann', watchlist: ['bob'] }));
  B.engine.receive(b.conn, signInFrame(b.conn, { id: 'bob', watchlist: ['ann'] }));
  assert.deepEqual(a.transport.data('pusher_internal:watchlist_events').at(-1), { events: [{ name: 'online', user_ids: ['bob'] }] });
  assert.deepEqual(b.transport.data('pusher_internal:watchlist_events'), [{ events: [{ name: 'online', user_ids: ['ann'] }] }], 'bob\'s snapshot already says ann is online: no extra event');

  A.engine.terminateUser('1', 'bob');
  assert.deepEqual(b.transport.closedWith, [4009, 'You got disconnected by the app.']);
  B.engine.disconnect(b.conn);
  assert.deepEqual(a.transport.data('pusher_internal:watchlist_events').at(-1), { events: [{ name: 'offline', user_ids: ['bob'] }] });
  assert.deepEqual(a.transport.data('pusher_internal:subscription_count').at(-1), { subscription_count: 1 });
});
