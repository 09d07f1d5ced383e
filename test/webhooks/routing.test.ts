/** Endpoint filters (event types, channel prefix), custom headers, batching per app and endpoint. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { RawClient } from '../helpers/raw-client.js';
import { authorizedClient, connected, subscribed, WAIT_MS } from './support.js';
import { WebhookReceiver } from './receiver.js';
import { WEBHOOK_EVENT_TYPES } from '../../src/apps/app.js';

/** subscription_count is opt-in (seed 004), so these endpoints list every type. */
const ALL_TYPES = [...WEBHOOK_EVENT_TYPES];

const A = { id: 'wh-route-a', key: 'wh-route-a-key', secret: 'wh-route-a-secret' };
const B = { id: 'wh-route-b', key: 'wh-route-b-key', secret: 'wh-route-b-secret' };
const C = { id: 'wh-route-c', key: 'wh-route-c-key', secret: 'wh-route-c-secret' };

describe('webhook routing and batching', () => {
  let membersOnly: WebhookReceiver;
  let shared: WebhookReceiver;
  let unbatched: WebhookReceiver;
  let h: TestHerald;

  before(async () => {
    membersOnly = await WebhookReceiver.start(A);
    shared = await WebhookReceiver.start(A, 'ok', [B]);
    unbatched = await WebhookReceiver.start(C);
    h = await startTestHerald({
      app: {
        ...A,
        webhooks: [
          { url: membersOnly.url, events: ['member_added'] },
          // Content-Type cannot be overridden: the SDK's validator needs it exact.
          { url: shared.url, events: ALL_TYPES, channelPrefix: 'private-', headers: { 'X-Custom': 'yes', 'Content-Type': 'text/plain', 'Bad\nName': 'x' } },
        ],
      },
      apps: [
        { ...B, webhooks: [{ url: shared.url, events: ALL_TYPES }] },
        { ...C, webhooks: [{ url: unbatched.url, events: ALL_TYPES }], webhookBatching: false },
      ],
      config: { webhookBatchWindowMs: 200, webhookVacateDelayMs: 0 },
    });
  });

  after(async () => {
    await h.stop();
    await Promise.all([membersOnly.close(), shared.close(), unbatched.close()]);
  });

  it('sends each endpoint only the event types and channels it asked for, with its custom headers', async () => {
    const client = authorizedClient(h, h.pusherServer(), 'bob');
    await connected(client);
    await subscribed(client, 'presence-a');
    await subscribed(client, 'private-a1');
    await subscribed(client, 'public-a');
    await membersOnly.waitUntil(() => membersOnly.delivered.length >= 1, WAIT_MS, 'member_added');
    await shared.waitUntil(() => shared.deliveredMatching('subscription_count', 'private-a1').length === 1, WAIT_MS, 'private-a1 events');

    assert.deepEqual(membersOnly.delivered, [{ name: 'member_added', channel: 'presence-a', user_id: 'bob' }]);
    const fromA = shared.requests.filter((r) => r.headers['x-pusher-key'] === A.key);
    assert.ok(fromA.length > 0);
    for (const request of fromA) {
      assert.equal(request.valid, true);
      assert.equal(request.headers['x-custom'], 'yes');
      assert.equal(request.headers['content-type'], 'application/json');
      for (const event of request.events) assert.ok(event.channel.startsWith('private-'), `unexpected ${event.channel}`);
    }
  });

  it('batches events close together, never mixing apps in one request', async () => {
    const raw = await RawClient.established(h.wsUrl, B.key);
    const names = ['b1', 'b2', 'b3', 'b4', 'b5'].map((n) => `chan-${n}`);
    for (const channel of names) raw.send({ event: 'pusher:subscribe', data: { channel } });
    const fromB = () => shared.requests.filter((r) => r.headers['x-pusher-key'] === B.key);
    await shared.waitUntil(() => fromB().flatMap((r) => r.events).filter((e) => e.name === 'channel_occupied').length === 5, WAIT_MS, 'five occupied from B');
    raw.close();

    const eventsFromB = fromB().flatMap((r) => r.events);
    assert.ok(fromB().length < eventsFromB.length, `expected batching: ${fromB().length} requests for ${eventsFromB.length} events`);
    for (const request of shared.requests) {
      assert.equal(request.valid, true);
      const prefix = request.headers['x-pusher-key'] === B.key ? 'chan-b' : 'private-a';
      for (const event of request.events) assert.ok(event.channel.startsWith(prefix), `${event.channel} in a request of ${request.headers['x-pusher-key']}`);
    }
    // Chronological within the batch: occupied before the count of the same channel.
    const order = eventsFromB.filter((e) => e.channel === 'chan-b3').map((e) => e.name);
    assert.deepEqual(order.slice(0, 2), ['channel_occupied', 'subscription_count']);
  });

  it('sends one event per request when the app disables batching', async () => {
    const raw = await RawClient.established(h.wsUrl, C.key);
    for (const channel of ['c1', 'c2', 'c3']) raw.send({ event: 'pusher:subscribe', data: { channel } });
    await unbatched.waitUntil(() => unbatched.deliveredMatching('subscription_count').length === 3, WAIT_MS, 'three subscription counts');
    raw.close();
    assert.equal(unbatched.invalidCount, 0);
    for (const request of unbatched.requests) assert.equal(request.events.length, 1);
  });
});
