/**
 * Control messages without sockets (control.ts): every change carries a revision and a node
 * applies only changes newer than what it (and, for rosters, each socket) has seen, so a late or
 * replayed broadcast from another node cannot undo a newer state. Module messages reach their
 * module; a module that throws does not break the bus.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, signInFrame, subscribeFrame, type FakeTransport } from './fake.js';

/** Above any revision the memory backends handed out in these tests (they count from 1). */
const BIG = 1_000_000;

test('member changes: a change older than the newest one applied for that user is dropped', () => {
  const { engine, open } = harness();
  const a = open();
  engine.receive(a.conn, subscribeFrame(a.conn, 'presence-room', { user_id: 'ann' }));
  const member = (added: boolean, revision: number) =>
    void engine.control.send({ type: 'member', appId: '1', channel: 'presence-room', userId: 'bob', rawUserId: 'bob', added, revision });
  member(true, BIG + 2);
  member(false, BIG + 1); // late: bob's removal was decided before his newer join
  member(true, BIG + 2); // replayed
  assert.deepEqual(a.transport.data('pusher_internal:member_added'), [{ user_id: 'bob', user_info: null }]);
  assert.deepEqual(a.transport.data('pusher_internal:member_removed'), []);
  member(false, BIG + 3);
  assert.deepEqual(a.transport.data('pusher_internal:member_removed'), [{ user_id: 'bob' }]);
});

test('subscription counts: an older count than the one applied is dropped', () => {
  const { engine, open } = harness({ subscriptionCountEvents: true });
  const a = open();
  engine.receive(a.conn, subscribeFrame(a.conn, 'news'));
  const count = (value: number, revision: number) => void engine.control.send({ type: 'subscription-count', appId: '1', channel: 'news', count: value, revision });
  count(7, BIG + 2);
  count(5, BIG + 1);
  const counts = (t: FakeTransport) => t.data('pusher_internal:subscription_count').map((d) => (d as { subscription_count: number }).subscription_count);
  assert.deepEqual(counts(a.transport), [1, 7]);
  assert.equal(engine.state('1')?.channels.get('news')?.count, 7);
});

test('watchlist status: an older online/offline than the one applied is dropped', () => {
  const { engine, open } = harness();
  const a = open();
  engine.receive(a.conn, signInFrame(a.conn, { id: 'ann', watchlist: ['bob'] }));
  const status = (online: boolean, revision: number) => void engine.control.send({ type: 'user-status', appId: '1', userId: 'bob', online, revision });
  status(true, BIG + 2);
  status(false, BIG + 1);
  const events = (a.transport.data('pusher_internal:watchlist_events') as Array<{ events: unknown }>).map((d) => d.events);
  assert.deepEqual(events, [[{ name: 'offline', user_ids: ['bob'] }], [{ name: 'online', user_ids: ['bob'] }]]);
});

test('module messages reach their module only; a module that throws does not stop the next message', () => {
  const { engine } = harness();
  const got: unknown[] = [];
  engine.onModuleMessage('console', (message) => {
    if (message.body === 'boom') throw new Error('boom');
    got.push(message.body);
  });
  for (const body of ['boom', 'one']) void engine.control.send({ type: 'module', appId: '', module: 'console', body });
  void engine.control.send({ type: 'module', appId: '', module: 'other', body: 'not mine' });
  assert.deepEqual(got, ['one']);
});
