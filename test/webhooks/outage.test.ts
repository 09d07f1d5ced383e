/**
 * A receiver outage under steady traffic: how many events arrive afterwards, and how many twice.
 * The outage is short by default; run the one-minute outage by hand with
 *   HERALD_WEBHOOK_OUTAGE_MS=60000 node --import tsx --test test/webhooks/outage.test.ts
 * (HERALD_WEBHOOK_OUTAGE_BACKOFF_MAX_MS sets the retry back-off cap; default 200 ms here, 60 s in production).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { RawClient } from '../helpers/raw-client.js';
import { nextDelivery, WAIT_MS, webhookService } from './support.js';
import { countDuplicates, WebhookReceiver, type ReceivedEvent } from './receiver.js';
import { WEBHOOK_EVENT_TYPES } from '../../src/apps/app.js';

const OUTAGE_MS = Number(process.env.HERALD_WEBHOOK_OUTAGE_MS ?? 1500);
const BACKOFF_MAX_MS = Number(process.env.HERALD_WEBHOOK_OUTAGE_BACKOFF_MAX_MS ?? 200);
/** One new channel per tick: occupied + subscription_count, and the previous channel's vacated. */
const TICK_MS = 50;

describe('receiver outage', () => {
  let receiver: WebhookReceiver | undefined;
  let h: TestHerald | undefined;
  after(async () => {
    await h?.stop();
    await receiver?.close();
  });

  it(`delivers every event after a ${OUTAGE_MS} ms outage, counting duplicates`, { timeout: OUTAGE_MS + 240_000 }, async (t) => {
    const app = { id: 'wh-outage', key: 'wh-outage-key', secret: 'wh-outage-secret' };
    receiver = await WebhookReceiver.start(app);
    h = await startTestHerald({
      app: { ...app, webhooks: [{ url: receiver.url, events: [...WEBHOOK_EVENT_TYPES] }] },
      config: { webhookBackoffMaxMs: BACKOFF_MAX_MS, webhookVacateDelayMs: 0, webhookBatchWindowMs: 20 },
    });
    const service = webhookService(h);
    const raw = await RawClient.established(h.wsUrl, app.key);
    let generated = 0;
    let recoveryMs = -1;
    const channels: string[] = [];
    const tick = () => {
      const channel = `outage-${generated++}`;
      if (channels.length > 0) raw.send({ event: 'pusher:unsubscribe', data: { channel: channels[channels.length - 1] } });
      raw.send({ event: 'pusher:subscribe', data: { channel } });
      channels.push(channel);
    };

    // Traffic before, during and after the outage; the outage starts once the receiver got events.
    const traffic = setInterval(tick, TICK_MS);
    try {
      await receiver.waitUntil(() => receiver!.delivered.length >= 10, WAIT_MS, 'traffic before the outage');
      const refused = nextDelivery(service, (r) => r.outcome === 'failed', WAIT_MS, 'a failed attempt during the outage');
      await receiver.goDown();
      const beforeOutage = generated;
      await refused;
      // The outage length itself is the scenario under test (not a synchronization wait).
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
      const duringOutage = generated - beforeOutage;
      await receiver.reopen();
      const reopenedAt = Date.now();
      const afterReopen = generated;
      await receiver.waitUntil(() => receiver!.delivered.some((e) => e.channel === `outage-${afterReopen + 5}`), WAIT_MS + BACKOFF_MAX_MS * 3, 'traffic after the outage');
      clearInterval(traffic);
      const firstOk = receiver.requests.find((r) => r.status === 200 && r.receivedAt >= reopenedAt);
      recoveryMs = firstOk ? firstOk.receivedAt - reopenedAt : -1;
      t.diagnostic(`channels generated during the outage: ${duringOutage}`);
    } finally {
      clearInterval(traffic);
    }
    raw.send({ event: 'pusher:unsubscribe', data: { channel: channels[channels.length - 1] } });

    // Expected: occupied + subscription_count + vacated for every channel.
    const expected = channels.length * 3;
    const started = Date.now();
    await receiver.waitUntil(() => countDuplicates(receiver!.delivered, key).unique >= expected, WAIT_MS * 2 + BACKOFF_MAX_MS * 3, `all ${expected} events`);
    raw.close();
    const { unique, duplicates } = countDuplicates(receiver.delivered, key);
    const failedRequests = receiver.requests.length - receiver.requests.filter((r) => r.status === 200).length;
    const summary = {
      outageMs: OUTAGE_MS,
      backoffMaxMs: BACKOFF_MAX_MS,
      eventsGenerated: expected,
      uniqueDelivered: unique,
      duplicates,
      requests: receiver.requests.length,
      nonOkRequests: failedRequests,
      invalidSignatures: receiver.invalidCount,
      firstDeliveryAfterReopenMs: recoveryMs,
      drainAfterTrafficMs: Date.now() - started,
    };
    t.diagnostic(`outage summary ${JSON.stringify(summary)}`);
    assert.equal(receiver.invalidCount, 0);
    assert.equal(unique, expected);
    // Per-channel order survived the retries.
    const order = new Map<string, string[]>();
    for (const e of receiver.delivered) {
      const names = order.get(e.channel) ?? [];
      if (!names.includes(e.name)) names.push(e.name);
      order.set(e.channel, names);
    }
    for (const [channel, names] of order) assert.deepEqual(names, ['channel_occupied', 'subscription_count', 'channel_vacated'], channel);
  });
});

function key(e: ReceivedEvent): string {
  return `${e.name}|${e.channel}`;
}
