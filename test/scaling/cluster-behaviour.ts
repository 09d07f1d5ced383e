/**
 * What a 3-node cluster must do, run against each backend (redis.test.ts, nats.test.ts):
 * stock pusher-js clients spread over the nodes, publishes (stock `pusher` SDK) through random
 * nodes, every delivery checked; presence, counts, channel lists, cache channels, client
 * events, send-to-user, terminate and watchlists across nodes; observers fire once cluster-wide.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { App } from '../../src/apps/app.js';
import type { EngineObserver } from '../../src/channels/observer.js';
import { nextEvent, withTimeout } from '../helpers/wait.js';
import { collect, connected, serviceUp, skipMessage, startCluster, subscribed, until, type BrokerKind, type TestCluster } from './support.js';

type Observed = Array<{ event: string; node: number; args: unknown[] }>;

/** Records chosen observer events of every node, to check "exactly once cluster-wide". */
function observeAll(cluster: TestCluster): Observed {
  const seen: Observed = [];
  const events = ['channelOccupied', 'channelVacated', 'memberAdded', 'memberRemoved', 'clientEvent', 'subscriptionCount'] as const;
  cluster.nodes.forEach((node, index) => {
    const observer: EngineObserver = {};
    for (const event of events) {
      (observer as Record<string, unknown>)[event] = (_app: App, ...args: unknown[]) => seen.push({ event, node: index, args });
    }
    node.herald.engine.observe(observer);
  });
  return seen;
}

const count = (seen: Observed, event: string, channel: string) => seen.filter((s) => s.event === event && s.args[0] === channel).length;

export interface BehaviourOptions {
  /** Test name prefix (default: the broker kind). */
  label?: string;
  /** Provides the backend (e.g. starts a Redis Cluster); returns undefined with a reason to skip. */
  backend?: () => Promise<{ redisUrl: string; stop(): Promise<void> } | string>;
}

