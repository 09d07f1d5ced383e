/** The protocol engine driven without any socket: a fake transport records what it is sent. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeTransport, harness, sharedNodes, subscribeFrame } from './fake.js';
import { encodeEvent } from '../../src/protocol/messages.js';
import type { ChannelEvent } from '../../src/scaling/broker.js';

const last = (transport: FakeTransport) => transport.frames().at(-1);

test('handshake: connection_established first, with socket_id and activity_timeout', () => {
  const { open } = harness();
  const { transport, conn } = open();
  const first = transport.frames()[0];
  assert.ok(first?.data);
  assert.equal(first.event, 'pusher:connection_established');
  assert.deepEqual(JSON.parse(first.data), { socket_id: conn.socketId, activity_timeout: 120 });
  assert.match(conn.socketId, /^\d+\.\d+$/);
});

test('handshake refusals carry Pusher close codes', () => {
  const { engine } = harness();
  const t = new FakeTransport();
  assert.deepEqual(engine.connect({ appKey: 'nope', protocol: '7' }, t), { ok: false, code: 4001, reason: 'App key nope not in this cluster' });
  assert.equal((engine.connect({ appKey: 'k', protocol: undefined }, t) as { code: number }).code, 4008);
  assert.equal((engine.connect({ appKey: 'k', protocol: '3' }, t) as { code: number }).code, 4007);
  assert.equal((engine.connect({ appKey: 'k', protocol: 'x' }, t) as { code: number }).code, 4007);
  assert.equal((engine.connect({ appKey: 'k', protocol: '7', version: 'bad version!' }, t) as { code: number }).code, 4006);
});

test('a broadcast is serialized once: every recipient gets the same message object', () => {
  const { engine, open } = harness();
  const clients = [open(), open(), open()];
  for (const c of clients) engine.receive(c.conn, JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'news' } }));
  engine.publish({ appId: '1', channels: ['news'], event: 'e', data: '{"x":1}', excludeSocketId: clients[2]!.conn.socketId });
  const got = clients.map((c) => c.transport.sent[c.transport.sent.length - 1]!);
  assert.equal(got[0], got[1], 'same OutboundMessage instance');
  assert.deepEqual(JSON.parse(got[0]!.text), { event: 'e', channel: 'news', data: '{"x":1}' });
  assert.equal(last(clients[2]!.transport)?.event, 'pusher_internal:subscription_succeeded', 'excluded socket got nothing');
});

test('a publish nobody on this node subscribes to is never serialized; observers and the cache still get it', async () => {
  const { engine, open } = harness();
  const handed: ChannelEvent[] = [];
  const publish = engine.broker.publish.bind(engine.broker);
  engine.broker.publish = (event) => (handed.push(event), publish(event));
  const published: string[] = [];
  engine.observe({ published: (_app, channel, event, data, recipients, source) => published.push(`${channel} ${event} ${data} ${recipients} ${source}`) });
  const subscriber = open();
  engine.receive(subscriber.conn, JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'news' } }));

  engine.publish({ appId: '1', channels: ['nobody', 'cache-nobody', 'news'], event: 'e', data: '{"x":1}' });
  assert.deepEqual(published, ['nobody e {"x":1} 0 api', 'cache-nobody e {"x":1} 0 api', 'news e {"x":1} 1 api']);
  assert.deepEqual(handed.map((e) => e.frame), [undefined, undefined, encodeEvent('e', 'news', '{"x":1}')], 'a frame only where it was delivered');
  assert.equal(subscriber.transport.sent.at(-1)!.text, encodeEvent('e', 'news', '{"x":1}'));
  const cached = await engine.queries.cachedEvent('1', 'cache-nobody');
  assert.deepEqual([cached?.event, cached?.data], ['e', '{"x":1}'], 'cache channels keep the event');

  // Only the excluded socket subscribes: the frame is built, nobody is written to.
  engine.publish({ appId: '1', channels: ['news'], event: 'e', data: '2', excludeSocketId: subscriber.conn.socketId });
  assert.equal(published.at(-1), 'news e 2 0 api');
  assert.equal(subscriber.transport.sent.at(-1)!.text, encodeEvent('e', 'news', '{"x":1}'));
});

test('every node delivers the same frame; client events carry their user_id', () => {
  const { nodes } = sharedNodes(2);
  const [a, b] = nodes as [ReturnType<typeof harness>, ReturnType<typeof harness>];
  const onA = a.open();
  const onB = b.open();
  for (const [node, client] of [[a, onA], [b, onB]] as const) node.engine.receive(client.conn, subscribeFrame(client.conn, 'presence-room', { user_id: client === onA ? 'ann' : 'bob' }));
  a.engine.receive(onA.conn, JSON.stringify({ event: 'client-hi', channel: 'presence-room', data: { q: '"é' } }));
  const expected = encodeEvent('client-hi', 'presence-room', '{"q":"\\"é"}', 'ann');
  assert.equal(onB.transport.sent.at(-1)!.text, expected);
  b.engine.publish({ appId: '1', channels: ['presence-room'], event: 'e', data: 'd' });
  for (const client of [onA, onB]) assert.equal(client.transport.sent.at(-1)!.text, encodeEvent('e', 'presence-room', 'd'));
});

test('presence: roster on join, member_added once per user, member_removed when the last socket leaves', () => {
  const { engine, open } = harness();
  const join = (c: ReturnType<typeof open>, userId: string) => engine.receive(c.conn, subscribeFrame(c.conn, 'presence-room', { user_id: userId, user_info: { name: userId } }));
  const a = open();
  const b1 = open();
  const b2 = open();
  join(a, 'alice');
  join(b1, 'bob');
  assert.deepEqual(last(a.transport), { event: 'pusher_internal:member_added', channel: 'presence-room', data: '{"user_id":"bob","user_info":{"name":"bob"}}' });
  const roster = JSON.parse(last(b1.transport)?.data ?? '');
  assert.deepEqual(roster, { presence: { ids: ['alice', 'bob'], hash: { alice: { name: 'alice' }, bob: { name: 'bob' } }, count: 2 } });
  const before = a.transport.sent.length;
  join(b2, 'bob');
  assert.equal(a.transport.sent.length, before, 'second socket of bob is not a new member');
  assert.equal(engine.userCount('1', 'presence-room'), 2);
  assert.equal(engine.subscriptionCount('1', 'presence-room'), 3);
  engine.disconnect(b1.conn);
  assert.equal(a.transport.sent.length, before, 'bob still has a socket');
  engine.disconnect(b2.conn);
  assert.deepEqual(last(a.transport), { event: 'pusher_internal:member_removed', channel: 'presence-room', data: '{"user_id":"bob"}' });
});

test('server pings an idle client, then closes with 4201 when nothing comes back', () => {
  const { engine, open, clock } = harness();
  const { transport } = open();
  engine.start();
  try {
    clock.advance(120_000); // activity_timeout: the sweep pings
    assert.equal(last(transport)?.event, 'pusher:ping');
    assert.equal(transport.closedWith, undefined);
    clock.advance(30_000); // pong timeout
    assert.deepEqual(transport.closedWith, [4201, 'Pong reply not received']);
  } finally {
    engine.stop();
  }
});

test('a pong (any frame) after a server ping keeps the connection', () => {
  const { engine, open, clock } = harness();
  const { transport, conn } = open();
  engine.start();
  try {
    clock.advance(120_000);
    assert.equal(last(transport)?.event, 'pusher:ping');
    engine.receive(conn, '{"event":"pusher:pong","data":{}}');
    clock.advance(30_000);
    assert.equal(transport.closedWith, undefined);
  } finally {
    engine.stop();
  }
});

test('observers see occupied/vacated; a throwing observer does not break the engine', () => {
  const { engine, open } = harness();
  const seen: string[] = [];
  engine.observe({ channelOccupied: () => { throw new Error('boom'); } });
  engine.observe({ channelOccupied: (_a, ch) => seen.push(`occupied ${ch}`), channelVacated: (_a, ch) => seen.push(`vacated ${ch}`) });
  const { conn } = open();
  engine.receive(conn, '{"event":"pusher:subscribe","data":{"channel":"c1"}}');
  engine.receive(conn, '{"event":"pusher:unsubscribe","data":{"channel":"c1"}}');
  assert.deepEqual(seen, ['occupied c1', 'vacated c1']);
});
