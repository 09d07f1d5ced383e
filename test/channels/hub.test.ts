/** The Hub: the one owner of local subscriptions and sign-ins, answering first / last. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseApp } from '../../src/apps/app.js';
import { Connection } from '../../src/channels/connection.js';
import { Hub } from '../../src/channels/hub.js';
import { FakeTransport } from './fake.js';

const app = parseApp({ id: '1', key: 'k', secret: 'secret-123' });
const conn = (id: string) => new Connection(id, app, new FakeTransport(), undefined, 0);

test('reserve answers first for a new channel; removeSub answers last when no subscriber or reservation is left', () => {
  const hub = new Hub();
  const a = conn('1.1');
  const b = conn('1.2');
  const ra = hub.reserve(a, 'news', undefined);
  assert.equal(ra.first, true);
  const rb = hub.reserve(b, 'news', undefined);
  assert.equal(rb.first, false);
  assert.equal(ra.subscription.channel, rb.subscription.channel, 'one Channel per name');
  hub.addSub(a, ra.subscription);
  assert.deepEqual([...ra.subscription.channel.subscribers], [a], 'only a joined subscription receives events');
  assert.equal(ra.subscription.channel.pending, 1, 'b is still in flight');

  const removedA = hub.removeSub(a, 'news');
  assert.equal(removedA?.last, false, 'b still holds a reservation');
  assert.equal(a.subscriptions.has('news'), false);
  const removedB = hub.removeSub(b, 'news');
  assert.equal(removedB?.last, true);
  assert.equal(removedB?.subscription.cancelled, true, 'a join still in flight must not add it');
  assert.equal(hub.channels.has('news'), false, 'the channel is forgotten with its last reservation');
  assert.equal(hub.removeSub(b, 'news'), undefined, 'removing twice is a no-op');
});

test('a cancelled reservation is never added, and a channel reserved again is a new one', () => {
  const hub = new Hub();
  const a = conn('1.1');
  const { subscription } = hub.reserve(a, 'news', undefined);
  hub.removeSub(a, 'news');
  hub.addSub(a, subscription);
  assert.equal(subscription.channel.subscribers.size, 0);
  const again = hub.reserve(a, 'news', undefined);
  assert.equal(again.first, true);
  assert.notEqual(again.subscription.channel, subscription.channel);
});

test('users: first and last connection per user; watchlist ids kept while another connection lists them', () => {
  const hub = new Hub();
  const wide = conn('1.1');
  const narrow = conn('1.2');
  assert.equal(hub.addUser(wide, { id: 'u', userData: '{}', userInfo: undefined, watchlist: ['a', 'b'] }), true);
  assert.equal(hub.addUser(narrow, { id: 'u', userData: '{}', userInfo: undefined, watchlist: ['a'] }), false);
  assert.equal(hub.removeUser(wide)?.last, false);
  assert.equal(wide.user, undefined);
  assert.deepEqual([...(hub.watchers.get('a') ?? [])], ['u']);
  assert.equal(hub.watchers.has('b'), false);
  assert.equal(hub.removeUser(narrow)?.last, true);
  assert.equal(hub.users.has('u'), false);
  assert.equal(hub.watchers.size, 0);
  assert.equal(hub.removeUser(narrow), undefined);
});
