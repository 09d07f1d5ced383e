/** Every webhook event type end to end: real pusher-js client → Herald → signed POST → pusher SDK validation. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { authorizedClient, connected, FAST_RETRY, subscribed, WAIT_MS } from './support.js';
import { WebhookReceiver } from './receiver.js';
import { WEBHOOK_EVENT_TYPES } from '../../src/apps/app.js';

const APP = { id: 'wh-events', key: 'wh-events-key', secret: 'wh-events-secret-123' };

describe('webhook events', () => {
  let receiver: WebhookReceiver;
  /** Wants the removals but not the re-adds that cancel them. */
  let removalsOnly: WebhookReceiver;
  let h: TestHerald;

  before(async () => {
    receiver = await WebhookReceiver.start(APP);
    removalsOnly = await WebhookReceiver.start(APP);
    h = await startTestHerald({
      app: {
        ...APP,
        webhooks: [
          { url: receiver.url, events: [...WEBHOOK_EVENT_TYPES] },
          { url: removalsOnly.url, events: ['channel_vacated', 'member_removed'], channelPrefix: 'presence-flap' },
        ],
      },
      config: { ...FAST_RETRY, webhookVacateDelayMs: 1000 },
    });
  });

  after(async () => {
    await h.stop();
    await Promise.all([receiver.close(), removalsOnly.close()]);
  });

  it('reports presence, client, cache and subscription events with Pusher fields and valid signatures', async () => {
    const server = h.pusherServer();
    const client = authorizedClient(h, server, 'alice');
    const socketId = await connected(client);

    const presence = await subscribed(client, 'presence-room');
    await subscribed(client, 'private-chat');
    await subscribed(client, 'cache-prices');
    await receiver.waitUntil(
      () => receiver.deliveredMatching('member_added', 'presence-room').length === 1 && receiver.deliveredMatching('cache_miss', 'cache-prices').length === 1,
      WAIT_MS,
      'member_added and cache_miss',
    );

    presence.trigger('client-typing', { a: 1 });
    client.channel('private-chat')!.trigger('client-note', { b: 2 });
    await receiver.waitUntil(() => receiver.deliveredMatching('client_event').length === 2, WAIT_MS, 'two client_event webhooks');

    client.unsubscribe('presence-room');
    await receiver.waitUntil(() => receiver.deliveredMatching('channel_vacated', 'presence-room').length === 1, WAIT_MS, 'channel_vacated');

    // Every request passed the official SDK's validation, with the exact headers Pusher sends.
    assert.ok(receiver.requests.length > 0);
    assert.equal(receiver.invalidCount, 0);
    for (const request of receiver.requests) {
      assert.equal(request.headers['content-type'], 'application/json');
      assert.equal(request.headers['x-pusher-key'], APP.key);
      assert.match(String(request.headers['x-pusher-signature']), /^[0-9a-f]{64}$/);
      assert.equal(typeof request.timeMs, 'number');
    }

    const of = (channel: string) => receiver.delivered.filter((e) => e.channel === channel);
    assert.deepEqual(
      of('presence-room').filter((e) => e.name !== 'client_event'),
      [
        { name: 'channel_occupied', channel: 'presence-room' },
        { name: 'member_added', channel: 'presence-room', user_id: 'alice' },
        { name: 'member_removed', channel: 'presence-room', user_id: 'alice' },
        { name: 'channel_vacated', channel: 'presence-room' },
      ],
    );
    assert.deepEqual(receiver.deliveredMatching('client_event', 'presence-room'), [
      { name: 'client_event', channel: 'presence-room', event: 'client-typing', data: '{"a":1}', socket_id: socketId, user_id: 'alice' },
    ]);
    // user_id only on presence channels.
    assert.deepEqual(receiver.deliveredMatching('client_event', 'private-chat'), [
      { name: 'client_event', channel: 'private-chat', event: 'client-note', data: '{"b":2}', socket_id: socketId },
    ]);
    assert.deepEqual(of('private-chat').slice(0, 2), [
      { name: 'channel_occupied', channel: 'private-chat' },
      { name: 'subscription_count', channel: 'private-chat', subscription_count: 1 },
    ]);
    assert.deepEqual(receiver.deliveredMatching('cache_miss'), [{ name: 'cache_miss', channel: 'cache-prices' }]);
    // Presence channels never report subscription_count.
    assert.equal(receiver.deliveredMatching('subscription_count', 'presence-room').length, 0);
  });

  it('sends neither the removal nor the re-add when a user leaves and rejoins within the window', async () => {
    const client = authorizedClient(h, h.pusherServer(), 'carol');
    await connected(client);
    await subscribed(client, 'presence-flap');
    await receiver.waitUntil(() => receiver.deliveredMatching('member_added', 'presence-flap').length === 1, WAIT_MS, 'member_added');
    client.unsubscribe('presence-flap');
    await subscribed(client, 'presence-flap'); // back well within the 1 s window
    client.unsubscribe('presence-flap'); // and gone for good
    // Had the first vacancy been reported, it would have arrived before this later one.
    await receiver.waitUntil(() => receiver.deliveredMatching('channel_vacated', 'presence-flap').length === 1, WAIT_MS, 'final vacancy');
    assert.deepEqual(
      receiver.delivered.filter((e) => e.channel === 'presence-flap').map((e) => e.name),
      ['channel_occupied', 'member_added', 'member_removed', 'channel_vacated'],
    );
    assert.equal(receiver.invalidCount, 0);
    // An endpoint filtered to the removals is spared the cancelled pair too (it never gets the re-add).
    // A later vacancy marks the end: removals are sent in the order their hold ends.
    await subscribed(client, 'presence-flap-end');
    client.unsubscribe('presence-flap-end');
    await removalsOnly.waitUntil(() => removalsOnly.deliveredMatching('channel_vacated', 'presence-flap-end').length === 1, WAIT_MS, 'marker vacancy (removals only)');
    assert.deepEqual(
      removalsOnly.delivered.filter((e) => e.channel === 'presence-flap').map((e) => e.name),
      ['member_removed', 'channel_vacated'],
    );
  });

  it('reports one cache_miss when many clients hit the same empty cache channel', async () => {
    const clients = [h.pusherClient(), h.pusherClient(), h.pusherClient()];
    for (const c of clients) await subscribed(c, 'cache-busy');
    await receiver.waitUntil(() => receiver.deliveredMatching('subscription_count', 'cache-busy').some((e) => e.subscription_count === 3), WAIT_MS, 'subscription_count 3');
    assert.equal(receiver.deliveredMatching('cache_miss', 'cache-busy').length, 1);
    assert.deepEqual(
      receiver.deliveredMatching('subscription_count', 'cache-busy').map((e) => e.subscription_count),
      [1, 2, 3],
    );
  });
});
