/**
 * Device API exactly as @pusher/push-notifications-web 2.1.0 sends it (spec F.4): CORS preflights,
 * VAPID key, registration with base64(JSON(PushSubscription)), interests (add/remove/get/set with
 * pagination), metadata, user association with a Beams JWT (all device-api.md error cases),
 * deletion; plus native (APNs/FCM) registration and the reporting API.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import PushNotifications from '@pusher/push-notifications-server';
import { apnsToken, createFakeInstance, startBeamsHerald, startFakes, type BeamsHerald, type Fakes } from './helpers.js';
import type { BeamsInstance } from '../../src/beams/instances.js';
import { verifyUserToken } from '../../src/beams/jwt.js';
import { BeamsError } from '../../src/beams/errors.js';

const ORIGIN = 'https://shop.example.com';

describe('Beams Device API (web SDK wire format)', () => {
  let fakes: Fakes;
  let h: BeamsHerald;
  let instance: BeamsInstance;
  let base = '';

  /** fetch the way the web SDK's doRequest does: JSON body ⇒ Content-Type, cross-origin. */
  const sdk = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${h.th.httpUrl}${path}`, {
      method,
      headers: { Origin: ORIGIN, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    let json: any = null;
    try {
      json = JSON.parse(text);
    } catch {
      /* the SDK tolerates non-JSON bodies */
    }
    return { status: res.status, body: json, headers: res.headers };
  };

  before(async () => {
    fakes = await startFakes();
    h = await startBeamsHerald();
    instance = await createFakeInstance(h.service, fakes);
    base = `/device_api/v1/instances/${encodeURIComponent(instance.id)}`;
  });

  after(async () => {
    await h?.stop();
    await fakes?.close();
  });

  test('CORS preflight allows PUT/DELETE with Authorization and Content-Type', async () => {
    const res = await fetch(`${h.th.httpUrl}${base}/devices/web/web-x/interests`, {
      method: 'OPTIONS',
      headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'authorization,content-type' },
    });
    assert.ok(res.status === 200 || res.status === 204);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.match(res.headers.get('access-control-allow-methods') ?? '', /PUT/);
    assert.match(res.headers.get('access-control-allow-methods') ?? '', /DELETE/);
    assert.match((res.headers.get('access-control-allow-headers') ?? '').toLowerCase(), /authorization/);
    assert.match((res.headers.get('access-control-allow-headers') ?? '').toLowerCase(), /content-type/);
    const get = await sdk('GET', `${base}/web-vapid-public-key`);
    assert.equal(get.headers.get('access-control-allow-origin'), '*');
  });

  test('the full web SDK lifecycle', async () => {
    const key = await sdk('GET', `${base}/web-vapid-public-key`);
    assert.equal(key.status, 200);
    assert.equal(key.body.vapidPublicKey, instance.settings.web.vapidPublicKey);
    assert.equal(Buffer.from(key.body.vapidPublicKey, 'base64url').length, 65);

    const { token } = fakes.web.subscribe('lifecycle');
    const reg = await sdk('POST', `${base}/devices/web`, { token, metadata: { sdkVersion: '2.1.0' } });
    assert.equal(reg.status, 200);
    assert.match(reg.body.id, /^web-[0-9a-f-]{36}$/);
    const device = `${base}/devices/web/${reg.body.id}`;

    assert.equal((await sdk('POST', `${device}/interests/${encodeURIComponent('hello')}`)).status, 200);
    assert.equal((await sdk('POST', `${device}/interests/${encodeURIComponent('a=b@c,d.e;f')}`)).status, 200);
    assert.equal((await sdk('POST', `${device}/interests/hello`)).status, 200, 'adding twice is fine');
    let list = await sdk('GET', `${device}/interests?limit=100`);
    assert.deepEqual(list.body, { interests: ['a=b@c,d.e;f', 'hello'], responseMetadata: {} });
    assert.equal((await sdk('DELETE', `${device}/interests/hello`)).status, 200);

    const many = Array.from({ length: 250 }, (_, i) => `topic-${String(i).padStart(3, '0')}`);
    assert.equal((await sdk('PUT', `${device}/interests`, { interests: many })).status, 200);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await sdk('GET', `${device}/interests?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(page.status, 200);
      seen.push(...page.body.interests);
      cursor = page.body.responseMetadata.nextCursor;
    } while (cursor);
    assert.deepEqual(seen, many);
    assert.equal((await sdk('PUT', `${device}/interests`, { interests: [] })).status, 200);
    list = await sdk('GET', `${device}/interests`);
    assert.deepEqual(list.body.interests, []);

    assert.equal((await sdk('PUT', `${device}/metadata`, { sdkVersion: '2.1.1' })).status, 200);
    const got = await sdk('GET', device);
    assert.deepEqual(got.body, { id: reg.body.id, userId: null, metadata: { sdkVersion: '2.1.1' } });

    const server = new PushNotifications({ instanceId: instance.id, secretKey: instance.secretKey });
    const jwt = server.generateToken('alice').token;
    assert.equal((await sdk('PUT', `${device}/user`, undefined, { Authorization: `Bearer ${jwt}` })).status, 200);
    assert.equal((await sdk('GET', device)).body.userId, 'alice');

    assert.equal((await sdk('DELETE', device)).status, 200);
    assert.equal((await sdk('GET', device)).status, 404);
    assert.equal((await sdk('DELETE', device)).status, 200, 'delete is idempotent');
  });

  test('device API errors follow device-api.md', async () => {
    const { token } = fakes.web.subscribe('errors');
    const id = (await sdk('POST', `${base}/devices/web`, { token })).body.id;
    const device = `${base}/devices/web/${id}`;
    const check = async (res: Promise<{ status: number; body: any }>, status: number, error?: string) => {
      const r = await res;
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.ok(typeof r.body.error === 'string' && typeof r.body.description === 'string', 'both fields present');
      if (error) assert.equal(r.body.error, error);
    };
    await check(sdk('GET', `/device_api/v1/instances/nope/web-vapid-public-key`), 404, 'Instance not found');
    await check(sdk('POST', `${device}/interests/${encodeURIComponent('bad name')}`), 400, 'Invalid interest name');
    await check(sdk('POST', `${device}/interests/${'x'.repeat(165)}`), 400, 'Invalid interest name');
    await check(sdk('PUT', `${device}/interests`, { interests: Array.from({ length: 5001 }, (_, i) => `i${i}`) }), 400, 'Interest set too large');
    await check(sdk('PUT', `${device}/interests`, { interests: ['ok', 'not ok'] }), 400, 'Invalid interest name');
    await check(sdk('GET', `${base}/devices/web/web-unknown/interests`), 404, 'Device not found');
    await check(sdk('GET', `${device}/interests?limit=0`), 400);
    await check(sdk('GET', `${device}/interests?limit=101`), 400);
    await check(sdk('POST', `${base}/devices/web`, { token: 'not base64 json' }), 400);
    await check(sdk('POST', `${base}/devices/web`, { metadata: {} }), 400);
    await check(sdk('POST', `${base}/devices/blackberry`, { token: 'x' }), 404);
    const notAllowed = Buffer.from(JSON.stringify({ endpoint: 'http://169.254.169.254/latest', keys: JSON.parse(Buffer.from(token, 'base64').toString()).keys })).toString('base64');
    await check(sdk('POST', `${base}/devices/web`, { token: notAllowed }), 400);

    // User association (JWT) errors.
    const secret = new TextEncoder().encode(instance.secretKey);
    const iss = `https://${instance.id}.pushnotifications.pusher.com`;
    const now = Math.floor(Date.now() / 1000);
    const sign = (claims: Record<string, unknown>, key = secret) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(key);
    const put = (jwt?: string) => sdk('PUT', `${device}/user`, undefined, jwt === undefined ? {} : { Authorization: `Bearer ${jwt}` });
    await check(put(), 401, 'Unauthorized');
    await check(put('garbage'), 401, 'Unauthorized');
    await check(put(await sign({ sub: 'u', iss, exp: now + 60 }, new TextEncoder().encode('wrong-secret'))), 401);
    await check(put(await sign({ sub: 'u', iss, exp: now - 3600 })), 401);
    const missingExp = await put(await sign({ sub: 'u', iss }));
    assert.deepEqual(missingExp.body, { error: 'Bad Request', description: 'Missing expiration (exp) field in JWT' });
    await check(put(await sign({ iss, exp: now + 60 })), 400);
    await check(put(await sign({ sub: 'x'.repeat(165), iss, exp: now + 60 })), 400);
    await check(put(await sign({ sub: 'u', exp: now + 60 })), 400);
    const wrongIss = await put(await sign({ sub: 'u', iss: 'https://other.pushnotifications.pusher.com', exp: now + 60 }));
    assert.deepEqual(wrongIss.body, { error: 'Forbidden', description: 'Invalid JWT issuer' });
    await check(sdk('PUT', `${base}/devices/web/web-unknown/user`, undefined, { Authorization: `Bearer ${await sign({ sub: 'u', iss, exp: now + 60 })}` }), 404);
  });

  test('a user may have at most 100 devices per platform', async () => {
    const jwt = new PushNotifications({ instanceId: instance.id, secretKey: instance.secretKey }).generateToken('busy-user').token;
    const db = await h.db();
    await db.query(
      `INSERT INTO beams_devices (instance_id, id, platform, token, token_hash, user_id)
       SELECT $1, 'fcm-busy-' || g, 'fcm', 'busy-token-' || g, 'busy-hash-' || g, 'busy-user' FROM generate_series(1, 100) g`,
      [instance.id],
    );
    const reg = await sdk('POST', `${base}/devices/fcm`, { token: 'busy-token-101' });
    const res = await sdk('PUT', `${base}/devices/fcm/${reg.body.id}/user`, undefined, { Authorization: `Bearer ${jwt}` });
    assert.equal(res.status, 422);
    assert.equal(res.body.description, 'User already has reached the maximum of 100 devices');
  });

  test('native registration: APNs needs a bundle id; the same token keeps its id and interests', async () => {
    const token = apnsToken();
    const first = await sdk('POST', `${base}/devices/apns`, { token, bundleIdentifier: 'com.example.herald', metadata: { sdkVersion: '4.0.0', iosVersion: '17.0' } });
    assert.equal(first.status, 200);
    assert.match(first.body.id, /^apns-/);
    assert.deepEqual(first.body.initialInterestSet, []);
    await sdk('POST', `${base}/devices/apns/${first.body.id}/interests/news`);
    const again = await sdk('POST', `${base}/devices/apns`, { token, bundleIdentifier: 'com.example.herald' });
    assert.deepEqual(again.body, { id: first.body.id, initialInterestSet: ['news'] });
    assert.equal((await sdk('POST', `${base}/devices/apns`, { token })).body.description, 'Missing App Bundle Identifier');
    assert.equal((await sdk('POST', `${base}/devices/apns`, { token: 'zz', bundleIdentifier: 'x' })).status, 401);
    const fcm = await sdk('POST', `${base}/devices/fcm`, { token: 'fcm-native-1', metadata: { sdkVersion: '1.9.0', androidVersion: '14' } });
    assert.match(fcm.body.id, /^fcm-/);
    assert.equal((await sdk('PUT', `${base}/devices/fcm/${fcm.body.id}/token`, { token: 'fcm-native-2' })).status, 200);
    assert.equal((await sdk('GET', `${base}/devices/fcm/${fcm.body.id}`)).status, 200);
    assert.equal((await sdk('GET', `${base}/devices/apns/${fcm.body.id}`)).status, 404, 'platform must match');
  });

  test('reporting API accepts delivery/open events', async () => {
    const res = await sdk('POST', `/reporting_api/v2/instances/${instance.id}/events`, {
      publishId: 'pubid-unknown',
      event: 'open',
      deviceId: 'web-x',
      timestampSecs: Math.floor(Date.now() / 1000),
      appInBackground: false,
      hasDisplayableContent: true,
      hasData: false,
    });
    assert.equal(res.status, 200);
  });
});

describe('Beams JWT verification', () => {
  test('accepts tokens from the server SDK and rejects the expired spec test vector', async () => {
    const sdk = new PushNotifications({ instanceId: 'inst-1', secretKey: 'beams-secret' });
    assert.equal(await verifyUserToken(sdk.generateToken('u1').token, 'inst-1', 'beams-secret'), 'u1');
    const vector =
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDA4NjQwMCwiaXNzIjoiaHR0cHM6Ly9pbnN0LTEucHVzaG5vdGlmaWNhdGlvbnMucHVzaGVyLmNvbSIsInN1YiI6InUxIn0.ZuiQQMZJZp0eg0vCjwSyQvndEOJxQaLR7VMhDcgdWWc';
    await assert.rejects(verifyUserToken(vector, 'inst-1', 'beams-secret'), (err: unknown) => err instanceof BeamsError && err.kind === 'unauthorized' && /expired/.test(err.description));
    await assert.rejects(verifyUserToken(vector, 'inst-1', 'other-secret'), (err: unknown) => err instanceof BeamsError && err.kind === 'unauthorized');
  });
});
