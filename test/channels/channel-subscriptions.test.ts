// A connection's subscriptions (src/channels/connection.ts ChannelSubscriptions): the first kept
// inline, the rest in a Map, answering as a Map would whatever the order of adds and removes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChannelSubscriptions, type Subscription } from '../../src/channels/connection.js';

const subscription = (name: string) => ({ channel: { name }, userId: undefined, token: undefined, joined: true, cancelled: false, rosterRevision: 0 }) as unknown as Subscription;

test('answers get, has, size, keys and delete as a Map does, through any sequence of adds and removes', () => {
  const subject = new ChannelSubscriptions();
  const model = new Map<string, Subscription>();
  const names = ['a', 'b', 'c', 'd'];
  // A fixed pseudo-random walk: sets (new and replacing) and deletes (present and absent), interleaved.
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
  for (let step = 0; step < 2000; step++) {
    const name = names[next() % names.length]!;
    if (next() % 3 === 0) {
      assert.equal(subject.delete(name), model.delete(name), `delete ${name} at step ${step}`);
    } else {
      const value = subscription(name);
      assert.equal(subject.set(name, value), subject);
      model.set(name, value);
    }
    assert.equal(subject.size, model.size, `size at step ${step}`);
    for (const n of names) {
      assert.equal(subject.get(n), model.get(n), `get ${n} at step ${step}`);
      assert.equal(subject.has(n), model.has(n));
    }
    assert.deepEqual(subject.keys().sort(), [...model.keys()].sort(), `keys at step ${step}`);
  }
});

test('keys() is a snapshot: deleting while walking it visits every name once', () => {
  const subject = new ChannelSubscriptions();
  for (const name of ['x', 'y', 'z']) subject.set(name, subscription(name));
  const visited: string[] = [];
  for (const name of subject.keys()) {
    visited.push(name);
    subject.delete(name);
  }
  assert.deepEqual(visited, ['x', 'y', 'z']);
  assert.equal(subject.size, 0);
});
