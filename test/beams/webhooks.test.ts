/**
 * Beams webhooks with the stock @pusher/push-notifications-server SDK and a local receiver that
 * verifies every signature (hex HMAC-SHA1 of the raw body with the webhook secret, as Pusher's docs
 * show): v1.PublishToUsersAttempt, v1.UserNotificationAcknowledgement, v1.UserNotificationOpen,
 * per-webhook event filters and custom_data, retries with the same request id, a publish's own
 * webhookUrl (STARTED / FINISHED), and delivery after a restart from the durable outbox.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import PushNotifications from '@pusher/push-notifications-server';
import { beamsApi, createFakeInstance, startBeamsHerald, startFakes, waitForPublish, type BeamsHerald, type Fakes } from './helpers.js';
import type { BeamsInstance } from '../../src/beams/instances.js';
import { eventually } from '../helpers/wait.js';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: any;
  signatureValid: boolean;
}

/** Records POSTs; checks Webhook-Signature with `secrets[path]`; answers `status(path)`. */
async function startReceiver(secrets: Record<string, string>) {
  const received: Received[] = [];
  let failNext = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const secret = secrets[req.url ?? ''];
      const given = Buffer.from(String(req.headers['webhook-signature'] ?? ''), 'hex');
      const expected = secret ? createHmac('sha1', secret).update(raw).digest() : Buffer.alloc(0);
      const signatureValid = secret !== undefined && given.length === expected.length && timingSafeEqual(given, expected);
      received.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(raw.toString('utf8')), signatureValid });
      if (failNext > 0) {
        failNext--;
        res.writeHead(500).end('try later');
        return;
      }
      res.writeHead(secret === undefined || signatureValid ? 200 : 401).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    failNextRequests(n: number) {
      failNext = n;
    },
    of: (type: string) => received.filter((r) => r.body?.metadata?.event_type === type),
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

describe('Beams webhooks', () => {
  let fakes: Fakes;
  let h: BeamsHerald;
  let instance: BeamsInstance;
  let beams: PushNotifications;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let deviceId = '';
  const api = beamsApi(() => h.th.httpUrl);

  before(async () => {
    fakes = await startFakes();
    receiver = await startReceiver({ '/all': 'all-secret', '/opens': 'opens-secret' });
    h = await startBeamsHerald({ webhooks: { retryDelaysMs: [300, 300], pollMs: 100 } });
    instance = await createFakeInstance(h.service, fakes);
    const updated = await h.service.instances.update(instance.id, {
      webhooks: [
        { url: `${receiver.url}/all`, secret: 'all-secret', customData: { team: 'mobile' } },
        { url: `${receiver.url}/opens`, secret: 'opens-secret', events: ['v1.UserNotificationOpen'] },
      ],
    });
    h.service.instanceChanged(instance.id);
    assert.equal(updated!.settings.webhooks.length, 2);
    beams = new PushNotifications({ instanceId: instance.id, secretKey: instance.secretKey, endpoint: '127.0.0.1', port: h.th.port } as PushNotifications.Options);
    const sub = fakes.web.subscribe('browser-alice');
    deviceId = (await api('POST', `/device_api/v1/instances/${instance.id}/devices/web`, { token: sub.token, metadata: { sdkVersion: '2.1.0' } })).body.id;
    const { token } = beams.generateToken('alice');
    const userPath = `/device_api/v1/instances/${instance.id}/devices/web/${deviceId}/user`;
    assert.equal((await api('PUT', userPath, undefined, { Authorization: `Bearer ${token}` })).status, 200);
  });

  after(async () => {
    await h?.stop();
    await fakes?.close();
    await receiver?.close();
  });

  test('admin view hides webhook secrets', async () => {
    const shown = (await h.service.instances.get(instance.id))!;
    const { describeInstance } = await import('../../src/beams/instances.js');
    const described = describeInstance(shown) as { webhooks: Array<{ secret: string; id: string }> };
    assert.deepEqual(described.webhooks.map((w) => w.secret), ['[configured]', '[configured]']);
    assert.match(described.webhooks[0]!.id, /^[0-9a-f-]{36}$/);
  });

  test('publishToUsers sends v1.PublishToUsersAttempt, signed, with the documented wrapper and headers; a failed attempt is retried with the same request id', async () => {
    receiver.failNextRequests(1);
    const { publishId } = await beams.publishToUsers(['alice', 'nobody'], { web: { notification: { title: 'Hi Alice' } } });
    await waitForPublish(h.service, instance.id, publishId);
    await eventually(() => receiver.of('v1.PublishToUsersAttempt').length >= 2, 10_000, 'the attempt and its retry');
    const [first, retry] = receiver.of('v1.PublishToUsersAttempt');
    assert.equal(first!.path, '/all');
    assert.equal(first!.signatureValid, true);
    assert.equal(retry!.signatureValid, true);
    assert.equal(retry!.headers['webhook-request-id-uuid'], first!.headers['webhook-request-id-uuid'], 'a retry keeps its request id');
    assert.equal(first!.headers['user-agent'], 'pusher-webhooks');
    assert.equal(first!.headers['content-type'], 'application/json');
    assert.equal(first!.headers['webhook-event-type'], 'v1.PublishToUsersAttempt');
    assert.match(String(first!.headers['webhook-id-uuid']), /^[0-9a-f-]{36}$/);
    assert.deepEqual(retry!.body.payload, {
      instance_id: instance.id,
      publish_id: publishId,
      users_delivered_to_gateway: ['alice'],
      users_no_devices: ['nobody'],
      users_gateway_failed: [],
    });
    assert.equal(retry!.body.metadata.event_type, 'v1.PublishToUsersAttempt');
    assert.equal(retry!.body.metadata.product, 'beams');
    assert.match(retry!.body.metadata.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$/);
    assert.match(retry!.body.metadata.event_id, /^[0-9a-f-]{36}$/);
    assert.deepEqual(retry!.body.custom_data, { team: 'mobile' });
    assert.equal(receiver.received.filter((r) => r.path === '/opens').length, 0, 'the /opens webhook does not want this type');
  });

  test('delivery and open reports become v1.UserNotificationAcknowledgement and v1.UserNotificationOpen for the device\'s user', async () => {
    const { publishId } = await beams.publishToUsers(['alice'], { web: { notification: { title: 'Open me' } } });
    await waitForPublish(h.service, instance.id, publishId);
    for (const event of ['delivery', 'open']) {
      const res = await api('POST', `/reporting_api/v2/instances/${instance.id}/events`, { publishId, event, deviceId, userId: 'mallory', timestampSecs: 1 });
      assert.equal(res.status, 200);
    }
    await eventually(() => receiver.of('v1.UserNotificationOpen').length >= 2 && receiver.of('v1.UserNotificationAcknowledgement').length >= 1, 10_000, 'ack and open webhooks');
    const ack = receiver.of('v1.UserNotificationAcknowledgement')[0]!;
    assert.equal(ack.path, '/all');
    assert.deepEqual(ack.body.payload, { instance_id: instance.id, publish_id: publishId, user_id: 'alice' }, 'the stored association wins over the claimed userId');
    const opens = receiver.of('v1.UserNotificationOpen');
    assert.deepEqual(opens.map((o) => o.path).sort(), ['/all', '/opens']);
    assert.ok(opens.every((o) => o.signatureValid && o.body.payload.user_id === 'alice'));
    assert.deepEqual(opens.find((o) => o.path === '/opens')!.body.custom_data, {});
  });

  test("a publish's own webhookUrl gets the publish STARTED and FINISHED hooks", async () => {
    const webhookUrl = `${receiver.url}/publish-hook`;
    const { publishId } = await beams.publishToInterests(['news'], { webhookUrl, web: { notification: { title: 'News' } } } as PushNotifications.PublishRequest);
    await eventually(() => receiver.received.filter((r) => r.path === '/publish-hook').length >= 2, 10_000, 'publish hooks');
    const hooks = receiver.received.filter((r) => r.path === '/publish-hook').map((r) => r.body);
    assert.deepEqual(hooks.map((b) => [b.publishId, b.status]), [[publishId, 'STARTED'], [publishId, 'FINISHED']]);
    assert.deepEqual(hooks[1].requestBody.interests, ['news']);
    assert.equal(hooks[1].requestBody.webhookUrl, webhookUrl);
    assert.deepEqual(hooks[1].results.all, { numSuccessfulPublishes: 0, numFailedPublishes: 0 });
  });
});