export function clusterBehaviour(kind: BrokerKind, options: BehaviourOptions = {}): void {
  let cluster: TestCluster;
  let seen: Observed;
  let skipReason: string | undefined;
  let backend: { redisUrl: string; stop(): Promise<void> } | undefined;
  const label = options.label ?? kind;

  before(async () => {
    if (!(await serviceUp(kind))) {
      skipReason = skipMessage(kind);
      return;
    }
    if (options.backend) {
      const provided = await options.backend();
      if (typeof provided === 'string') {
        skipReason = provided;
        return;
      }
      backend = provided;
    }
    cluster = await startCluster(kind, {
      app: { subscriptionCountEvents: true, limits: { maxPresenceMembers: 3 } } as never,
      redisUrl: backend?.redisUrl,
    });
    seen = observeAll(cluster);
  });
  after(async () => {
    if (!skipReason) await cluster.stop();
    await backend?.stop();
  });

  const run = (name: string, body: () => Promise<void>) =>
    test(`${label}: ${name}`, async (t) => {
      if (skipReason) return t.skip(skipReason);
      await body();
    });

  run('publishes through random nodes reach every subscriber on every node exactly once', async () => {
    const clients = Array.from({ length: 9 }, (_, i) => cluster.client(i));
    const channels = await Promise.all(clients.map((c, i) => subscribed(c, i % 2 === 0 ? 'fanout-even' : 'fanout-odd')));
    const received = channels.map((ch) => collect<{ n: number }>(ch, 'tick'));
    const total = 60;
    for (let n = 0; n < total; n++) {
      // Some events go to one channel, some to both in one request.
      const targets = n % 3 === 0 ? ['fanout-even', 'fanout-odd'] : [n % 2 === 0 ? 'fanout-even' : 'fanout-odd'];
      await cluster.server().trigger(targets, 'tick', { n });
    }
    const expected = (i: number) =>
      Array.from({ length: total }, (_, n) => n).filter((n) => n % 3 === 0 || (n % 2 === 0) === (i % 2 === 0));
    await until(() => received.every((got, i) => got.length >= expected(i).length), 10_000, 'every delivery');
    // Let any duplicate arrive before checking there is none.
    await cluster.server(0).trigger(['fanout-even', 'fanout-odd'], 'tick', { n: -1 });
    await until(() => received.every((got) => got.some((e) => e.n === -1)), 10_000, 'the closing event');
    received.forEach((got, i) => {
      const numbers = got.map((e) => e.n).filter((n) => n >= 0).sort((a, b) => a - b);
      assert.deepEqual(numbers, expected(i), `client ${i} (node ${i % 3}) got each of its events exactly once`);
    });
    for (const c of clients) c.disconnect();
  });

  run('socket_id exclusion works across nodes', async () => {
    const sender = cluster.client(0);
    const others = [cluster.client(1), cluster.client(2)];
    const senderChannel = await subscribed(sender, 'exclusion');
    const otherChannels = await Promise.all(others.map((c) => subscribed(c, 'exclusion')));
    const senderGot = collect<{ n: number }>(senderChannel, 'e');
    const othersGot = otherChannels.map((ch) => collect<{ n: number }>(ch, 'e'));
    const sdk = cluster.server(2);
    await sdk.trigger('exclusion', 'e', { n: 1 }, { socket_id: sender.connection.socket_id });
    await sdk.trigger('exclusion', 'e', { n: 2 });
    await until(() => senderGot.length === 1 && othersGot.every((g) => g.length === 2), 10_000, 'deliveries');
    assert.deepEqual(senderGot, [{ n: 2 }], 'the excluded socket (on another node) got only the second event');
    for (const c of [sender, ...others]) c.disconnect();
  });

  run('presence: a user on two nodes counts once; member_added/removed once, observers once cluster-wide', async () => {
    const channelName = 'presence-room';
    const u1a = cluster.client(0, { member: { user_id: 'u1', user_info: { name: 'One' } } });
    const u1b = cluster.client(1, { member: { user_id: 'u1', user_info: { name: 'One' } } });
    const u2 = cluster.client(2, { member: { user_id: 'u2', user_info: { name: 'Two' } } });
    const c1a = await subscribed(u1a, channelName);
    const c1b = await subscribed(u1b, channelName);
    assert.equal((c1b as unknown as { members: { count: number } }).members.count, 1, 'u1 on a second node is the same member');
    const addedToU1 = collect<{ id: string }>(c1a, 'pusher:member_added');
    const c2 = await subscribed(u2, channelName);
    const roster = (c2 as unknown as { members: { count: number; members: Record<string, unknown> } }).members;
    assert.equal(roster.count, 2);
    assert.deepEqual(roster.members, { u1: { name: 'One' }, u2: { name: 'Two' } });
    await until(() => addedToU1.length === 1, 10_000, 'member_added on node 0');
    for (const node of [0, 1, 2]) {
      const info = await (await cluster.server(node).get({ path: `/channels/${channelName}`, params: { info: 'user_count,subscription_count' } })).json();
      assert.deepEqual(info, { occupied: true, user_count: 2, subscription_count: 3 }, `node ${node} reports cluster-wide counts`);
      const users = await (await cluster.server(node).get({ path: `/channels/${channelName}/users`, params: {} })).json();
      assert.deepEqual(users.users.map((u: { id: string }) => u.id).sort(), ['u1', 'u2']);
    }
    const removedAtU2 = collect<{ id: string }>(c2, 'pusher:member_removed');
    u1a.disconnect();
    await until(async () => (await (await cluster.server(2).get({ path: `/channels/${channelName}`, params: { info: 'subscription_count' } })).json()).subscription_count === 2, 10_000, 'the first u1 socket to leave');
    assert.equal(removedAtU2.length, 0, 'u1 is still there through node 1');
    u1b.disconnect();
    await until(() => removedAtU2.length === 1, 10_000, 'member_removed for u1');
    assert.equal(removedAtU2[0]!.id, 'u1');
    assert.equal(count(seen, 'memberAdded', channelName), 2, 'memberAdded observed once per user, on one node');
    assert.equal(count(seen, 'memberRemoved', channelName), 1);
    assert.equal(count(seen, 'channelOccupied', channelName), 1, 'channelOccupied once cluster-wide');
    u2.disconnect();
    await until(() => count(seen, 'channelVacated', channelName) === 1, 10_000, 'channelVacated');
    await until(async () => (await (await cluster.server(1).get({ path: `/channels/${channelName}`, params: {} })).json()).occupied === false, 10_000, 'vacated');
  });

  run('a member who leaves and comes straight back ends up present on every node', async () => {
    const channelName = 'presence-flicker';
    const watcher = cluster.client(1, { member: { user_id: 'watcher' } });
    const watching = await subscribed(watcher, channelName);
    const flicker = cluster.client(0, { member: { user_id: 'flicker' } });
    await subscribed(flicker, channelName);
    const roster = () => Object.keys((watching as unknown as { members: { members: Record<string, unknown> } }).members.members).sort();
    await until(() => roster().includes('flicker'), 10_000, 'flicker to join');
    for (let i = 0; i < 5; i++) {
      flicker.unsubscribe(channelName);
      flicker.subscribe(channelName);
    }
    await nextEvent(flicker.channel(channelName), 'pusher:subscription_succeeded', 10_000);
    const users = async (node: number) =>
      ((await (await cluster.server(node).get({ path: `/channels/${channelName}/users`, params: {} })).json()).users as Array<{ id: string }>).map((u) => u.id).sort();
    await until(async () => (await users(2)).length === 2, 10_000, 'the cluster state to settle');
    // One more change after the flicker, so every earlier broadcast has reached the watcher.
    const third = cluster.client(2, { member: { user_id: 'third' } });
    await subscribed(third, channelName);
    await until(() => roster().includes('third'), 10_000, 'the later member_added');
    assert.deepEqual(roster(), ['flicker', 'third', 'watcher']);
    assert.deepEqual(await users(0), ['flicker', 'third', 'watcher']);
    for (const c of [watcher, flicker, third]) c.disconnect();
  });

  run('presence member limit is cluster-wide', async () => {
    const channelName = 'presence-small';
    const members = [0, 1, 2].map((i) => cluster.client(i, { member: { user_id: `m${i}` } }));
    for (const c of members) await subscribed(c, channelName);
    const fourth = cluster.client(0, { member: { user_id: 'm3' } });
    const error = nextEvent<{ status: number }>(fourth.subscribe(channelName), 'pusher:subscription_error');
    assert.equal((await error).status, 403);
    for (const c of [...members, fourth]) c.disconnect();
  });

  run('client events reach the other nodes (with user_id on presence), not the sender', async () => {
    const channelName = 'presence-chat';
    const [a, b, c] = [0, 1, 2].map((i) => cluster.client(i, { member: { user_id: `chat${i}` } }));
    const [ca, cb, cc] = await Promise.all([a!, b!, c!].map((client) => subscribed(client, channelName)));
    const atA = collect(ca!, 'client-typing');
    const gotB = new Promise<{ data: unknown; meta: unknown }>((resolve) => cb!.bind('client-typing', (data: unknown, meta: unknown) => resolve({ data, meta })));
    const gotC = nextEvent(cc!, 'client-typing');
    ca!.trigger('client-typing', { who: 'chat0' });
    const atB = await withTimeout(gotB, 10_000, 'client event on node 1');
    assert.deepEqual(atB.data, { who: 'chat0' });
    assert.equal((atB.meta as { user_id?: string }).user_id, 'chat0');
    assert.deepEqual(await gotC, { who: 'chat0' });
    assert.equal(atA.length, 0);
    assert.equal(count(seen, 'clientEvent', channelName), 1, 'the clientEvent observer (webhook) fires once, on the sender node');
    for (const x of [a, b, c]) x!.disconnect();
  });

  run('send-to-user and terminate connections reach the user on every node', async () => {
    const identity = { user: { id: 'roamer' } };
    const sockets = [cluster.client(0, identity), cluster.client(1, identity)];
    for (const s of sockets) {
      await connected(s);
      s.signin();
      await withTimeout(s.user.signinDonePromise!, 10_000, 'sign-in');
    }
    // pusher-js subscribes to #server-to-user-roamer after sign-in; wait until both nodes listen.
    await until(async () => (await cluster.nodes[2]!.herald.engine.queries.subscriptionCount(cluster.app.id, '#server-to-user-roamer')) === 2, 10_000, 'both user channels');
    const got = sockets.map((s) => new Promise((resolve) => s.user.bind('notice', resolve)));
    await cluster.server(2).sendToUser('roamer', 'notice', { hi: 1 });
    assert.deepEqual(await withTimeout(Promise.all(got), 10_000, 'send-to-user on both nodes'), [{ hi: 1 }, { hi: 1 }]);
    // Closed by the server with 4009: pusher-js does not reconnect (its connection ends 'disconnected').
    const closed = sockets.map((s) => withTimeout(new Promise((resolve) => s.connection.bind('disconnected', resolve)), 10_000, 'terminate on both nodes'));
    await cluster.server(2).terminateUserConnections('roamer');
    await Promise.all(closed);
  });

  run('watchlist online/offline across nodes', async () => {
    const watcher = cluster.client(0, { user: { id: 'watcher', watchlist: ['watched'] } });
    const events: Array<{ name: string; user_ids: string[] }> = [];
    watcher.user.watchlist.bind('online', (e: { user_ids: string[] }) => events.push({ name: 'online', user_ids: e.user_ids }));
    watcher.user.watchlist.bind('offline', (e: { user_ids: string[] }) => events.push({ name: 'offline', user_ids: e.user_ids }));
    watcher.signin();
    await until(() => events.some((e) => e.name === 'offline'), 10_000, 'the initial watchlist snapshot');
    const watched = cluster.client(1, { user: { id: 'watched' } });
    watched.signin();
    await until(() => events.some((e) => e.name === 'online' && e.user_ids.includes('watched')), 10_000, 'online from node 1');
    watched.disconnect();
    await until(() => events.filter((e) => e.name === 'offline').length === 2, 10_000, 'offline from node 1');
    watcher.disconnect();
  });

  run('channel lists and counts are cluster-wide; occupied/vacated once', async () => {
    const clients = [0, 1, 2, 0].map((i) => cluster.client(i));
    await Promise.all(clients.map((c) => subscribed(c, 'list-a')));
    await subscribed(clients[1]!, 'list-b');
    for (const node of [0, 1, 2]) {
      const body = await (await cluster.server(node).get({ path: '/channels', params: { filter_by_prefix: 'list-', info: 'subscription_count' } })).json();
      assert.deepEqual(body, { channels: { 'list-a': { subscription_count: 4 }, 'list-b': { subscription_count: 1 } } });
    }
    const triggered = await (await cluster.server(1).trigger('list-a', 'x', 1, { info: 'subscription_count' })).json();
    assert.deepEqual(triggered, { channels: { 'list-a': { subscription_count: 4 } } });
    assert.equal(count(seen, 'channelOccupied', 'list-a'), 1);
    for (const c of clients) c.disconnect();
    await until(() => count(seen, 'channelVacated', 'list-a') === 1 && count(seen, 'channelVacated', 'list-b') === 1, 10_000, 'vacated once');
    const body = await (await cluster.server(2).get({ path: '/channels', params: { filter_by_prefix: 'list-' } })).json();
    assert.deepEqual(body, { channels: {} });
  });

  run('subscription_count events carry the cluster-wide count to every node', async () => {
    const clients = [0, 1, 2].map((i) => cluster.client(i));
    const first = await subscribed(clients[0]!, 'counted');
    const counts = collect<{ subscription_count: number }>(first, 'pusher:subscription_count');
    await subscribed(clients[1]!, 'counted');
    const third = await subscribed(clients[2]!, 'counted');
    await until(() => counts.some((c) => c.subscription_count === 3), 10_000, 'count 3 on node 0');
    const atThird = collect<{ subscription_count: number }>(third, 'pusher:subscription_count');
    clients[1]!.disconnect();
    await until(() => atThird.some((c) => c.subscription_count === 2), 10_000, 'count 2 on node 2');
    for (const c of clients) c.disconnect();
  });

  run('cache channels: the last event is kept cluster-wide', async () => {
    await cluster.server(0).trigger('cache-weather', 'forecast', { sky: 'clear' });
    const client = cluster.client(2);
    const channel = client.subscribe('cache-weather');
    assert.deepEqual(await nextEvent(channel, 'forecast', 10_000), { sky: 'clear' });
    const info = await (await cluster.server(1).get({ path: '/channels/cache-weather', params: { info: 'cache' } })).json();
    assert.equal(info.cache.event, 'forecast');
    assert.equal(info.cache.data, JSON.stringify({ sky: 'clear' }));
    const miss = cluster.client(1).subscribe('cache-empty');
    await nextEvent(miss, 'pusher:cache_miss', 10_000);
    client.disconnect();
  });

  run('a clean shutdown removes the node\'s members at once', async () => {
    const extra = await startCluster(kind, { nodes: 2, redisUrl: backend?.redisUrl });
    try {
      const stay = extra.client(0, { member: { user_id: 'stay' } });
      const go = extra.client(1, { member: { user_id: 'go' } });
      const channel = await subscribed(stay, 'presence-shutdown');
      await subscribed(go, 'presence-shutdown');
      const removed = nextEvent<{ id: string }>(channel, 'pusher:member_removed', 10_000);
      await extra.nodes[1]!.stop();
      assert.equal((await removed).id, 'go');
      stay.disconnect();
    } finally {
      await extra.stop();
    }
  });
}
