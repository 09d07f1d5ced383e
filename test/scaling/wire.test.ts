/** Pure parts of the scaling layer: the broker wire format, topic interest, Redis URL parsing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WireMessage } from '../../src/scaling/wire.js';
import { TopicInterest } from '../../src/scaling/interest.js';
import { subjectToken } from '../../src/scaling/nats-broker.js';
import { parseRedisTarget, redactUrl } from '../../src/scaling/redis-link.js';
import { decodeBrokerMessage, encodeBrokerMessage } from '../../src/scaling/wire.js';
import { encodeEvent } from '../../src/protocol/messages.js';
import { eventFrame, type ChannelEvent } from '../../src/scaling/broker.js';

test('every broker message survives the wire; event frames are rebuilt byte for byte', () => {
  const messages: WireMessage[] = [
    { type: 'event', appId: 'a', channel: 'presence-x', frame: encodeEvent('client-hi', 'presence-x', '{"q":"\\"é"}', 'u1'), eventName: 'client-hi', data: '{"q":"\\"é"}', excludeSocketId: '1.2', source: 'client', userId: 'u1' },
    { type: 'event', appId: 'a', channel: 'c', frame: encodeEvent('e', 'c', 'plain'), eventName: 'e', data: 'plain', source: 'api', excludeSocketId: undefined, userId: undefined },
    { type: 'terminate-user', appId: 'a', userId: 'u' },
    { type: 'member', appId: 'a', channel: 'presence-x', userId: '7', rawUserId: 7, userInfo: { n: 1 }, added: true, revision: 12 },
    { type: 'member', appId: 'a', channel: 'presence-x', userId: 'u', rawUserId: 'u', userInfo: undefined, added: false, revision: 13 },
    { type: 'subscription-count', appId: 'a', channel: 'c', count: 3, revision: 14 },
    { type: 'user-status', appId: 'a', userId: 'u', online: true, revision: 15 },
  ];
  for (const message of messages) assert.deepEqual(decodeBrokerMessage(encodeBrokerMessage(message)), message);
});

test('eventFrame builds an event\'s frame from its fields on first use and keeps it', () => {
  const client: ChannelEvent = { appId: 'a', channel: 'presence-x', eventName: 'client-hi', data: '{"q":"\\"é"}', source: 'client', userId: 'u1' };
  assert.equal(client.frame, undefined);
  assert.equal(eventFrame(client), encodeEvent('client-hi', 'presence-x', '{"q":"\\"é"}', 'u1'));
  assert.equal(client.frame, encodeEvent('client-hi', 'presence-x', '{"q":"\\"é"}', 'u1'));
  const api: ChannelEvent = { appId: 'a', channel: 'c', eventName: 'e', data: '', source: 'api', excludeSocketId: '1.2' };
  assert.equal(eventFrame(api), '{"event":"e","channel":"c","data":""}');
  // A frame already there (built by the publishing worker, or rebuilt from the wire) is used as is.
  assert.equal(eventFrame({ ...api, frame: 'as received' }), 'as received');
});

test('malformed or foreign wire messages are ignored, never thrown', () => {
  for (const text of ['', 'nope', '{}', '[]', '[2,"t","a","u"]', '[1,"x","a"]', '[1,"e","a",5]', '[1,"c","a","ch",-1,2]', '[1,"m","a","c","u",{},1,1]']) {
    assert.equal(decodeBrokerMessage(text), undefined, text);
  }
});

test('topic interest applies listen/unlisten in order and skips what cancelled out', async () => {
  const calls: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const interest = new TopicInterest(
    async (t) => {
      calls.push(`+${t}`);
      await gate;
    },
    async (t) => void calls.push(`-${t}`),
    () => undefined,
  );
  const first = interest.listen('a');
  interest.unlisten('a');
  const again = interest.listen('a');
  release();
  await Promise.all([first, again]);
  assert.deepEqual(calls, ['+a'], 'the unlisten was overtaken by a newer listen');
  interest.unlisten('a');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(calls, ['+a', '-a']);
  assert.equal(interest.count(), 0);
});

test('NATS subject tokens cannot contain separators or wildcards', () => {
  for (const raw of ['a.b', '*', '>', 'with space', '#server-to-user-x.y', "q'(x)!~"]) {
    assert.match(subjectToken(raw), /^[A-Za-z0-9%_-]+$/, raw);
  }
  assert.notEqual(subjectToken('a.b'), subjectToken('a_b'));
});

test('HERALD_REDIS_URL: one server, or a Redis Cluster from several seeds or ?cluster=true', () => {
  assert.deepEqual(parseRedisTarget('redis://127.0.0.1:6379'), { cluster: false });
  const cluster = parseRedisTarget('redis://:pw@10.0.0.1:7000, redis://10.0.0.2:7001');
  assert.equal(cluster.cluster, true);
  assert.deepEqual(cluster.cluster && cluster.seeds, [
    { host: '10.0.0.1', port: 7000 },
    { host: '10.0.0.2', port: 7001 },
  ]);
  assert.equal(cluster.cluster && cluster.password, 'pw');
  assert.equal(parseRedisTarget('rediss://h:7000?cluster=true').cluster, true);
  assert.throws(() => parseRedisTarget('not a url'), /not a redis:\/\/ URL/);
  assert.equal(redactUrl('redis://:secret@h:1,redis://u:other@h:2'), 'redis://:***@h:1,redis://u:***@h:2');
});
