/**
 * A 2-worker node (`herald start --workers 2`, as an operator runs it): stock pusher-js clients on
 * both workers behave as on one process — events with socket_id exclusion, client events, presence
 * counted once, member and occupied/vacated webhooks once, HTTP API channel queries, one /metrics —
 * and a SIGKILLed worker is replaced with its clients' presence removed; SIGTERM drains every worker.
 *
 * node:cluster hands accepted connections to the workers in turn, so clients connected one after
 * another alternate between the two; killing one worker shows which clients were on it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Pusher from 'pusher';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { PusherJs, type PusherJsOptions } from '../helpers/pusher-js.js';
import { RawClient } from '../helpers/raw-client.js';
import { withTimeout } from '../helpers/wait.js';
import { CHILD_APP, startChildHerald, type ChildHerald } from '../ops/child-herald.js';
import { collect, subscribed, until } from '../scaling/support.js';

interface Hook {
  name: string;
  channel: string;
  user_id?: string;
}

async function webhookReceiver(): Promise<{ url: string; events: Hook[]; close(): Promise<void> }> {
  const events: Hook[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      try {
        events.push(...((JSON.parse(body) as { events?: Hook[] }).events ?? []));
      } catch {
        /* not a webhook */
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, events, close: () => new Promise((r) => server.close(() => r())) };
}

const ADMIN_TOKEN = 'workers-admin-token-0123456789';
let node: ChildHerald;
let hooks: Awaited<ReturnType<typeof webhookReceiver>>;
let sdk: Pusher;
let workerPids: number[];
const clients: PusherJs[] = [];
const hookCount = (name: string, channel: string, userId?: string) =>
  hooks.events.filter((e) => e.name === name && e.channel === channel && (userId === undefined || e.user_id === userId)).length;

/** A pusher-js client signed as `userId` for presence; it stays down once its connection drops. */
async function client(userId: string): Promise<PusherJs> {
  const c = new PusherJs(CHILD_APP.key, {
    cluster: 'local',
    wsHost: '127.0.0.1',
    wsPort: node.port,
    forceTLS: false,
    enabledTransports: ['ws'],
    channelAuthorization: {
      customHandler: (p: { socketId: string; channelName: string }, cb: (e: Error | null, a: unknown) => void) =>
        cb(null, sdk.authorizeChannel(p.socketId, p.channelName, p.channelName.startsWith('presence-') ? { user_id: userId, user_info: { name: userId } } : undefined)),
    },
  } as unknown as PusherJsOptions);
  clients.push(c);
  await withTimeout(new Promise<void>((resolve) => c.connection.bind('connected', () => resolve())), 10_000, 'pusher-js to connect');
  c.connection.bind('state_change', ({ current }: { current: string }) => {
    // Deferred: pusher-js starts its reconnection after notifying listeners.
    if (current !== 'connected' && current !== 'disconnected') setImmediate(() => c.disconnect());
  });
  return c;
}

before(async () => {
  hooks = await webhookReceiver();
  sdk = new Pusher({ appId: CHILD_APP.id, key: CHILD_APP.key, secret: CHILD_APP.secret, host: '127.0.0.1', port: '0', useTLS: false });
  node = await startChildHerald(['--workers', '2'], {
    HERALD_APP_WEBHOOK_URL: hooks.url,
    HERALD_WEBHOOK_VACATE_DELAY_MS: '0',
    HERALD_WEBHOOK_BATCH_WINDOW_MS: '0',
    HERALD_ADMIN_TOKEN: ADMIN_TOKEN,
  });
  sdk = new Pusher({ appId: CHILD_APP.id, key: CHILD_APP.key, secret: CHILD_APP.secret, host: '127.0.0.1', port: String(node.port), useTLS: false });
  const banner = await node.waitForLine(/2 workers \(pids/);
  workerPids = /pids ([\d, ]+)\)/.exec(banner)![1]!.split(', ').map(Number);
  // Connected one after another: clients 0 and 2 share a worker, 1 and 3 the other.
  for (const user of ['u1', 'u1', 'u2', 'u3']) await client(user);
});

after(async () => {
  for (const c of clients) c.disconnect();
  await node?.cleanup();
  await hooks?.close();
});

