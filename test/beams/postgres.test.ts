/**
 * Beams on PostgreSQL (127.0.0.1:5432, db test) with two Herald nodes sharing it: a publish made on
 * one node is delivered exactly once (jobs are claimed with FOR UPDATE SKIP LOCKED). Skipped when
 * PostgreSQL is not running.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import PushNotifications from '@pusher/push-notifications-server';
import { apnsToken, bulkRegister, createFakeInstance, startBeamsHerald, startFakes, waitForPublish, type BeamsHerald, type Fakes } from './helpers.js';

const DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

async function postgresUp(): Promise<boolean> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const available = await postgresUp();

describe('Beams on PostgreSQL with two nodes', { skip: available ? false : 'PostgreSQL is not running on 127.0.0.1:5432' }, () => {
  let fakes: Fakes;
  let a: BeamsHerald;
  let b: BeamsHerald;

  before(async () => {
    fakes = await startFakes();
    a = await startBeamsHerald({ config: { databaseUrl: DATABASE_URL }, delivery: { pageSize: 100 } });
    b = await startBeamsHerald({ config: { databaseUrl: DATABASE_URL }, delivery: { pageSize: 100 } });
  });

  after(async () => {
    await a?.stop();
    await b?.stop();
    await fakes?.close();
  });

  test('register through one node, publish through the other, each device gets one notification', async () => {
    const instance = await createFakeInstance(a.service, fakes, { id: `pg-${process.pid}-${Date.now()}` });
    try {
      const web = fakes.web.subscribe(`pg-browser-${process.pid}`);
      const reg = await fetch(`${a.th.httpUrl}/device_api/v1/instances/${instance.id}/devices/web`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ token: web.token, metadata: { sdkVersion: '2.1.0' } }),
      });
      const { id } = (await reg.json()) as { id: string };
      await fetch(`${a.th.httpUrl}/device_api/v1/instances/${instance.id}/devices/web/${id}/interests/pg`, { method: 'POST' });
      const tokens = Array.from({ length: 300 }, () => apnsToken());
      await bulkRegister(await a.db(), instance.id, tokens.map((token) => ({ platform: 'apns' as const, token, interests: ['pg'] })));

      const beams = new PushNotifications({ instanceId: instance.id, secretKey: instance.secretKey, endpoint: '127.0.0.1', port: b.th.port } as PushNotifications.Options);
      const { publishId } = await beams.publishToInterests(['pg'], { apns: { aps: { alert: 'pg' } }, web: { notification: { title: 'pg' } } });
      const status = await waitForPublish(b.service, instance.id, publishId);
      assert.equal(status.status, 'done');
      assert.equal(status.delivered, 301);
      const mine = fakes.apns.received.filter((r) => r.body.data.pusher.publishId === publishId).map((r) => r.token);
      assert.equal(mine.length, 300, 'no device twice');
      assert.deepEqual(new Set(mine), new Set(tokens));
      assert.equal(fakes.web.received.filter((r) => r.payload.data.pusher.publishId === publishId).length, 1);
    } finally {
      await a.service.instances.delete(instance.id);
    }
  });
});
