/** Connection handshake, URL checks, ping/pong and idle timeouts over a real WebSocket. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { RawClient } from '../helpers/raw-client.js';
import { eventually, nextEvent } from '../helpers/wait.js';
import { closeCode, PusherJs } from '../helpers/pusher-js.js';

let h: TestHerald;
before(async () => {
  h = await startTestHerald({ config: { activityTimeout: 1, pongTimeout: 1 }, apps: [{ id: 'off', key: 'off-key', secret: 'off-secret-1', enabled: false }] });
});
after(() => h.stop());

test('stock pusher-js connects and gets a socket id', async () => {
  const client = h.pusherClient();
  await nextEvent(client.connection, 'connected');
  assert.match(client.connection.socket_id, /^\d+\.\d+$/);
  client.disconnect();
});

test('connection_established is the first frame, with activity_timeout in seconds', async () => {
  const raw = await RawClient.connect(`${h.wsUrl}/app/${h.app.key}?protocol=7&client=js&version=8.6.0&flash=false`);
  const first = await raw.waitFor(() => true);
  assert.equal(first.event, 'pusher:connection_established');
  assert.equal(first.data.activity_timeout, 1);
  assert.match(first.data.socket_id, /^\d+\.\d+$/);
  raw.close();
});

const refusals: Array<[string, string, number]> = [
  ['unknown app key', '/app/no-such-key?protocol=7', 4001],
  ['disabled app', '/app/off-key?protocol=7', 4003],
  ['missing protocol', '/app/KEY', 4008],
  ['unsupported protocol', '/app/KEY?protocol=2', 4007],
  ['non-numeric protocol', '/app/KEY?protocol=seven', 4007],
  ['malformed version', '/app/KEY?protocol=7&version=%20bad%20', 4006],
  ['wrong path', '/nope/KEY?protocol=7', 4005],
];
for (const [what, path, code] of refusals) {
  test(`refuses ${what} with close code ${code}`, async () => {
    const raw = await RawClient.connect(h.wsUrl + path.replace('KEY', h.app.key));
    const closed = await raw.closed;
    assert.equal(closed.code, code);
    assert.ok(closed.reason.length > 0, 'a reason is given');
    assert.equal(raw.frames.length, 0, 'nothing else is sent');
  });
}

test('an unreadable query closes 4008 with the reason it could not be read', async () => {
  const crowded = Array.from({ length: 101 }, (_, i) => `p${i}=1`).join('&');
  const cases: Array<[string, string]> = [
    [`?protocol=7&${crowded}`, 'No protocol version read: Too many query parameters (limit 100)'],
    ['?protocol=7&x=%E0%A4%A', 'No protocol version read: Malformed percent-encoding in the query string'],
  ];
  for (const [query, reason] of cases) {
    const raw = await RawClient.connect(`${h.wsUrl}/app/${h.app.key}${query}`);
    const closed = await raw.closed;
    assert.deepEqual([closed.code, closed.reason], [4008, reason]);
  }
  // The server is still up and takes the next client.
  const ok = await RawClient.established(h.wsUrl, h.app.key);
  ok.close();
});

test('pusher-js gives up on 4001 (unknown app) instead of reconnecting forever', async () => {
  const client = new PusherJs('no-such-key', { cluster: 'local', wsHost: '127.0.0.1', wsPort: h.port, forceTLS: false, enabledTransports: ['ws'] });
  const states: string[] = [];
  client.connection.bind('state_change', (s: { current: string }) => states.push(s.current));
  assert.equal(await closeCode(client), 4001);
  await eventually(() => client.connection.state === 'disconnected', 5000, 'disconnected state');
  assert.ok(!states.includes('connecting'), `no reconnect attempt after the refusal: ${states.join(',')}`);
  client.disconnect();
});

test('pusher:ping from the client gets pusher:pong', async () => {
  const raw = await RawClient.established(h.wsUrl, h.app.key);
  raw.send({ event: 'pusher:ping', data: {} });
  const pong = await raw.waitEvent('pusher:pong');
  assert.deepEqual(pong.data, {});
  raw.close();
});

test('an idle client is pinged after activity_timeout and closed with 4201 if it never answers', async () => {
  const raw = await RawClient.established(h.wsUrl, h.app.key);
  await raw.waitEvent('pusher:ping', undefined, 5000);
  const error = await raw.waitEvent('pusher:error', undefined, 5000);
  assert.deepEqual(error.data, { code: 4201, message: 'Pong reply not received' });
  const closed = await raw.closed;
  assert.equal(closed.code, 4201);
});

test('a client that answers pings stays connected', async () => {
  const raw = await RawClient.established(h.wsUrl, h.app.key);
  for (let i = 0; i < 2; i++) {
    await raw.waitEvent('pusher:ping', undefined, 5000);
    raw.send({ event: 'pusher:pong', data: {} });
  }
  assert.equal(raw.closeCode, undefined);
  raw.close();
});

test('pusher-js reconnects with a new socket id after the server closes with 4201', async () => {
  const client = h.pusherClient({ activityTimeout: 60_000, pongTimeout: 60_000 });
  await nextEvent(client.connection, 'connected');
  const first = client.connection.socket_id;
  // Server-side ping after 1 s; pusher-js answers, so force the 4201 path by closing from the server.
  const state = h.herald.engine.state(h.app.id)!;
  state.connections.get(first)!.close(4201, 'Pong reply not received');
  await nextEvent(client.connection, 'connected', 10_000);
  assert.notEqual(client.connection.socket_id, first);
  client.disconnect();
});

test('a reply queued in the same pass as the client\'s close frame is sent before the close reply', async () => {
  const raw = await RawClient.established(h.wsUrl, h.app.key);
  // One TCP write carrying pusher:ping and a close frame: the server handles both in one pass, so
  // its pong is still queued when ws answers the close. The pong must go out first, not be lost.
  const tcp = (raw.ws as unknown as { _socket: import('node:net').Socket })._socket;
  tcp.cork();
  raw.send({ event: 'pusher:ping', data: {} });
  raw.ws.close(1000);
  tcp.uncork();
  const closed = await raw.closed;
  assert.equal(closed.code, 1000);
  assert.ok(raw.frames.some((f) => f.event === 'pusher:pong'), 'pusher:pong arrived before the close frame');
});
