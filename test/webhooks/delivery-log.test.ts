/** The delivery log: in-process 'delivery' events, the signed API endpoint and the admin endpoint. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { RawClient } from '../helpers/raw-client.js';
import { FAST_RETRY, nextDelivery, webhookService } from './support.js';
import { WebhookReceiver } from './receiver.js';

const APP = { id: 'wh-log', key: 'wh-log-key', secret: 'wh-log-secret-123' };
const ADMIN_TOKEN = 'admin-token-0123456789abcdef';

describe('webhook delivery log', () => {
  let receiver: WebhookReceiver;
  let h: TestHerald;
  let raw: RawClient;

  before(async () => {
    receiver = await WebhookReceiver.start(APP);
    h = await startTestHerald({ app: { ...APP, webhooks: [{ url: receiver.url }] }, config: { ...FAST_RETRY, adminToken: ADMIN_TOKEN } });
    raw = await RawClient.established(h.wsUrl, APP.key);
  });

  after(async () => {
    raw.close();
    await h.stop();
    await receiver.close();
  });

  const adminGet = (path: string, token?: string) =>
    fetch(`${h.httpUrl}${path}`, { headers: token === undefined ? {} : { Authorization: `Bearer ${token}` } });

  it('reports deliveries and failures in process and over HTTP', async () => {
    const service = webhookService(h);
    const delivered = nextDelivery(service, (r) => r.outcome === 'delivered' && r.sample.some((s) => s.channel === 'log-1'));
    raw.send({ event: 'pusher:subscribe', data: { channel: 'log-1' } });
    const record = await delivered;
    assert.equal(record.appId, APP.id);
    assert.equal(record.url, receiver.url);
    assert.equal(record.statusCode, 200);
    assert.equal(typeof record.latencyMs, 'number');
    assert.equal(record.attempt, 1);

    receiver.mode = 'fail';
    const failed = nextDelivery(service, (r) => r.outcome === 'failed' && r.sample.some((s) => s.channel === 'log-2'));
    const recovered = nextDelivery(service, (r) => r.outcome === 'delivered' && r.sample.some((s) => s.channel === 'log-2'));
    raw.send({ event: 'pusher:subscribe', data: { channel: 'log-2' } });
    const failure = await failed;
    assert.equal(failure.statusCode, 503);
    assert.match(failure.error ?? '', /HTTP 503: down for maintenance/);

    // Signed like the Pusher HTTP API (the stock SDK signs any GET).
    const signed = await h.pusherServer().get({ path: '/webhooks/log', params: { limit: 50 } });
    assert.equal(signed.status, 200);
    const body = (await signed.json()) as { app_id: string; pending: number; deliveries: Array<Record<string, unknown>> };
    assert.equal(body.app_id, APP.id);
    assert.ok(body.pending >= 1, 'the failed events are still queued');
    const outcomes = body.deliveries.map((d) => d.outcome);
    assert.ok(outcomes.includes('delivered') && outcomes.includes('failed'), `outcomes ${outcomes.join(',')}`);
    const first = body.deliveries.find((d) => d.outcome === 'delivered')!;
    assert.equal(first.status_code, 200);
    assert.equal(typeof first.latency_ms, 'number');
    assert.equal(typeof first.time_ms, 'number');
    assert.ok(Array.isArray(first.sample));

    receiver.mode = 'ok';
    const retried = await recovered;
    assert.ok(retried.attempt >= 2);

    const admin = await adminGet(`/admin/apps/${APP.id}/webhooks/log?limit=1`, ADMIN_TOKEN);
    assert.equal(admin.status, 200);
    const adminBody = (await admin.json()) as { deliveries: Array<{ id: number; outcome: string }>; next_before: number | null };
    assert.equal(adminBody.deliveries.length, 1);
    assert.equal(adminBody.deliveries[0]!.outcome, 'delivered');
    assert.equal(adminBody.next_before, adminBody.deliveries[0]!.id);
    const older = await adminGet(`/admin/apps/${APP.id}/webhooks/log?limit=5&before=${adminBody.next_before}`, ADMIN_TOKEN);
    const olderBody = (await older.json()) as { deliveries: Array<{ id: number }> };
    assert.ok(olderBody.deliveries.every((d) => d.id < adminBody.next_before!));
  });

  it('refuses unsigned, wrongly authorized and malformed requests', async () => {
    assert.equal((await fetch(`${h.httpUrl}/apps/${APP.id}/webhooks/log`)).status, 401);
    assert.equal((await adminGet(`/admin/apps/${APP.id}/webhooks/log`)).status, 401);
    const wrong = await adminGet(`/admin/apps/${APP.id}/webhooks/log`, 'not-the-admin-token-000');
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.equal((await adminGet('/admin/apps/no-such-app/webhooks/log', ADMIN_TOKEN)).status, 404);
    const bad = await adminGet(`/admin/apps/${APP.id}/webhooks/log?limit=abc`, ADMIN_TOKEN);
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /limit must be a whole number/);
    assert.equal((await adminGet(`/admin/apps/${APP.id}/webhooks/log?limit=5000`, ADMIN_TOKEN)).status, 400);
  });

  it('answers 403 on the admin endpoint when no admin token is configured', async () => {
    const plain = await startTestHerald();
    try {
      const res = await fetch(`${plain.httpUrl}/admin/apps/${plain.app.id}/webhooks/log`, { headers: { Authorization: 'Bearer anything-at-all-123' } });
      assert.equal(res.status, 403);
    } finally {
      await plain.stop();
    }
  });
});