test('events reach clients on both workers once, minus the excluded socket', async () => {
  const channels = await Promise.all(clients.map((c) => subscribed(c, 'news')));
  const got = channels.map((ch) => collect<{ n: number }>(ch, 'e'));
  await sdk.trigger('news', 'e', { n: 1 }, { socket_id: clients[1]!.connection.socket_id });
  await sdk.trigger('news', 'e', { n: 2 });
  await until(() => got.every((g, i) => g.length === (i === 1 ? 1 : 2)), 10_000, 'deliveries');
  assert.deepEqual(got, [[{ n: 1 }, { n: 2 }], [{ n: 2 }], [{ n: 1 }, { n: 2 }], [{ n: 1 }, { n: 2 }]]);
  const info = (await (await sdk.get({ path: '/channels/news', params: { info: 'subscription_count' } })).json()) as { occupied: boolean; subscription_count: number };
  assert.deepEqual(info, { occupied: true, subscription_count: 4 });
});

test('client events cross workers and skip their sender', async () => {
  const [a, b, c] = await Promise.all(clients.slice(0, 3).map((cl) => subscribed(cl, 'private-chat')));
  const gotB = collect<{ text: string }>(b!, 'client-say');
  const gotC = collect<{ text: string }>(c!, 'client-say');
  const gotA = collect<{ text: string }>(a!, 'client-say');
  a!.trigger('client-say', { text: 'hi' });
  await until(() => gotB.length === 1 && gotC.length === 1, 10_000, 'client event on both workers');
  assert.deepEqual(gotA, []);
});

test('a GraphQL subscriber on either worker sees the connections of both, once each', async () => {
  const gql = createClient({
    url: `ws://127.0.0.1:${node.port}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Basic ${Buffer.from(`${CHILD_APP.key}:${CHILD_APP.secret}`).toString('base64')}` },
    retryAttempts: 0,
  });
  const seen: string[] = [];
  const iterator = gql.iterate<{ connectionStateChanged: { state: string; connection: { socketId: string } | null } }>({
    query: 'subscription { connectionStateChanged { state connection { socketId } } }',
  });
  const reading = (async () => {
    for await (const result of iterator) if (result.data?.connectionStateChanged.state === 'CONNECTED') seen.push(result.data.connectionStateChanged.connection!.socketId);
  })();
  const raws: RawClient[] = [];
  try {
    // Connections alternate between the workers. The relay is in place once two consecutive
    // connections are both reported (the subscription's start is not observable from here).
    const open = async () => {
      const raw = await RawClient.established(`ws://127.0.0.1:${node.port}`, CHILD_APP.key);
      raws.push(raw);
      return raw.socketId!;
    };
    let previous = await open();
    let both = false;
    for (let attempt = 0; attempt < 40 && !both; attempt++) {
      const current = await open();
      both = await until(() => seen.includes(current), 2000, 'the connection to be reported').then(
        () => seen.includes(previous),
        () => false,
      );
      previous = current;
    }
    assert.ok(both, 'two consecutive connections (one on each worker) reported');
    // From now on every connection is reported, once.
    const next = [await open(), await open()];
    await until(() => next.every((id) => seen.includes(id)), 10_000, 'both connections reported');
    assert.deepEqual(seen.slice(-2).sort(), [...next].sort());
    assert.equal(new Set(seen).size, seen.length, 'no connection reported twice');
  } finally {
    for (const raw of raws) raw.close();
    await iterator.return?.();
    await gql.dispose();
    await reading.catch(() => undefined);
  }
});

