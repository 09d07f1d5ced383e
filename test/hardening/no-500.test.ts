/**
 * No 500s from input (docs/hardening.md): path segments that name Object.prototype members
 * (`__proto__`, `constructor`, `toString`, …) in every registered route, and JSON nested far deeper
 * than MAX_JSON_DEPTH in REST, batch, admin, Beams and GraphQL (HTTP and graphql-ws) bodies, and in
 * WebSocket client events, presence channel_data and sign-in user_data. Each must be a 4xx (404 / 400 with the documented depth limit).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { MAX_JSON_DEPTH } from '../../src/protocol/json-depth.js';
import { signRequest } from '../../src/protocol/http-signing.js';
import { hmacSha256Hex, md5Hex } from '../../src/protocol/signatures.js';
import type { TestHerald } from '../helpers/herald.js';
import { RawClient } from '../helpers/raw-client.js';
import { eventually } from '../helpers/wait.js';
import { ADMIN, appAuth, startGraphqlHerald } from '../graphql/support.js';

const MAGIC = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'prototype'];
const DEEP = (value: string) => '{"a":'.repeat(100_000) + value + '}'.repeat(100_000);

async function signedPost(h: TestHerald, path: string, body: string): Promise<{ status: number; text: string }> {
  const query: Array<[string, string]> = [
    ['auth_key', h.app.key],
    ['auth_timestamp', String(Math.floor(Date.now() / 1000))],
    ['auth_version', '1.0'],
    ['body_md5', md5Hex(body)],
  ];
  const url = `${h.httpUrl}${path}?${[...query, ['auth_signature', signRequest(h.app.secret, 'POST', path, query)]].map(([k, v]) => `${k}=${v}`).join('&')}`;
  const res = await fetch(url, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
  return { status: res.status, text: await res.text() };
}

test('path segments naming Object.prototype members answer 4xx on every route, with and without credentials', async () => {
  const h = await startGraphqlHerald();
  try {
    const vendor = await fetch(`${h.httpUrl}/console/vendor/__proto__`);
    assert.equal(vendor.status, 404);
    assert.deepEqual(await vendor.json(), { error: 'Not found' });

    const routes = (h.herald.router as unknown as { routes: Array<{ method: string; segments: string[] }> }).routes;
    assert.ok(routes.length > 30, 'the routes are listed');
    const failures: string[] = [];
    for (const route of routes) {
      if (!route.segments.some((s) => s.startsWith(':') || s === '*')) continue;
      for (const name of MAGIC) {
        const path = '/' + route.segments.map((s) => (s.startsWith(':') || s === '*' ? name : s)).join('/');
        for (const authorization of [undefined, ADMIN, appAuth(h)]) {
          const headers: Record<string, string> = { 'Content-Type': 'application/json' };
          if (authorization) headers.Authorization = authorization;
          const res = await fetch(`${h.httpUrl}${path}`, { method: route.method, headers, body: route.method === 'GET' || route.method === 'HEAD' ? undefined : '{}' });
          await res.arrayBuffer();
          if (res.status >= 500) failures.push(`${route.method} ${path} (${authorization ? authorization.split(' ')[0] : 'anonymous'}) → ${res.status}`);
        }
      }
    }
    assert.deepEqual(failures, []);
  } finally {
    await h.stop();
  }
});

test(`JSON nested 100 000 levels deep is refused with 400 naming the ${MAX_JSON_DEPTH}-level limit, on every surface`, async () => {
  const h = await startGraphqlHerald();
  const limit = new RegExp(`JSON nested too deeply: objects and arrays may nest at most ${MAX_JSON_DEPTH} levels`);
  try {
    const events = await signedPost(h, `/apps/${h.app.id}/events`, `{"name":"e","channel":"c","data":${DEEP('1')}}`);
    assert.equal(events.status, 400, events.text);
    assert.match(events.text, limit);
    const batch = await signedPost(h, `/apps/${h.app.id}/batch_events`, `{"batch":[{"name":"e","channel":"c","data":${DEEP('1')}}]}`);
    assert.equal(batch.status, 400, batch.text);
    assert.match(batch.text, limit);

    const admin = await fetch(`${h.httpUrl}/admin/apps`, { method: 'POST', headers: { Authorization: ADMIN, 'Content-Type': 'application/json' }, body: `{"id":"deep","key":"deep-key","secret":"deep-secret-123","webhooks":${DEEP('1')}}` });
    assert.equal(admin.status, 400);
    assert.match(await admin.text(), limit);

    // GraphQL over HTTP: variables in the body.
    const mutation = 'mutation($d: JSON!) { triggerEvent(input: {name: "e", data: $d, channels: ["c"]}) { name } }';
    const viaHttp = await fetch(`${h.httpUrl}/graphql`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: appAuth(h) },
      body: `{"query":${JSON.stringify(mutation)},"variables":{"d":${DEEP('1')}}}`,
    });
    assert.equal(viaHttp.status, 400);
    assert.match(await viaHttp.text(), limit);
    // A value just over the limit inside the body's own limit: refused by the JSON scalar.
    const justOver = JSON.parse('['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1));
    const scalar = await fetch(`${h.httpUrl}/graphql`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: appAuth(h) }, body: JSON.stringify({ query: mutation, variables: { d: justOver } }) });
    const scalarBody = (await scalar.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
    assert.equal(scalarBody.errors[0]!.extensions.code, 'BAD_USER_INPUT', JSON.stringify(scalarBody));

    // graphql-ws: the variables arrive in a WebSocket message (under the 256 KiB frame limit).
    const ws = new WebSocket(`${h.wsUrl}/graphql`, 'graphql-transport-ws');
    const messages: Array<{ type: string; id?: string; payload?: any }> = [];
    const arrived = (type: string) => eventually(() => messages.find((m) => m.type === type), 5000, type);
    ws.on('message', (raw) => messages.push(JSON.parse(raw.toString())));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    try {
      ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: appAuth(h) } }));
      await arrived('connection_ack');
      const levels = 100_000;
      ws.send(`{"type":"subscribe","id":"1","payload":{"query":${JSON.stringify(mutation)},"variables":{"d":${'['.repeat(levels)}${']'.repeat(levels)}}}}`);
      const answer = await Promise.race([arrived('error'), arrived('next')]);
      const error = answer!.type === 'error' ? answer!.payload[0] : answer!.payload.errors?.[0];
      assert.equal(error?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(answer).slice(0, 300));
      assert.match(error.message, limit);
    } finally {
      ws.close();
    }
  } finally {
    await h.stop();
  }
});

test(`Beams bodies nested deeper than ${MAX_JSON_DEPTH} levels are refused with 400 (they overflowed the stack: 500)`, async () => {
  const h = await startGraphqlHerald({ config: { beamsInstanceId: 'deep-beams', beamsSecretKey: 'deep-beams-secret-1' } });
  const limit = `JSON nested too deeply: objects and arrays may nest at most ${MAX_JSON_DEPTH} levels`;
  const deep = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
  const post = async (method: string, path: string, body: string, auth?: string) => {
    const res = await fetch(`${h.httpUrl}${path}`, { method, body, headers: { 'Content-Type': 'application/json', ...(auth ? { Authorization: auth } : {}) } });
    return { status: res.status, body: (await res.json()) as unknown };
  };
  try {
    const base = '/publish_api/v1/instances/deep-beams/publishes';
    const publisher = 'Bearer deep-beams-secret-1';
    // Under the 200 KiB body limit of a publish to users: 90 000 levels in the FCM and APNs payloads.
    for (const payload of [`"fcm":{"notification":{"title":"t"},"data":{"x":${deep(90_000)}}}`, `"apns":{"aps":{"alert":"t"},"x":${deep(90_000)}}`]) {
      const res = await post('POST', `${base}/users`, `{"users":["u"],${payload}}`, publisher);
      assert.deepEqual(res, { status: 400, body: { error: 'Bad request', description: limit } });
    }
    // The device API needs no credentials: a device's interests nested 400 000 levels (under 1 MiB).
    const device = await post('POST', '/device_api/v1/instances/deep-beams/devices/apns', JSON.stringify({ token: 'ab'.repeat(32), bundleIdentifier: 'com.example' }));
    assert.equal(device.status, 200, JSON.stringify(device.body));
    const id = (device.body as { id: string }).id;
    const interests = await post('PUT', `/device_api/v1/instances/deep-beams/devices/apns/${id}/interests`, `{"interests":${deep(400_000)}}`);
    assert.deepEqual(interests, { status: 400, body: { error: 'Bad request', description: limit } });
    // Within the limit the same routes answer as before.
    assert.equal((await post('POST', `${base}/users`, `{"users":["u"],"apns":{"aps":{"alert":"t"},"x":${deep(50)}}}`, publisher)).status, 200);
  } finally {
    await h.stop();
  }
});

test('a WebSocket client event with deeply nested data gets a pusher:error, the socket keeps working', async () => {
  const h = await startGraphqlHerald({ app: { clientEvents: true } });
  const client = await RawClient.established(h.wsUrl, h.app.key);
  try {
    const channel = 'private-deep';
    const auth = `${h.app.key}:${hmacSha256Hex(h.app.secret, `${client.socketId}:${channel}`)}`;
    client.send({ event: 'pusher:subscribe', data: { channel, auth } });
    await client.waitEvent('pusher_internal:subscription_succeeded', channel);
    const depth = 60_000; // under the 256 KiB frame limit
    client.send(`{"event":"client-deep","channel":"${channel}","data":${'['.repeat(depth)}${']'.repeat(depth)}}`);
    client.send({ event: 'pusher:ping', data: {} });
    await client.waitEvent('pusher:pong');
    assert.equal(client.closeCode, undefined);
  } finally {
    client.close();
    await h.stop();
  }
});

test('presence channel_data and sign-in user_data nested deeper than the limit are refused; nothing is joined, the socket keeps working', async () => {
  const h = await startGraphqlHerald();
  const client = await RawClient.established(h.wsUrl, h.app.key);
  const sign = (text: string) => `${h.app.key}:${hmacSha256Hex(h.app.secret, text)}`;
  const limit = new RegExp(`JSON nested too deeply: objects and arrays may nest at most ${MAX_JSON_DEPTH} levels`);
  const deep = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
  try {
    // 6000 levels fit in a frame under the app's message limit; serializing user_info again overflowed the stack.
    const channel = 'presence-deep';
    const channelData = `{"user_id":"u1","user_info":${deep(6000)}}`;
    client.send({ event: 'pusher:subscribe', data: { channel, auth: sign(`${client.socketId}:${channel}:${channelData}`), channel_data: channelData } });
    const refused = await client.waitEvent('pusher:subscription_error', channel);
    assert.equal(refused.data.type, 'InvalidChannelData');
    assert.equal(refused.data.status, 400);
    assert.match(refused.data.error, limit);
    const users = await (await h.pusherServer().get({ path: `/channels/${channel}/users`, params: {} })).json();
    assert.deepEqual(users, { users: [] });

    const userData = `{"id":"u1","user_info":{"x":${deep(6000)}}}`;
    client.send({ event: 'pusher:signin', data: { user_data: userData, auth: sign(`${client.socketId}::user::${userData}`) } });
    const signinError = await client.waitFor((f) => f.event === 'pusher:error' && f.data?.code === 4009, 5000, 'sign-in refusal');
    assert.match(signinError.data.message, limit);

    // Within the limit both work.
    const fine = `{"user_id":"u1","user_info":{"a":${deep(50)}}}`;
    client.send({ event: 'pusher:subscribe', data: { channel, auth: sign(`${client.socketId}:${channel}:${fine}`), channel_data: fine } });
    await client.waitEvent('pusher_internal:subscription_succeeded', channel);
    assert.equal(client.closeCode, undefined);
  } finally {
    client.close();
    await h.stop();
  }
});

