/** The protocol engine driven without any socket: a fake transport records what it is sent. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChannelsEngine } from '../../src/channels/engine.js';
import type { ConnectionTransport, OutboundMessage } from '../../src/channels/transport.js';
import { MemoryAppRegistry } from '../../src/apps/registry.js';
import { parseApp } from '../../src/apps/app.js';
import { hmacSha256Hex } from '../../src/protocol/signatures.js';

class FakeTransport implements ConnectionTransport {
  sent: OutboundMessage[] = [];
  closedWith: [number, string] | undefined;
  deliver(message: OutboundMessage) {
    this.sent.push(message);
  }
  closeWith(code: number, reason: string) {
    this.closedWith = [code, reason];
  }
  frames() {
    return this.sent.map((m) => JSON.parse(m.text));
  }
  last() {
    return JSON.parse(this.sent[this.sent.length - 1]!.text);
  }
}

function setup(now = { t: 1_000_000 }) {
  const app = parseApp({ id: '1', key: 'k', secret: 'secret-123' });
  const engine = new ChannelsEngine({ apps: new MemoryAppRegistry([app]), activityTimeout: 120, pongTimeout: 30, now: () => now.t });
  const open = () => {
    const transport = new FakeTransport();
    const result = engine.connect({ appKey: 'k', protocol: '7', version: '8.6.0' }, transport);
    assert.ok(result.ok);
    return { conn: result.connection, transport };
  };
  return { engine, open, now, app };
}

test('handshake: connection_established first, with socket_id and activity_timeout', () => {
  const { open } = setup();
  const { transport, conn } = open();
  const first = transport.frames()[0];
  assert.equal(first.event, 'pusher:connection_established');
  assert.deepEqual(JSON.parse(first.data), { socket_id: conn.socketId, activity_timeout: 120 });
  assert.match(conn.socketId, /^\d+\.\d+$/);
});

test('handshake refusals carry Pusher close codes', () => {
  const { engine } = setup();
  const t = new FakeTransport();
  assert.deepEqual(engine.connect({ appKey: 'nope', protocol: '7' }, t), { ok: false, code: 4001, reason: 'App key nope not in this cluster' });
  assert.equal((engine.connect({ appKey: 'k', protocol: undefined }, t) as { code: number }).code, 4008);
  assert.equal((engine.connect({ appKey: 'k', protocol: '3' }, t) as { code: number }).code, 4007);
  assert.equal((engine.connect({ appKey: 'k', protocol: 'x' }, t) as { code: number }).code, 4007);
  assert.equal((engine.connect({ appKey: 'k', protocol: '7', version: 'bad version!' }, t) as { code: number }).code, 4006);
});

test('a broadcast is serialized once: every recipient gets the same message object', () => {
  const { engine, open } = setup();
  const clients = [open(), open(), open()];
  for (const c of clients) engine.receive(c.conn, JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'news' } }));
  engine.publish({ appId: '1', channels: ['news'], event: 'e', data: '{"x":1}', excludeSocketId: clients[2]!.conn.socketId });
  const got = clients.map((c) => c.transport.sent[c.transport.sent.length - 1]!);
  assert.equal(got[0], got[1], 'same OutboundMessage instance');
  assert.deepEqual(JSON.parse(got[0]!.text), { event: 'e', channel: 'news', data: '{"x":1}' });
  assert.equal(clients[2]!.transport.last().event, 'pusher_internal:subscription_succeeded', 'excluded socket got nothing');
});

test('presence: roster on join, member_added once per user, member_removed when the last socket leaves', () => {
  const { engine, open } = setup();
  const join = (c: ReturnType<typeof open>, userId: string) => {
    const channelData = JSON.stringify({ user_id: userId, user_info: { name: userId } });
    const auth = `k:${hmacSha256Hex('secret-123', `${c.conn.socketId}:presence-room:${channelData}`)}`;
    engine.receive(c.conn, JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'presence-room', auth, channel_data: channelData } }));
  };
  const a = open();
  const b1 = open();
  const b2 = open();
  join(a, 'alice');
  join(b1, 'bob');
  assert.deepEqual(a.transport.last(), { event: 'pusher_internal:member_added', channel: 'presence-room', data: '{"user_id":"bob","user_info":{"name":"bob"}}' });
  const roster = JSON.parse(b1.transport.last().data);
  assert.deepEqual(roster, { presence: { ids: ['alice', 'bob'], hash: { alice: { name: 'alice' }, bob: { name: 'bob' } }, count: 2 } });
  const before = a.transport.sent.length;
  join(b2, 'bob');
  assert.equal(a.transport.sent.length, before, 'second socket of bob is not a new member');
  assert.equal(engine.userCount('1', 'presence-room'), 2);
  assert.equal(engine.subscriptionCount('1', 'presence-room'), 3);
  engine.disconnect(b1.conn);
  assert.equal(a.transport.sent.length, before, 'bob still has a socket');
  engine.disconnect(b2.conn);
  assert.deepEqual(a.transport.last(), { event: 'pusher_internal:member_removed', channel: 'presence-room', data: '{"user_id":"bob"}' });
});

test('server pings an idle client, then closes with 4201 when nothing comes back', () => {
  const { engine, open, now } = setup();
  const { transport } = open();
  engine.start();
  try {
    now.t += 120_000;
    (engine as unknown as { sweep(): void }).sweep();
    assert.equal(transport.last().event, 'pusher:ping');
    now.t += 30_000;
    (engine as unknown as { sweep(): void }).sweep();
    assert.deepEqual(transport.closedWith, [4201, 'Pong reply not received']);
  } finally {
    engine.stop();
  }
});

test('a pong (any frame) after a server ping keeps the connection', () => {
  const { engine, open, now } = setup();
  const { transport, conn } = open();
  now.t += 120_000;
  (engine as unknown as { sweep(): void }).sweep();
  engine.receive(conn, '{"event":"pusher:pong","data":{}}');
  now.t += 30_000;
  (engine as unknown as { sweep(): void }).sweep();
  assert.equal(transport.closedWith, undefined);
});

test('observers see occupied/vacated; a throwing observer does not break the engine', () => {
  const { engine, open } = setup();
  const seen: string[] = [];
  engine.observe({ channelOccupied: () => { throw new Error('boom'); } });
  engine.observe({ channelOccupied: (_a, ch) => seen.push(`occupied ${ch}`), channelVacated: (_a, ch) => seen.push(`vacated ${ch}`) });
  const { conn } = open();
  engine.receive(conn, '{"event":"pusher:subscribe","data":{"channel":"c1"}}');
  engine.receive(conn, '{"event":"pusher:unsubscribe","data":{"channel":"c1"}}');
  assert.deepEqual(seen, ['occupied c1', 'vacated c1']);
});