test('presence: a user on both workers counts once; member_added and the webhooks once', async () => {
  const rooms = [];
  for (const c of clients) rooms.push(await subscribed(c, 'presence-room'));
  const added = collect<{ id: string }>(rooms[3]!, 'pusher:member_added');
  const room = rooms[3] as unknown as { members: { count: number } };
  assert.equal(room.members.count, 3, 'u1 (on both workers), u2, u3');
  const users = (await (await sdk.get({ path: '/channels/presence-room/users' })).json()) as { users: Array<{ id: string }> };
  assert.deepEqual(users.users.map((u) => u.id).sort(), ['u1', 'u2', 'u3']);
  const list = (await (await sdk.get({ path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count' } })).json()) as { channels: Record<string, { user_count: number }> };
  assert.deepEqual(list.channels, { 'presence-room': { user_count: 3 } });
  await until(() => hookCount('member_added', 'presence-room', 'u3') === 1 && hookCount('channel_occupied', 'presence-room') === 1, 15_000, 'webhooks');
  assert.equal(hookCount('member_added', 'presence-room', 'u1'), 1, 'u1 joined from two workers: one member_added webhook');
  assert.equal(hookCount('channel_occupied', 'news'), 1);
  assert.deepEqual(added, [], 'no member_added for users already present');
});

test('one /metrics answer sums every worker', async () => {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const connections = /^herald_connections\{[^}]*\} (\d+)/m.exec(text);
  assert.equal(Number(connections?.[1]), 4, 'the four clients, two on each worker');
  assert.equal(text.match(/^# TYPE herald_connections gauge$/gm)?.length, 1, 'one series set, not one per worker');
});

test('an app created through one worker is served by both at once; its connection limit holds for the node', async () => {
  const res = await fetch(`${node.url}/admin/apps`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Limited', id: 'limited-app', limits: { maxConnections: 2 } }),
  });
  assert.equal(res.status, 201);
  const app = (await res.json()) as { key: string };
  const url = `ws://127.0.0.1:${node.port}/app/${app.key}?protocol=7&client=js&version=8.6.0`;
  // One after another: the first lands on one worker, the second on the other.
  const first = await RawClient.connect(url);
  await first.waitFor((f) => f.event === 'pusher:connection_established');
  const second = await RawClient.connect(url);
  await second.waitFor((f) => f.event === 'pusher:connection_established');
  // A third is over the node's limit of 2 on whichever worker it lands (each holds one).
  // Each worker learns the other's count one IPC hop after a change: retry until it has.
  let refused: { code: number; reason: string } | undefined;
  for (let attempt = 0; attempt < 20 && !refused; attempt++) {
    const third = await RawClient.connect(url);
    const outcome = await Promise.race([third.closed, third.waitFor((f) => f.event === 'pusher:connection_established').then(() => undefined)]);
    if (outcome) refused = outcome;
    else {
      third.close();
      await third.closed;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  assert.deepEqual(refused, { code: 4004, reason: 'Application is over connection quota' });
  // The stats any worker answers are the node's: both connections, one on each worker.
  const stats = (await (await fetch(`${node.url}/admin/apps/limited-app/stats`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as {
    connections: { current: number };
  };
  assert.equal(stats.connections.current, 2);
  first.close();
  second.close();
});

test('a killed worker is replaced; its clients leave presence once, as when a node dies', async () => {
  const watchers = clients.map((c) => collect<{ id: string }>(c.channel('presence-room')!, 'pusher:member_removed'));
  const victim = workerPids[0]!;
  process.kill(victim, 'SIGKILL');
  await until(() => clients.some((c) => c.connection.state !== 'connected'), 10_000, 'the killed worker’s clients to drop');
  await new Promise((r) => setTimeout(r, 200)); // its second client drops in the same instant
  const dropped = clients.map((c, i) => (c.connection.state === 'connected' ? -1 : i)).filter((i) => i >= 0);
  assert.ok(JSON.stringify(dropped) === '[0,2]' || JSON.stringify(dropped) === '[1,3]', `one worker's clients dropped: ${dropped}`);
  const gone = dropped[0] === 0 ? 'u2' : 'u3';
  const survivors = dropped[0] === 0 ? [1, 3] : [0, 2];
  await until(() => survivors.every((i) => watchers[i]!.length >= 1), 10_000, 'member_removed on the surviving worker');
  await until(() => hookCount('member_removed', 'presence-room', gone) === 1, 15_000, 'member_removed webhook');
  for (const i of survivors) assert.deepEqual(watchers[i]!.map((m) => m.id), [gone], 'u1 stays (still on the other worker)');
  const users = (await (await sdk.get({ path: '/channels/presence-room/users' })).json()) as { users: Array<{ id: string }> };
  assert.deepEqual(users.users.map((u) => u.id).sort(), ['u1', dropped[0] === 0 ? 'u3' : 'u2']);
  await node.waitForLine(/worker died; removing its clients/);
  // The replacement serves: new clients (on either worker) and survivors all get an event.
  const fresh = [await client('u9'), await client('u9')];
  const got = (await Promise.all([...survivors.map((i) => clients[i]!), ...fresh].map((c) => subscribed(c, 'after')))).map((ch) => collect(ch, 'e'));
  await sdk.trigger('after', 'e', {});
  await until(() => got.every((g) => g.length === 1), 10_000, 'delivery after the replacement');
  assert.equal(hookCount('member_removed', 'presence-room', 'u1'), 0);
});

test('SIGTERM drains every worker and the node exits 0', async () => {
  const closes = clients.filter((c) => c.connection.state === 'connected').map((c) => new Promise<void>((resolve) => c.connection.bind('state_change', () => resolve())));
  node.process.kill('SIGTERM');
  assert.equal(await withTimeout(node.exited, 30_000, 'the node to exit'), 0);
  await withTimeout(Promise.all(closes), 10_000, 'every client to be closed');
});
