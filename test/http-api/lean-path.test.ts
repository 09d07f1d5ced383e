/**
 * The Pusher HTTP API on the lean request path (platform/http1), through the stock `pusher` SDK and
 * `pusher-js`: publishes are served there, WebSocket connections and everything else still reach
 * Node's server on the same port, and HERALD_LEAN_HTTP=false turns it off.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { nextEvent } from '../helpers/wait.js';
import { md5Hex } from '../../src/protocol/signatures.js';
import { signRequest } from '../../src/protocol/http-signing.js';

let h: TestHerald;
before(async () => {
  h = await startTestHerald();
});
after(() => h.stop());

/** The lean counters summed over the node's workers (one worker unless HERALD_TEST_WORKERS). */
function leanStats(herald: TestHerald): { served: number; handedOff: number } {
  const sum = { served: 0, handedOff: 0 };
  for (const w of herald.heralds) {
    sum.served += w.leanHttp?.served ?? 0;
    sum.handedOff += w.leanHttp?.handedOff ?? 0;
  }
  return sum;
}

function signedPath(path: string, body: string, secret = h.app.secret): string {
  const query: Array<[string, string]> = [
    ['auth_key', h.app.key],
    ['auth_timestamp', String(Math.floor(Date.now() / 1000))],
    ['auth_version', '1.0'],
    ['body_md5', md5Hex(body)],
  ];
  const signature = signRequest(secret, 'POST', path, query);
  return `${path}?${[...query, ['auth_signature', signature]].map(([k, v]) => `${k}=${encodeURIComponent(v!)}`).join('&')}`;
}

test('pusher SDK publishes are served on the lean path and reach a pusher-js subscriber, whose WebSocket Node served', async () => {
  if (h.heralds.some((w) => w.leanHttp === undefined)) assert.fail('the lean path is on by default');
  const before = leanStats(h);
  const client = h.pusherClient();
  const channel = client.subscribe('lean-path');
  await nextEvent(channel, 'pusher:subscription_succeeded');
  const server = h.pusherServer();
  const got = nextEvent(channel, 'ev');
  const res = await server.trigger('lean-path', 'ev', { n: 1 });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {});
  assert.deepEqual(await got, { n: 1 });
  const batch = await server.triggerBatch([{ channel: 'lean-path', name: 'ev', data: { n: 2 } }]);
  assert.equal(batch.status, 200);
  const info = await server.get({ path: '/channels/lean-path', params: { info: 'subscription_count' } });
  assert.deepEqual(await info.json(), { occupied: true, subscription_count: 1 });
  const after = leanStats(h);
  assert.ok(after.served - before.served >= 3, `publish, batch and query served lean (${after.served - before.served})`);
  assert.ok(after.handedOff - before.handedOff >= 1, 'the WebSocket upgrade went to Node');
  client.disconnect();
});

test('errors on the lean path are the same JSON answers: bad signature 401, unknown app 404, bad JSON 400', async () => {
  const body = '{"name":"ev","channel":"c","data":"x"}';
  const wrong = await fetch(`${h.httpUrl}${signedPath(`/apps/${h.app.id}/events`, body, 'not-the-secret')}`, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
  assert.equal(wrong.status, 401);
  assert.match((await wrong.json()).error, /^Invalid signature/);
  assert.ok(wrong.headers.get('x-request-id'));
  const unknown = await fetch(`${h.httpUrl}${signedPath('/apps/no-such-app/events', body)}`, { method: 'POST', body });
  assert.equal(unknown.status, 404);
  const bad = '{"name":';
  const invalid = await fetch(`${h.httpUrl}${signedPath(`/apps/${h.app.id}/events`, bad)}`, { method: 'POST', body: bad });
  assert.equal(invalid.status, 400);
  assert.deepEqual(await invalid.json(), { error: 'Request body is not valid JSON' });
  const wrongMethod = await fetch(`${h.httpUrl}/apps/${h.app.id}/events`, { method: 'PUT', body: '{}' });
  assert.equal(wrongMethod.status, 405, 'PUT is Node\'s to answer, as before');
});

test('a chunked publish (no Content-Length) is served by Node\'s path and delivered', async () => {
  const client = h.pusherClient();
  const channel = client.subscribe('lean-chunked');
  await nextEvent(channel, 'pusher:subscription_succeeded');
  const got = nextEvent(channel, 'ev');
  const body = JSON.stringify({ name: 'ev', channel: 'lean-chunked', data: '{"chunked":true}' });
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(`${h.httpUrl}${signedPath(`/apps/${h.app.id}/events`, body)}`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.write(body.slice(0, 10));
    req.end(body.slice(10));
  });
  assert.equal(status, 200);
  assert.deepEqual(await got, { chunked: true });
  client.disconnect();
});

test('pipelined requests from a client that reads late are all answered, in order, through the native send path', async () => {
  const socket = connect(h.port, '127.0.0.1');
  socket.pause();
  const count = 2000;
  const ids = Array.from({ length: count }, (_, i) => `pipe-${i}`);
  socket.write(ids.map((id) => `GET /health HTTP/1.1\r\nHost: t\r\nX-Request-Id: ${id}\r\n\r\n`).join(''));
  let received = '';
  let complete = 0;
  let searchFrom = 0;
  await new Promise<void>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      // Each answer ends with its body; count whole answers as they arrive.
      for (let at = received.indexOf('{"status":"ok"}', searchFrom); at >= 0; at = received.indexOf('{"status":"ok"}', searchFrom)) {
        complete++;
        searchFrom = at + 1;
      }
      if (complete >= count) resolve();
    });
    socket.resume();
  });
  const seen = [...received.matchAll(/X-Request-Id: (pipe-\d+)\r\n/g)].map((m) => m[1]);
  socket.destroy();
  assert.deepEqual(seen, ids);
});

test('HERALD_LEAN_HTTP=false: every request goes through Node\'s server and publishing works the same', async () => {
  const off = await startTestHerald({ config: { leanHttp: false } });
  try {
    assert.ok(off.heralds.every((w) => w.leanHttp === undefined));
    const client = off.pusherClient();
    const channel = client.subscribe('lean-off');
    await nextEvent(channel, 'pusher:subscription_succeeded');
    const got = nextEvent(channel, 'ev');
    assert.equal((await off.pusherServer().trigger('lean-off', 'ev', { off: true })).status, 200);
    assert.deepEqual(await got, { off: true });
    client.disconnect();
  } finally {
    await off.stop();
  }
});
