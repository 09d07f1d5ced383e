// The load generators' WebSocket client (bench/lib/lean-websocket.ts) against the `ws` server:
// handshake, text messages in every length encoding and split across reads, fragments, ping,
// masked client messages, and both ways of closing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { CLOSED, LeanWebSocket, OPEN } from '../../bench/lib/lean-websocket.js';

async function pair(): Promise<{ server: WebSocketServer; peer: WebSocket; client: LeanWebSocket; texts: string[]; url: string }> {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(server, 'listening');
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/app/key?protocol=7`;
  const accepted = once(server, 'connection');
  const client = new LeanWebSocket(url, { handshakeTimeout: 5000 });
  const texts: string[] = [];
  client.onText = (text) => texts.push(text);
  const [peer] = (await accepted) as [WebSocket];
  if (client.readyState !== OPEN) await once(client, 'open');
  return { server, peer, client, texts, url };
}

async function messages(texts: string[], count: number): Promise<void> {
  while (texts.length < count) await new Promise((resolve) => setImmediate(resolve));
}

test('lean websocket: receives text in all three length encodings, and fragmented', { timeout: 10_000 }, async () => {
  const { server, peer, client, texts } = await pair();
  const long = 'é'.repeat(40_000); // 80,000 bytes: the 64-bit length form, over several reads
  peer.send('short');
  peer.send('m'.repeat(300)); // the 16-bit length form
  peer.send(long);
  peer.send('frag', { fin: false });
  peer.send('ment', { fin: true });
  await messages(texts, 4);
  assert.equal(texts.length, 4);
  assert.deepEqual(texts.slice(0, 2), ['short', 'm'.repeat(300)]);
  assert.equal(texts[2], long);
  assert.equal(texts[3], 'fragment');
  client.terminate();
  server.close();
});

test('lean websocket: its messages arrive masked and whole, pings are answered', { timeout: 10_000 }, async () => {
  const { server, peer, client } = await pair();
  const got = once(peer, 'message');
  client.send('{"event":"pusher:subscribe","data":{"channel":"c"}}');
  const [data, isBinary] = (await got) as [Buffer, boolean];
  assert.equal(isBinary, false);
  assert.equal(data.toString(), '{"event":"pusher:subscribe","data":{"channel":"c"}}');
  const pong = once(peer, 'pong');
  peer.ping('abc');
  assert.equal(String(((await pong) as [Buffer])[0]), 'abc');
  client.terminate();
  server.close();
});

test('lean websocket: a close from either side reports the code and ends in CLOSED', { timeout: 10_000 }, async () => {
  const first = await pair();
  const closedByServer = once(first.client, 'close');
  first.peer.close(4009, 'bye');
  assert.deepEqual(await closedByServer, [4009]);
  assert.equal(first.client.readyState, CLOSED);
  first.server.close();

  const second = await pair();
  const seen = once(second.peer, 'close');
  const closedByClient = once(second.client, 'close');
  second.client.close(1000);
  assert.equal(((await seen) as [number])[0], 1000);
  await closedByClient;
  assert.equal(second.client.readyState, CLOSED);
  second.server.close();
});

test('lean websocket: a server that refuses the upgrade is an error, then a close', { timeout: 10_000 }, async () => {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1', verifyClient: () => false });
  await once(server, 'listening');
  const client = new LeanWebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`, { handshakeTimeout: 5000 });
  // Not events.once: it rejects when 'error' is emitted first, which is what happens here.
  const closed = new Promise((resolve) => client.on('close', resolve));
  const [error] = (await once(client, 'error')) as [Error];
  assert.match(error.message, /unexpected server response: HTTP\/1.1 401/);
  await closed;
  assert.equal(client.readyState, CLOSED);
  server.close();
});