test('Beams webhooks wait in the durable outbox across a restart', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-beams-wh-'));
  const fakes = await startFakes();
  const receiver = await startReceiver({ '/hook': 'restart-secret' });
  try {
    let h = await startBeamsHerald({ config: { dataDir }, webhooks: { retryDelaysMs: [60_000], pollMs: 100 } });
    const instance = await createFakeInstance(h.service, fakes);
    await h.service.instances.update(instance.id, { webhooks: [{ url: `${receiver.url}/hook`, secret: 'restart-secret' }] });
    h.service.instanceChanged(instance.id);
    receiver.failNextRequests(1);
    const beams = new PushNotifications({ instanceId: instance.id, secretKey: instance.secretKey, endpoint: '127.0.0.1', port: h.th.port } as PushNotifications.Options);
    const { publishId } = await beams.publishToUsers(['ghost'], { web: { notification: { title: 'x' } } });
    await eventually(() => receiver.received.length === 1, 10_000, 'the first (refused) attempt');
    await h.stop();

    // The retry is a minute away: a restarted node with short delays finds the row and sends it once due.
    h = await startBeamsHerald({ config: { dataDir }, webhooks: { retryDelaysMs: [60_000], pollMs: 100 } });
    try {
      const db = await h.db();
      await db.query('UPDATE herald_webhook_outbox SET next_attempt_at = 0 WHERE app_id = $1', [`beams:${instance.id}`]);
      h.service.webhooks.start();
      await eventually(() => receiver.received.length === 2, 10_000, 'delivery after the restart');
      const [first, second] = receiver.received;
      assert.equal(second!.signatureValid, true);
      assert.equal(second!.headers['webhook-request-id-uuid'], first!.headers['webhook-request-id-uuid']);
      assert.deepEqual(second!.body.payload.users_no_devices, ['ghost']);
      assert.equal(second!.body.payload.publish_id, publishId);
      // The row is deleted once the 2xx is in (just after the receiver answered).
      const queued = async () => Number((await db.query<{ n: string | number }>('SELECT count(*) AS n FROM herald_webhook_outbox WHERE app_id = $1', [`beams:${instance.id}`]))[0]!.n);
      await eventually(async () => (await queued()) === 0, 5000, 'the delivered row to leave the outbox');
    } finally {
      await h.stop();
    }
  } finally {
    await receiver.close();
    await fakes.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
