/**
 * GraphQL limits count operations, not requests (docs/graphql.md, docs/hardening.md): every
 * mutation field, aliases included, draws on the app's API rate and message quota, and one
 * operation publishes no more than the HTTP API's batch limit allows (Beams likewise). Deliveries
 * are watched by a raw protocol-7 subscriber; publishes go through the real `/graphql`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BEAMS_SERVICE, type BeamsService } from '../../src/beams/service.js';
import { RawClient } from '../helpers/raw-client.js';
import type { TestHerald } from '../helpers/herald.js';
import { basic, gql, startGraphqlHerald } from '../graphql/support.js';

const trigger = (alias: string, channel: string, n: number) =>
  `${alias}: triggerEvent(input: { name: "e", data: { n: ${n} }, channels: ["${channel}"] }) { name }`;

function aliasedTriggers(count: number, channel: string): string {
  return `mutation { ${Array.from({ length: count }, (_, i) => trigger(`t${i}`, channel, i)).join(' ')} }`;
}

async function subscriber(h: TestHerald, channel: string): Promise<RawClient> {
  const client = await RawClient.established(h.wsUrl, h.app.key);
  client.send({ event: 'pusher:subscribe', data: { channel } });
  await client.waitEvent('pusher_internal:subscription_succeeded', channel);
  return client;
}

/** Publishes a marker over the `pusher` SDK and returns the events the subscriber saw before it. */
async function deliveredBefore(h: TestHerald, client: RawClient, channel: string): Promise<unknown[]> {
  await h.pusherServer().trigger(channel, 'marker', {});
  await client.waitEvent('marker', channel);
  return client.frames.filter((f) => f.channel === channel && f.event === 'e').map((f) => f.data);
}

test('one mutation cannot publish more than the batch limit, whatever aliases or batch items it uses', async () => {
  const h = await startGraphqlHerald();
  const channel = `ops-batch-${process.pid}`;
  const client = await subscriber(h, channel);
  try {
    const bomb = await gql(h, aliasedTriggers(300, channel));
    assert.equal(bomb.status, 400, JSON.stringify(bomb.body).slice(0, 300));
    assert.equal(bomb.body.errors?.[0]?.extensions?.limit, 'eventsPerOperation');
    assert.match(bomb.body.errors![0]!.message, /Too many events in one operation: 300 \(limit 10/);

    const items = (k: number) => Array.from({ length: 6 }, (_, i) => `{ name: "e", data: { n: ${k * 10 + i} }, channel: "${channel}" }`).join(', ');
    const batches = await gql(h, `mutation { a: triggerBatchEvents(events: [${items(1)}]) { index } b: triggerBatchEvents(events: [${items(2)}]) { index } }`);
    assert.equal(batches.status, 400);
    assert.match(batches.body.errors![0]!.message, /Too many events in one operation: 12/);
    const viaVariables = await gql(h, 'mutation($e: [BatchEventInput!]!) { a: triggerBatchEvents(events: $e) { index } b: triggerBatchEvents(events: $e) { index } }', {
      e: Array.from({ length: 6 }, (_, i) => ({ name: 'e', data: { n: i }, channel })),
    });
    assert.equal(viaVariables.status, 400, JSON.stringify(viaVariables.body));
    assert.match(viaVariables.body.errors![0]!.message, /Too many events in one operation: 12/);

    // Within the limit, everything is published.
    const ten = await gql(h, aliasedTriggers(10, channel));
    assert.equal(ten.status, 200, JSON.stringify(ten.body.errors));
    assert.deepEqual(await deliveredBefore(h, client, channel), Array.from({ length: 10 }, (_, n) => ({ n })));
  } finally {
    client.close();
    await h.stop();
  }
});

test('each mutation field draws on the app API rate: an operation over a second\'s worth is refused whole', async () => {
  const h = await startGraphqlHerald({ app: { limits: { apiRequestsPerSecond: 2 } } });
  const channel = `ops-rate-${process.pid}`;
  const client = await subscriber(h, channel);
  try {
    const res = await gql(h, aliasedTriggers(3, channel));
    assert.equal(res.status, 429, JSON.stringify(res.body));
    assert.equal(res.body.errors?.[0]?.extensions?.code, 'RATE_LIMITED');
    assert.match(res.body.errors![0]!.message, /limited to 2 API requests per second; this operation counts as 3/);
    assert.deepEqual(await deliveredBefore(h, client, channel), [], 'nothing of the refused operation was published');
  } finally {
    client.close();
    await h.stop();
  }
});

test('each mutation field counts against the daily message quota', async () => {
  const h = await startGraphqlHerald({ app: { quotas: { dailyMessages: 4 } } });
  const channel = `ops-quota-${process.pid}`;
  try {
    const res = await gql(h, aliasedTriggers(6, channel));
    assert.equal(res.status, 200);
    // Fields run in order; the fifth is refused (triggerEvent is non-null, so `data` becomes null).
    assert.equal(res.body.errors?.length, 1, JSON.stringify(res.body));
    assert.equal(res.body.errors![0]!.extensions?.code, 'QUOTA_EXCEEDED');
    assert.deepEqual(res.body.errors![0]!.path, ['t4']);
    assert.match(res.body.errors![0]!.message, /Daily message quota exceeded for app .*: 4 of 4 messages used/);
  } finally {
    await h.stop();
  }
});

test('one operation sends at most 10 Beams notifications', async () => {
  const h = await startGraphqlHerald();
  try {
    const service = h.herald.services.get(BEAMS_SERVICE) as BeamsService;
    const instance = await service.instances.create({ id: `ops-beams-${process.pid}-${Date.now()}` });
    const send = (alias: string) => `${alias}: sendBeamsNotification(input: { interests: ["news"], payload: { web: { title: "t", body: "b" } } }) { publishId }`;
    const res = await gql(h, `mutation { ${Array.from({ length: 11 }, (_, i) => send(`s${i}`)).join(' ')} }`, undefined, basic(instance.id, instance.secretKey));
    assert.equal(res.status, 400, JSON.stringify(res.body).slice(0, 300));
    assert.equal(res.body.errors?.[0]?.extensions?.limit, 'publishesPerOperation');
    assert.match(res.body.errors![0]!.message, /Too many Beams notifications in one operation: 11 \(limit 10\)/);
    const ok = await gql(h, `mutation { ${send('one')} }`, undefined, basic(instance.id, instance.secretKey));
    assert.equal(ok.status, 200, JSON.stringify(ok.body.errors));
    assert.ok(ok.body.data.one.publishId);
  } finally {
    await h.stop();
  }
});
