/**
 * herald/sdk's Beams methods against a running Herald's Beams service (not a fake server):
 * publishToInterests, publishToUsers, generateToken (accepted by the Device API) and deleteUser.
 * Deliveries are checked at the local Web Push fake, which decrypts every payload.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { BeamsClient } from '../../src/sdk/index.js';
import { HeraldHttpError, BeamsHttpError } from '../../src/sdk/errors.js';
import { beamsApi, createFakeInstance, startBeamsHerald, startFakes, waitForPublish, type BeamsHerald, type Fakes } from '../beams/helpers.js';
import type { BeamsInstance } from '../../src/beams/instances.js';

let fakes: Fakes;
let h: BeamsHerald;
let instance: BeamsInstance;
let beams: BeamsClient;
let deviceId = '';

const api = beamsApi(() => h.th.httpUrl);

before(async () => {
  fakes = await startFakes();
  h = await startBeamsHerald();
  instance = await createFakeInstance(h.service, fakes);
  beams = new BeamsClient({ instanceId: instance.id, secretKey: instance.secretKey, baseUrl: h.th.httpUrl });
  const subscription = fakes.web.subscribe('sdk-browser');
  deviceId = (await api('POST', `/device_api/v1/instances/${instance.id}/devices/web`, { token: subscription.token, metadata: { sdkVersion: '2.1.0' } })).body.id;
  assert.equal((await api('POST', `/device_api/v1/instances/${instance.id}/devices/web/${deviceId}/interests/sdk-news`)).status, 200);
});

after(async () => {
  await h?.stop();
  await fakes?.close();
});

test('publishToInterests is queued by Herald and delivered through Web Push', async () => {
  const before = fakes.web.received.length;
  const { publishId } = await beams.publishToInterests({ interests: ['sdk-news'], web: { notification: { title: 'From herald/sdk', body: 'hello' } } });
  assert.match(publishId, /^pubid-/);
  const status = await waitForPublish(h.service, instance.id, publishId);
  assert.equal(status.delivered, 1);
  assert.equal(fakes.web.received.length, before + 1);
  assert.equal(fakes.web.received.at(-1)!.payload.notification.title, 'From herald/sdk');
});

test('generateToken is accepted by the Device API; publishToUsers reaches the user; deleteUser removes the device', async () => {
  const { token } = await beams.generateToken({ userId: 'sdk-user' });
  const userPath = `/device_api/v1/instances/${instance.id}/devices/web/${deviceId}/user`;
  assert.equal((await api('PUT', userPath, undefined, { Authorization: `Bearer ${token}` })).status, 200);

  const before = fakes.web.received.length;
  const { publishId } = await beams.publishToUsers({ users: ['sdk-user'], web: { notification: { title: 'Just for you' } } });
  assert.equal((await waitForPublish(h.service, instance.id, publishId)).delivered, 1);
  assert.equal(fakes.web.received.length, before + 1);

  await beams.deleteUser({ userId: 'sdk-user' });
  assert.equal((await api('GET', `/device_api/v1/instances/${instance.id}/devices/web/${deviceId}`)).status, 404);
});

test('Herald refusals surface as typed errors with status and body', async () => {
  const wrong = new BeamsClient({ instanceId: instance.id, secretKey: 'not-the-secret-key', baseUrl: h.th.httpUrl });
  await assert.rejects(wrong.publishToInterests({ interests: ['sdk-news'], web: { notification: { title: 'x' } } }), (err: unknown) => {
    const e = err as BeamsHttpError | HeraldHttpError;
    return (e instanceof BeamsHttpError || e instanceof HeraldHttpError) && e.status === 401;
  });
});
