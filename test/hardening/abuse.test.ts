/**
 * Abuse limits not covered elsewhere (docs/hardening.md): the handshake timeout against a client
 * that dribbles its headers, oversized request headers, the WebSocket frame limit (1009), replay
 * of a signed API request once its timestamp left the window, and auth signatures presented on
 * the wrong socket or channel (private, presence, user sign-in).
 */
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startTestHerald } from '../helpers/herald.js';
import { RawClient } from '../helpers/raw-client.js';
import { eventually, withTimeout } from '../helpers/wait.js';
import { hmacSha256Hex, md5Hex } from '../../src/protocol/signatures.js';
import { signRequest } from '../../src/protocol/http-signing.js';

/** Opens a raw TCP socket, writes `text`, resolves with everything the server sent once it closes. */
function rawHttp(port: number, text: string, ms: number): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (chunk) => (received += chunk.toString()));
  socket.on('error', () => undefined);
  socket.write(text);
  return withTimeout(new Promise<string>((resolve) => socket.on('close', () => resolve(received))), ms, 'the server to drop the socket').finally(() => socket.destroy());
}

test('a client that never finishes its request headers is dropped with 408 after handshakeTimeoutMs', async () => {
  const h = await startTestHerald({ config: { handshakeTimeoutMs: 1000 } });
  try {
    // A WebSocket upgrade whose header block never ends (slowloris).
    const partial = `GET /app/${h.app.key}?protocol=7 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`;
    const answer = await rawHttp(h.port, partial, 15_000);
    assert.match(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.match(answer, /\{"error":"Request timed out: headers must arrive within 1000 ms/);
    // Well-behaved clients are unaffected.
    const ok = await RawClient.established(h.wsUrl, h.app.key);
    ok.close();
  } finally {
    await h.stop();
  }
});

test('request headers over 16 KB get 431 with a JSON error', async () => {
  const h = await startTestHerald();
  try {
    const answer = await rawHttp(h.port, `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`, 10_000);
    assert.match(answer, /^HTTP\/1\.1 431 /);
    assert.match(answer, /"error":"Request line and headers together must stay under 16 KB"/);
  } finally {
    await h.stop();
  }
});

test('a WebSocket message over maxFrameBytes closes that socket with 1009; the server keeps serving', async () => {
  const h = await startTestHerald({ config: { maxFrameBytes: 2048 } });
  try {
    const big = await RawClient.established(h.wsUrl, h.app.key);
    const bystander = await RawClient.established(h.wsUrl, h.app.key);
    big.send(JSON.stringify({ event: 'pusher:ping', data: { pad: 'x'.repeat(3000) } }));
    const closed = await withTimeout(big.closed, 5000, 'close of the oversized sender');
    assert.equal(closed.code, 1009);
    // Just under the limit is accepted.
    bystander.send(JSON.stringify({ event: 'pusher:ping', data: { pad: 'y'.repeat(1800) } }));
    await bystander.waitEvent('pusher:pong');
    await eventually(() => h.herald.engine.connectionCount() === 1, 5000, 'the closed socket to leave the engine');
    bystander.close();
  } finally {
    await h.stop();
  }
});

test('a signed API request replayed after its timestamp left the 600 s window is refused with 401', async () => {
  const h = await startTestHerald();
  try {
    const path = `/apps/${h.app.id}/events`;
    const body = JSON.stringify({ name: 'replayed', data: '{}', channels: ['replay'] });
    const query: Array<[string, string]> = [
      ['auth_key', h.app.key],
      ['auth_timestamp', String(Math.floor(Date.now() / 1000))],
      ['auth_version', '1.0'],
      ['body_md5', md5Hex(body)],
    ];
    const url = `${h.httpUrl}${path}?${[...query, ['auth_signature', signRequest(h.app.secret, 'POST', path, query)]].map(([k, v]) => `${k}=${v}`).join('&')}`;
    const send = () => fetch(url, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
    assert.equal((await send()).status, 200, 'the original request');
    // Pusher semantics: within the window an identical request is accepted again (no nonce).
    assert.equal((await send()).status, 200, 'a replay inside the window');
    // The server's clock moves 601 s on: the very same bytes are now refused.
    mock.timers.enable({ apis: ['Date'], now: Date.now() + 601_000 });
    try {
      const replay = await send();
      assert.equal(replay.status, 401);
      assert.match((await replay.json()).error, /^Timestamp expired: Given timestamp \(\d+\) not within 600s of server time/);
    } finally {
      mock.timers.reset();
    }
  } finally {
    await h.stop();
  }
});

test('a query string of more than 100 parameters is refused with 400 before its signature is checked', async () => {
  const h = await startTestHerald();
  try {
    const path = `/apps/${h.app.id}/channels`;
    const signed = (extra: number) => {
      const query: Array<[string, string]> = [
        ['auth_key', h.app.key],
        ['auth_timestamp', String(Math.floor(Date.now() / 1000))],
        ['auth_version', '1.0'],
        ...Array.from({ length: extra }, (_, i): [string, string] => [`p${extra - i}`, '']),
      ];
      return `${h.httpUrl}${path}?${[...query, ['auth_signature', signRequest(h.app.secret, 'GET', path, query)]].map(([k, v]) => `${k}=${v}`).join('&')}`;
    };
    // 100 parameters (4 auth parameters + 96) are within the limit and correctly signed.
    assert.equal((await fetch(signed(96))).status, 200);
    // Thousands of them (as many as 16 KB of request line holds) cost tens of milliseconds to put
    // in signing order: refused before that, whether the signature is right or not.
    for (const url of [signed(97), signed(2000), `${h.httpUrl}${path}?auth_key=${h.app.key}&auth_signature=x&${'a&b&'.repeat(3000)}`]) {
      const res = await fetch(url);
      assert.equal(res.status, 400);
      assert.deepEqual(await res.json(), { error: 'Too many query parameters (limit 100)' });
    }
  } finally {
    await h.stop();
  }
});

test('an API request whose signature is wrong is refused with 401 before its body is read', async () => {
  const h = await startTestHerald();
  try {
    const path = `/apps/${h.app.id}/events`;
    const query = `auth_key=${h.app.key}&auth_timestamp=${Math.floor(Date.now() / 1000)}&auth_version=1.0&body_md5=${md5Hex('{}')}&auth_signature=${'0'.repeat(64)}`;
    // A megabyte announced, a few bytes sent: the answer must not wait for the rest.
    const socket = net.connect(h.port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write(`POST ${path}?${query} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"name":`);
    let received = '';
    const answer = await withTimeout(
      new Promise<string>((resolve) =>
        socket.on('data', (chunk) => {
          received += chunk.toString();
          if (received.includes('"}')) resolve(received);
        }),
      ),
      5000,
      'an answer while the body is still being sent',
    ).finally(() => socket.destroy());
    assert.match(answer, /^HTTP\/1\.1 401 /);
    assert.match(answer, /"error":"Invalid signature: you should have sent HmacSHA256Hex/);
    // A correctly signed request is still held to its body: a body other than the signed body_md5 is refused.
    const body = JSON.stringify({ name: 'ev', channels: ['c'], data: '{}' });
    const signedQuery: Array<[string, string]> = [
      ['auth_key', h.app.key],
      ['auth_timestamp', String(Math.floor(Date.now() / 1000))],
      ['auth_version', '1.0'],
      ['body_md5', md5Hex(body)],
    ];
    const url = `${h.httpUrl}${path}?${[...signedQuery, ['auth_signature', signRequest(h.app.secret, 'POST', path, signedQuery)]].map(([k, v]) => `${k}=${v}`).join('&')}`;
    const tampered = await fetch(url, { method: 'POST', body: body.replace('ev', 'xx'), headers: { 'Content-Type': 'application/json' } });
    assert.equal(tampered.status, 401);
    assert.deepEqual(await tampered.json(), { error: 'body_md5 does not match the request body' });
    assert.equal((await fetch(url, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } })).status, 200);
  } finally {
    await h.stop();
  }
});

test('channel and user auth signatures only work for the socket and channel they were made for', async () => {
  const h = await startTestHerald();
  try {
    const a = await RawClient.established(h.wsUrl, h.app.key);
    const b = await RawClient.established(h.wsUrl, h.app.key);
    const sign = (text: string) => `${h.app.key}:${hmacSha256Hex(h.app.secret, text)}`;
    const refused = async (client: RawClient, channel: string) => {
      const frame = await client.waitEvent('pusher:subscription_error', channel);
      assert.equal(frame.data.status, 401);
      assert.match(frame.data.error, /^Invalid signature/);
    };

    // private: a's signature presented by b, and a's signature for another channel.
    b.send({ event: 'pusher:subscribe', data: { channel: 'private-x', auth: sign(`${a.socketId}:private-x`) } });
    await refused(b, 'private-x');
    a.send({ event: 'pusher:subscribe', data: { channel: 'private-y', auth: sign(`${a.socketId}:private-x`) } });
    await refused(a, 'private-y');

    // presence: the same, with channel_data; and channel_data changed after signing.
    const channelData = JSON.stringify({ user_id: 'alice' });
    b.send({ event: 'pusher:subscribe', data: { channel: 'presence-x', auth: sign(`${a.socketId}:presence-x:${channelData}`), channel_data: channelData } });
    await refused(b, 'presence-x');
    a.send({ event: 'pusher:subscribe', data: { channel: 'presence-x', auth: sign(`${a.socketId}:presence-x:${channelData}`), channel_data: JSON.stringify({ user_id: 'mallory' }) } });
    await refused(a, 'presence-x');

    // sign-in: a's user signature presented by b.
    const userData = JSON.stringify({ id: 'alice' });
    b.send({ event: 'pusher:signin', data: { user_data: userData, auth: sign(`${a.socketId}::user::${userData}`) } });
    const signinError = await b.waitFor((f) => f.event === 'pusher:error' && f.data?.code === 4009, 5000, 'sign-in refusal');
    assert.match(signinError.data.message, /^Invalid signature/);

    // Nothing above subscribed or signed anyone in: the channels are empty.
    const sdk = h.pusherServer();
    const channels = await (await sdk.get({ path: '/channels', params: {} })).json();
    assert.deepEqual(channels, { channels: {} });

    // The genuine signatures work (the refusals above were about the socket/channel, not the key).
    a.send({ event: 'pusher:subscribe', data: { channel: 'private-x', auth: sign(`${a.socketId}:private-x`) } });
    await a.waitEvent('pusher_internal:subscription_succeeded', 'private-x');
    a.send({ event: 'pusher:subscribe', data: { channel: 'presence-x', auth: sign(`${a.socketId}:presence-x:${channelData}`), channel_data: channelData } });
    await a.waitEvent('pusher_internal:subscription_succeeded', 'presence-x');
    a.send({ event: 'pusher:signin', data: { user_data: userData, auth: sign(`${a.socketId}::user::${userData}`) } });
    await a.waitEvent('pusher:signin_success');
    assert.equal(b.frames.some((f) => f.event === 'pusher:signin_success' || f.event === 'pusher_internal:subscription_succeeded'), false);
    a.close();
    b.close();
  } finally {
    await h.stop();
  }
});
