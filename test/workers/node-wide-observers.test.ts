/**
 * What a 2-worker node observes once for the whole node: a GraphQL subscriber on worker 0 sees
 * what clients on worker 1 do (observer events relayed through the hub), each event once; and
 * a cache channel missed on both workers makes one cache_miss webhook for the node.
 *
 * Clients connect to a chosen worker's own port (not the round-robin proxy), so which worker
 * serves whom is certain.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type Pusher from 'pusher';
import { WEBHOOK_EVENT_TYPES } from '../../src/apps/app.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import type { PusherJs } from '../helpers/pusher-js.js';
import { eventually, nextEvent } from '../helpers/wait.js';
import { ADMIN_TOKEN, connected, subscribe, wsClient } from '../graphql/support.js';
import { WebhookReceiver } from '../webhooks/receiver.js';
import { WAIT_MS } from '../webhooks/support.js';

process.env.HERALD_TEST_WORKERS = '2';

async function subscribed(client: PusherJs, name: string) {
  const channel = client.subscribe(name);
  await nextEvent(channel, 'pusher:subscription_succeeded', 10_000);
  return channel;
}

/** pusher-js on worker `index`, authorized by the stock SDK as `userId` on presence channels. */
function clientOn(h: TestHerald, sdk: Pusher, index: number, userId = 'anon'): PusherJs {
  return h.pusherClient({
    wsPort: h.heralds[index]!.port,
    channelAuthorization: {
      customHandler: (p: { socketId: string; channelName: string }, cb: (err: Error | null, data: unknown) => void) =>
        cb(null, sdk.authorizeChannel(p.socketId, p.channelName, p.channelName.startsWith('presence-') ? { user_id: userId, user_info: { name: userId } } : undefined)),
    },
  });
}

describe('GraphQL subscriptions on a 2-worker node', () => {
  let h: TestHerald;
  let onWorker0: TestHerald;
  let sdk: Pusher;

  before(async () => {
    h = await startTestHerald({ config: { adminToken: ADMIN_TOKEN, webhookVacateDelayMs: 0 } });
    assert.equal(h.heralds.length, 2);
    onWorker0 = { ...h, wsUrl: `ws://127.0.0.1:${h.heralds[0]!.port}` };
    sdk = h.pusherServer({ port: String(h.heralds[1]!.port) });
  });
  after(() => h.stop());

  it('a subscriber on worker 0 sees connections, members, events and webhooks of worker 1, each once', async () => {
    const gql = wsClient(onWorker0);
    try {
      const connections = await subscribe(onWorker0, gql, `subscription { connectionStateChanged { state connection { socketId } } }`);
      const members = await subscribe(onWorker0, gql, `subscription { presenceMemberEvents(channel: "presence-relay") { type member { id } } }`);
      const events = await subscribe(onWorker0, gql, `subscription { channelEvents(channel: "private-relay") { name source } }`);
      const hooks = await subscribe(onWorker0, gql, `subscription { webhookEvents(channelPrefix: "presence-relay") { events { name channel } } }`);

      const bob = clientOn(h, sdk, 1, 'bob');
      const bobSocket = await connected(bob);
      const opened = (await connections.next()).data.connectionStateChanged;
      assert.deepEqual(opened, { state: 'CONNECTED', connection: { socketId: bobSocket } });

      await subscribed(bob, 'presence-relay');
      assert.deepEqual((await members.next()).data.presenceMemberEvents, { type: 'MEMBER_ADDED', member: { id: 'bob' } });
      const occupiedThenAdded = [(await hooks.next()).data.webhookEvents.events[0].name, (await hooks.next()).data.webhookEvents.events[0].name];
      assert.deepEqual(occupiedThenAdded.sort(), ['CHANNEL_OCCUPIED', 'MEMBER_ADDED']);

      // Subscribers on both workers: worker 0 receives the event from the hub as well, and must
      // not report it a second time.
      const alice = clientOn(h, sdk, 0, 'alice');
      await subscribed(alice, 'private-relay');
      const bobChat = await subscribed(bob, 'private-relay');
      await connections.next(); // alice's own connection, on worker 0
      // Each next event is the one just sent, never a second report of the one before.
      const next = async () => (await events.next()).data.channelEvents;
      await sdk.trigger('private-relay', 'first', {});
      assert.deepEqual(await next(), { name: 'first', source: 'api' });
      assert.ok(bobChat.trigger('client-second', {}));
      assert.deepEqual(await next(), { name: 'client-second', source: 'client' });
      await sdk.trigger('private-relay', 'third', {});
      assert.deepEqual(await next(), { name: 'third', source: 'api' });

      bob.disconnect();
      assert.deepEqual((await members.next()).data.presenceMemberEvents, { type: 'MEMBER_REMOVED', member: { id: 'bob' } });
      assert.equal((await connections.next()).data.connectionStateChanged.state, 'DISCONNECTED');
      await connections.stop();
      await members.stop();
      await events.stop();
      await hooks.stop();
    } finally {
      await gql.dispose();
    }
  });
});

describe('cache_miss on a 2-worker node', () => {
  const APP = { id: 'workers-cache', key: 'workers-cache-key', secret: 'workers-cache-secret-1' };
  let receiver: WebhookReceiver;
  let h: TestHerald;

  before(async () => {
    receiver = await WebhookReceiver.start(APP);
    h = await startTestHerald({ app: { ...APP, webhooks: [{ url: receiver.url, events: [...WEBHOOK_EVENT_TYPES] }] }, config: { adminToken: ADMIN_TOKEN } });
  });
  after(async () => {
    await h.stop();
    await receiver.close();
  });

  it('clients on both workers missing the same cache channel make one cache_miss for the node', async () => {
    const sdk = h.pusherServer();
    await subscribed(clientOn(h, sdk, 0), 'cache-relay');
    await subscribed(clientOn(h, sdk, 1), 'cache-relay');
    await subscribed(clientOn(h, sdk, 1), 'cache-relay');
    await receiver.waitUntil(() => receiver.deliveredMatching('subscription_count', 'cache-relay').some((e) => e.subscription_count === 3), WAIT_MS, 'subscription_count 3');
    assert.equal(receiver.deliveredMatching('cache_miss', 'cache-relay').length, 1);
  });

  it('the webhook delivery log is the node\'s, whichever worker is asked', async () => {
    const log = async (index: number) => {
      const res = await fetch(`http://127.0.0.1:${h.heralds[index]!.port}/admin/apps/${APP.id}/webhooks/log`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
      assert.equal(res.status, 200);
      return ((await res.json()) as { deliveries: Array<{ id: number }> }).deliveries.map((d) => d.id);
    };
    // The log lives in the node's one store (the supervisor's), not in a worker.
    const ids = await eventually(async () => {
      const [first, second] = [await log(0), await log(1)];
      return first.length > 0 && JSON.stringify(first) === JSON.stringify(second) ? first : undefined;
    }, WAIT_MS, 'both workers to list the same deliveries');
    assert.ok(ids && ids.length > 0);
  });
});
