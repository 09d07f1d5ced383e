/**
 * A node killed with SIGKILL mid-traffic (three `node bin/herald.js start` processes on one
 * Redis / NATS): survivors lose no acknowledged publish, presence converges (the dead node's
 * members leave within the node timeout, member_removed exactly once, a user still connected
 * elsewhere stays), and the member_removed webhook is sent exactly once cluster-wide.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Pusher from 'pusher';
import { PusherJs } from '../helpers/pusher-js.js';
import { startChildNode, type ChildNode } from './child-node.js';
import { cleanupNamespace, collect, portOpen, serviceUp, skipMessage, subscribed, uniqueId, until, type BrokerKind } from './support.js';

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** Collects webhook events (the webhooks module's requests) from every node. */
async function webhookReceiver(): Promise<{ url: string; events: Array<{ name: string; channel: string; user_id?: string }>; close(): Promise<void> }> {
  const events: Array<{ name: string; channel: string; user_id?: string }> = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      try {
        events.push(...((JSON.parse(body) as { events?: typeof events }).events ?? []));
      } catch {
        /* not a webhook */
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return { url, events, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/**
 * With PostgreSQL available the nodes share it and the webhooks module is on (member_removed
 * webhooks are counted). Without it, webhooks stay off: the embedded store would make three
 * nodes start slowly on a small machine, and the observer-level "once" is covered elsewhere.
 */
async function survivesSigkill(kind: BrokerKind, postgres: boolean): Promise<void> {
  const prefix = uniqueId('kill').replace(/-/g, '_');
  const app = { id: uniqueId('app'), key: uniqueId('key'), secret: `secret-${prefix}` };
  const hooks = await webhookReceiver();
  const env = {
    HERALD_BROKER: kind,
    HERALD_CLUSTER_PREFIX: prefix,
    HERALD_NODE_TIMEOUT_MS: '6000',
    HERALD_APP_ID: app.id,
    HERALD_APP_KEY: app.key,
    HERALD_APP_SECRET: app.secret,
    ...(postgres
      ? {
          HERALD_DATABASE_URL: PG_URL,
          HERALD_APP_WEBHOOK_URL: hooks.url,
          HERALD_WEBHOOK_VACATE_DELAY_MS: '0',
          HERALD_WEBHOOK_BATCH_WINDOW_MS: '0',
        }
      : {}),
  };
  const nodes: ChildNode[] = [];
  const clients: PusherJs[] = [];
  try {
    nodes.push(...(await Promise.all([0, 1, 2].map(() => startChildNode(env)))));
    const sdk = (i: number) => new Pusher({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(nodes[i]!.port), useTLS: false });
    const client = (i: number, member?: { user_id: string }) => {
      const auth = sdk(i);
      const c = new PusherJs(app.key, {
        cluster: 'local',
        wsHost: '127.0.0.1',
        wsPort: nodes[i]!.port,
        forceTLS: false,
        enabledTransports: ['ws'],
        channelAuthorization: {
          customHandler: (p: { socketId: string; channelName: string }, cb: (e: Error | null, a: unknown) => void) =>
            cb(null, auth.authorizeChannel(p.socketId, p.channelName, member as Pusher.PresenceChannelData)),
        },
      } as never);
      clients.push(c);
      return c;
    };

    // Presence: alice (node 0), bob (node 1), carol (node 2, the victim), dave on nodes 0 and 2.
    const lobby = 'presence-lobby';
    const alice = await subscribed(client(0, { user_id: 'alice' }), lobby);
    const bob = await subscribed(client(1, { user_id: 'bob' }), lobby);
    await subscribed(client(2, { user_id: 'carol' }), lobby);
    await subscribed(client(2, { user_id: 'dave' }), lobby);
    await subscribed(client(0, { user_id: 'dave' }), lobby);
    const members = (ch: unknown) => Object.keys((ch as { members: { members: Record<string, unknown> } }).members.members).sort();
    await until(() => members(alice).length === 4 && members(bob).length === 4, 10_000, 'everyone in the lobby');
    const removedAtAlice = collect<{ id: string }>(alice, 'pusher:member_removed');
    const removedAtBob = collect<{ id: string }>(bob, 'pusher:member_removed');

    // Traffic: 3 ticker subscribers per node; publishes through random live nodes.
    const tickers = await Promise.all([0, 0, 0, 1, 1, 1, 2, 2, 2].map((i) => subscribed(client(i), 'ticker')));
    const received = tickers.map((ch) => collect<{ n: number }>(ch, 'tick'));
    const alive = new Set([0, 1, 2]);
    const acknowledged: number[] = [];
    const attempted = new Set<number>();
    let n = 0;
    const publishSome = async (count: number) => {
      for (let k = 0; k < count; k++) {
        const via = [...alive][Math.floor(Math.random() * alive.size)]!;
        const number = n++;
        attempted.add(number);
        try {
          await sdk(via).trigger('ticker', 'tick', { n: number });
          acknowledged.push(number);
        } catch {
          /* the node died under this request: not acknowledged, so not required */
        }
      }
    };
    const before = publishSome(40);
    await until(() => n >= 20, 10_000, 'traffic to start');
    alive.delete(2);
    await nodes[2]!.kill('SIGKILL');
    await before;
    await publishSome(40);

    // Survivors (tickers 0–5) got every acknowledged publish exactly once.
    await until(() => received.slice(0, 6).every((got) => acknowledged.every((x) => got.some((e) => e.n === x))), 15_000, 'acknowledged publishes on survivors');
    for (const [i, got] of received.slice(0, 6).entries()) {
      const numbers = got.map((e) => e.n);
      assert.equal(new Set(numbers).size, numbers.length, `ticker ${i}: no duplicates`);
      assert.ok(numbers.every((x) => attempted.has(x)), `ticker ${i}: nothing unexpected`);
    }

    // Presence converges within 30 s: carol leaves once, dave (still on node 0) stays.
    await until(() => removedAtAlice.length >= 1 && removedAtBob.length >= 1, 30_000, 'member_removed for carol');
    await until(async () => {
      const body = await (await sdk(1).get({ path: `/channels/${lobby}/users`, params: {} })).json();
      return body.users.length === 3;
    }, 30_000, 'the roster to converge');
    assert.deepEqual(members(alice), ['alice', 'bob', 'dave']);
    assert.deepEqual(members(bob), ['alice', 'bob', 'dave']);
    assert.deepEqual(removedAtAlice.map((m) => m.id), ['carol']);
    assert.deepEqual(removedAtBob.map((m) => m.id), ['carol']);
    for (const i of [0, 1]) {
      const info = await (await sdk(i).get({ path: `/channels/${lobby}`, params: { info: 'user_count,subscription_count' } })).json();
      assert.deepEqual(info, { occupied: true, user_count: 3, subscription_count: 3 });
      const ticker = await (await sdk(i).get({ path: '/channels/ticker', params: { info: 'subscription_count' } })).json();
      assert.equal(ticker.subscription_count, 6, 'the dead node\'s subscribers are gone from the count');
    }

    if (!postgres) return;
    // Webhooks: member_removed for carol exactly once, from a survivor (the reaper's claim).
    await until(() => hooks.events.some((e) => e.name === 'member_removed' && e.user_id === 'carol'), 15_000, 'the member_removed webhook');
    await sdk(0).trigger('ticker', 'tick', { n: -1 }); // one more round trip for any duplicate to show up
    await until(() => received[0]!.some((e) => e.n === -1), 10_000, 'the closing event');
    const removedHooks = hooks.events.filter((e) => e.name === 'member_removed' && e.channel === lobby);
    assert.deepEqual(removedHooks.map((e) => e.user_id), ['carol']);
  } finally {
    for (const c of clients) c.disconnect();
    await Promise.all(nodes.map((node) => node.cleanup()));
    await hooks.close();
    await cleanupNamespace(kind, prefix);
  }
}

for (const kind of (process.env.SCALING_ONLY ? [process.env.SCALING_ONLY] : ['redis', 'nats']) as BrokerKind[]) {
  test(`${kind}: a node killed with SIGKILL mid-traffic loses nothing on the survivors and presence converges`, { timeout: 110_000 }, async (t) => {
    if (!(await serviceUp(kind))) return t.skip(skipMessage(kind));
    const postgres = await portOpen(5432);
    if (!postgres) t.diagnostic('PostgreSQL is not reachable at 127.0.0.1:5432: webhook counting is skipped');
    await survivesSigkill(kind, postgres);
  });
}
