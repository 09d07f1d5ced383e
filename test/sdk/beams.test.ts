/** Beams client against a capture server: exact requests (spec F.1–F.3) and parity with the official SDK. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import PushNotifications from '@pusher/push-notifications-server';
import { BeamsClient, BeamsHttpError, HeraldConfigurationError, HeraldValidationError } from '../../src/sdk/index.js';
import { startCaptureServer, type CaptureServer } from './capture-server.js';

let server: CaptureServer;
before(async () => {
  server = await startCaptureServer();
});
after(() => server.close());

const SECRET = 'beams-secret-key';
const beams = (clock?: () => number) => new BeamsClient({ instanceId: 'inst-1', secretKey: SECRET, baseUrl: server.origin }, clock ? { clock } : {});
const official = () => new PushNotifications({ instanceId: 'inst-1', secretKey: SECRET, endpoint: '127.0.0.1', port: server.port } as never);

test('F.3 generateToken test vector', async () => {
  const client = new BeamsClient({ instanceId: 'inst-1', secretKey: 'beams-secret' }, { clock: () => 1_700_000_000_000 });
  assert.deepEqual(await client.generateToken({ userId: 'u1' }), {
    token:
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDA4NjQwMCwiaXNzIjoiaHR0cHM6Ly9pbnN0LTEucHVzaG5vdGlmaWNhdGlvbnMucHVzaGVyLmNvbSIsInN1YiI6InUxIn0.ZuiQQMZJZp0eg0vCjwSyQvndEOJxQaLR7VMhDcgdWWc',
  });
});

test('generateToken equals the official SDK token at the same second', async (t) => {
  const nowMs = 1_712_345_678_000;
  t.mock.method(Date, 'now', () => nowMs);
  const theirs = official().generateToken('user@example.com');
  const ours = await new BeamsClient({ instanceId: 'inst-1', secretKey: SECRET }, { clock: () => nowMs }).generateToken({ userId: 'user@example.com' });
  assert.equal(ours.token, theirs.token);
});

test('publishToInterests sends the exact request the official SDK sends', async () => {
  server.respondWith({ status: 200, body: '{"publishId":"pubid-1"}' });
  const payload = { web: { notification: { title: 'T', body: 'B' } }, fcm: { notification: { title: 'T' } }, apns: { aps: { alert: 'x' } } };
  const arrivedOfficial = server.next();
  await official().publishToInterests(['donuts', 'hello'], payload);
  const expected = await arrivedOfficial;
  const arrived = server.next();
  assert.deepEqual(await beams().publishToInterests({ interests: ['donuts', 'hello'], ...payload }), { publishId: 'pubid-1' });
  const actual = await arrived;
  assert.equal(actual.method, 'POST');
  assert.equal(actual.url, '/publish_api/v1/instances/inst-1/publishes/interests');
  assert.equal(actual.url, expected.url);
  assert.equal(actual.body, '{"web":{"notification":{"title":"T","body":"B"}},"fcm":{"notification":{"title":"T"}},"apns":{"aps":{"alert":"x"}},"interests":["donuts","hello"]}');
  assert.equal(actual.body, expected.body);
  for (const header of ['authorization', 'content-type', 'accept']) assert.equal(actual.headers[header], expected.headers[header], header);
  assert.equal(actual.headers.authorization, `Bearer ${SECRET}`);
});

test('publishToUsers sends users last, like the official SDK', async () => {
  server.respondWith({ status: 200, body: '{"publishId":"pubid-2"}' });
  const payload = { web: { notification: { title: 'Hi' }, data: { orderId: 7 } } };
  const arrivedOfficial = server.next();
  await official().publishToUsers(['u1', 'ron weasley@x'], payload);
  const expected = await arrivedOfficial;
  const arrived = server.next();
  assert.deepEqual(await beams().publishToUsers({ users: ['u1', 'ron weasley@x'], ...payload }), { publishId: 'pubid-2' });
  const actual = await arrived;
  assert.equal(actual.url, '/publish_api/v1/instances/inst-1/publishes/users');
  assert.equal(actual.body, expected.body);
  assert.equal(actual.body, '{"web":{"notification":{"title":"Hi"},"data":{"orderId":7}},"users":["u1","ron weasley@x"]}');
});

test('deleteUser uses the documented customer_api path with an encoded user id', async () => {
  server.respondWith({ status: 200, body: '' });
  const arrived = server.next();
  assert.equal(await beams().deleteUser({ userId: 'ron weasley@x' }), undefined);
  const request = await arrived;
  assert.equal(request.method, 'DELETE');
  assert.equal(request.url, '/customer_api/v1/instances/inst-1/users/ron%20weasley%40x');
  assert.equal(request.headers.authorization, `Bearer ${SECRET}`);
  assert.equal(request.body, '');
});

test('Beams errors carry status, error and description', async () => {
  server.respondWith({ status: 422, body: '{"error":"Unprocessable Entity","description":"interests must be a list"}' });
  const error = await beams().publishToInterests({ interests: ['a'], web: {} }).catch((e: unknown) => e);
  assert.ok(error instanceof BeamsHttpError);
  assert.equal(error.status, 422);
  assert.equal(error.error, 'Unprocessable Entity');
  assert.equal(error.description, 'interests must be a list');
  assert.equal(error.message, '422 Unprocessable Entity - interests must be a list');
  server.respondWith({ status: 500, body: 'oops' });
  const plain = await beams().deleteUser({ userId: 'u' }).catch((e: unknown) => e);
  assert.ok(plain instanceof BeamsHttpError);
  assert.equal(plain.body, 'oops');
  assert.equal(plain.error, undefined);
});

test('limits are checked before sending', async () => {
  const before = server.requests.length;
  const client = beams();
  const invalid = (promise: Promise<unknown>, parameter: string) =>
    assert.rejects(promise, (e: unknown) => e instanceof HeraldValidationError && e.parameter === parameter);
  await invalid(client.publishToInterests({ interests: [], web: {} }), 'interests');
  await invalid(client.publishToInterests({ interests: Array.from({ length: 101 }, (_, i) => `i${i}`), web: {} }), 'interests');
  await invalid(client.publishToInterests({ interests: ['a'.repeat(165)], web: {} }), 'interests[0]');
  await invalid(client.publishToInterests({ interests: ['has space'], web: {} }), 'interests[0]');
  await invalid(client.publishToInterests({ interests: ['a'] }), 'params');
  await invalid(client.publishToInterests({ interests: ['a'], web: { data: { pusher: 1 } } }), 'web.data');
  await invalid(client.publishToInterests({ interests: ['a'], web: { notification: { body: 'x'.repeat(11000) } } }), 'params');
  await invalid(client.publishToInterests({ interests: ['a'], web: {}, webhookUrl: 'nope' }), 'webhookUrl');
  await invalid(client.publishToUsers({ users: Array.from({ length: 1001 }, (_, i) => `u${i}`), web: {} }), 'users');
  await invalid(client.publishToUsers({ users: ['é'.repeat(83)], web: {} }), 'users[0]');
  await invalid(client.deleteUser({ userId: '' }), 'userId');
  await invalid(client.generateToken({ userId: 'x'.repeat(165) }), 'userId');
  assert.equal(server.requests.length, before);
});

test('configuration errors and defaults', () => {
  assert.equal(new BeamsClient({ instanceId: 'abc-123', secretKey: 's' }).baseUrl, 'https://abc-123.pushnotifications.pusher.com');
  assert.equal(new BeamsClient({ instanceId: 'abc', secretKey: 's', baseUrl: 'http://127.0.0.1:6001/beams/' }).baseUrl, 'http://127.0.0.1:6001/beams');
  assert.equal(
    new BeamsClient({ provider: 'PusherBeams', configuration: [{ name: 'instanceId', value: 'abc' }, { name: 'secretKey', value: 's' }] }).instanceId,
    'abc',
  );
  assert.throws(() => new BeamsClient({ instanceId: '', secretKey: 's' }), HeraldConfigurationError);
  assert.throws(() => new BeamsClient({ instanceId: 'a', secretKey: '' }), HeraldConfigurationError);
  assert.throws(() => new BeamsClient({ instanceId: 'a/b', secretKey: 's' }), HeraldConfigurationError);
  assert.throws(() => new BeamsClient({ instanceId: 'a', secretKey: 's', baseUrl: 'ftp://x' }), HeraldConfigurationError);
  assert.throws(() => new BeamsClient({ instanceId: 'a', secretKey: 's', endpoint: 'x' } as never), /not a known parameter/);
});
