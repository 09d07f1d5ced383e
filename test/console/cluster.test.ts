/**
 * The console on a two-node Redis (and NATS) cluster: node A's console API shows what a stock pusher-js
 * client on node B does — its connection (apps list, stats stream, `cluster` nodes), its
 * channels and presence membership, and live-feed entries from B (subscriptions, presence, API
 * events), tagged with B's node id, and the GraphQL `cluster` query lists both nodes; and the page in Debian's chromium (playwright-core) shows
 * the cluster scope, both nodes and B's entries. (cluster-view.test.ts checks the bounds without sockets.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';
import type Pusher from 'pusher';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { withTimeout } from '../helpers/wait.js';
import { gqlData } from '../graphql/support.js';
import { cleanupNamespace, NATS_URL, REDIS_URL, serviceUp, skipMessage, subscribed, uniqueId, until, type BrokerKind } from '../scaling/support.js';

const ADMIN_TOKEN = 'console-cluster-admin-token-789';
const CHROMIUM = process.env.HERALD_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = 'test-artifacts';
const DOCS_IMAGES = process.env.HERALD_DOCS_SCREENSHOTS === '1' ? 'docs/images' : undefined;
let skipReason: string | undefined;
let a: TestHerald;
let b: TestHerald;

/** Two nodes of one app on `kind`, with the console's admin token. */
async function startPair(kind: BrokerKind) {
  const pairPrefix = uniqueId('cc').replace(/-/g, '_');
  const app = { id: uniqueId('app'), key: uniqueId('key'), secret: `secret-${uniqueId('s')}` };
  const config = { broker: kind, clusterPrefix: pairPrefix, redisUrl: REDIS_URL, natsUrl: NATS_URL, adminToken: ADMIN_TOKEN };
  const first = await startTestHerald({ app, config });
  const second = await startTestHerald({ app, config }).catch(async (err) => {
    await first.stop();
    throw err;
  });
  return {
    a: first,
    b: second,
    async stop() {
      await Promise.allSettled([first.stop(), second.stop()]);
      await cleanupNamespace(kind, pairPrefix);
    },
  };
}

let pair: Awaited<ReturnType<typeof startPair>>;
before(async () => {
  if (!(await serviceUp('redis'))) {
    skipReason = skipMessage('redis');
    return;
  }
  pair = await startPair('redis');
  ({ a, b } = pair);
});
after(async () => {
  if (!skipReason) await pair?.stop();
});

async function api(node: TestHerald, path: string): Promise<any> {
  const res = await fetch(`${node.httpUrl}${path}`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  return res.json();
}

/** The console's server-sent-events stream, read as the page reads it. */
function openStream(node: TestHerald, appId: string) {
  const controller = new AbortController();
  const events: Array<{ kind: string; payload: any }> = [];
  const waiters: Array<() => void> = [];
  const done = (async () => {
    const res = await fetch(`${node.httpUrl}/console/api/stream?app=${encodeURIComponent(appId)}`, {
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
      signal: controller.signal,
    });
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const kind = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (kind && data) events.push({ kind, payload: JSON.parse(data) });
        for (const w of waiters.splice(0)) w();
      }
    }
  })().catch(() => undefined);
  const entries = () => events.filter((e) => e.kind === 'batch').flatMap((e) => e.payload.entries as any[]);
  return {
    entries,
    events,
    /** Resolves with the first feed entry matching `match` (already received or still to come). */
    async entry(match: (e: any) => boolean, what: string): Promise<any> {
      return withTimeout(
        (async () => {
          for (;;) {
            const found = entries().find(match);
            if (found) return found;
            await new Promise<void>((resolve) => waiters.push(resolve));
          }
        })(),
        10_000,
        what,
      );
    },
    async close() {
      controller.abort();
      await done;
    },
  };
}

test('node A shows connections, channels, members and the live feed of a client on node B (redis)', async (t) => {
  if (skipReason) return t.skip(skipReason);
  await showsNodeB(a, b);
});

test('the same over NATS', async (t) => {
  if (!(await serviceUp('nats'))) return t.skip(skipMessage('nats'));
  const nats = await startPair('nats');
  try {
    await showsNodeB(nats.a, nats.b);
  } finally {
    await nats.stop();
  }
});

async function showsNodeB(a: TestHerald, b: TestHerald): Promise<void> {
  const appId = a.app.id;
  const nodeB = (await api(b, '/console/api/cluster')).nodes.find((n: any) => n.self).id as string;
  const nodeA = (await api(a, '/console/api/cluster')).nodes.find((n: any) => n.self).id as string;
  assert.notEqual(nodeA, nodeB);
  assert.equal((await api(a, '/console/api/session')).scope.feed, 'cluster');

  const stream = openStream(a, appId);
  try {
    // The stream announced itself: B reports at once, so A lists B before any client exists.
    await until(async () => (await api(a, '/console/api/cluster')).nodes.some((n: any) => n.id === nodeB), 10_000, 'node B in A\'s cluster info');

    const sdk = b.pusherServer() as Pusher;
    const client = b.pusherClient({
      channelAuthorization: {
        customHandler: (p: { socketId: string; channelName: string }, cb: (e: Error | null, a: unknown) => void) =>
          cb(null, sdk.authorizeChannel(p.socketId, p.channelName, { user_id: 'user-on-b', user_info: { name: 'Bea' } })),
      },
    });
    await subscribed(client, 'presence-room');
    await subscribed(client, 'news');

    // Connection counts: the apps list, the cluster info (per node) and the stats stream.
    await until(async () => (await api(a, '/console/api/apps')).apps.find((x: any) => x.id === appId)?.connections === 1, 10_000, 'A\'s apps list to count B\'s connection');
    assert.equal(a.herald.engine.connectionCount(appId), 0, 'the connection is on B, not on A');
    const cluster = await api(a, `/console/api/cluster?app=${encodeURIComponent(appId)}`);
    assert.equal(cluster.scope, 'cluster');
    assert.deepEqual(
      cluster.nodes.map((n: any) => [n.id, n.self, n.appConnections]).sort(),
      [[nodeA, true, 0], [nodeB, false, 1]].sort(),
    );
    await until(() => stream.events.some((e) => e.kind === 'stats' && e.payload.latest?.[appId]?.connections === 1), 10_000, 'a stats tick with 1 connection');
    // The GraphQL `cluster` query on A lists both nodes too.
    const gqlCluster = (await gqlData(a, '{ cluster { localConnections connections nodes { id self connections reportedAt } } }')).cluster;
    assert.equal(gqlCluster.localConnections, 0);
    assert.equal(gqlCluster.connections, 1);
    assert.deepEqual(gqlCluster.nodes.map((n: any) => [n.id, n.self, n.connections]).sort(), [[nodeA, true, 0], [nodeB, false, 1]].sort());
    assert.ok(!Number.isNaN(Date.parse(gqlCluster.nodes[0].reportedAt)));

    // Channels and presence members (cluster-wide state).
    const channels = await api(a, `/console/api/apps/${appId}/channels`);
    assert.deepEqual(channels.channels.map((c: any) => c.name).sort(), ['news', 'presence-room']);
    const members = await api(a, `/console/api/apps/${appId}/channels/presence-room/members`);
    assert.deepEqual(members.members, [{ id: 'user-on-b', userInfo: { name: 'Bea' } }]);

    // The live feed on A carries B's entries, tagged with B's node id.
    const sub = await stream.entry((e) => e.kind === 'subscription' && e.channel === 'news', 'B\'s subscription in A\'s feed');
    assert.equal(sub.node, nodeB);
    const joined = await stream.entry((e) => e.kind === 'presence' && e.channel === 'presence-room', 'B\'s presence join in A\'s feed');
    assert.match(joined.text, /user-on-b/);
    await sdk.trigger('news', 'breaking', { headline: '<b>hi</b>' });
    const published = await stream.entry((e) => e.kind === 'api_event' && e.event === 'breaking', 'B\'s API event in A\'s feed');
    assert.equal(published.node, nodeB);
    assert.equal(published.data, JSON.stringify({ headline: '<b>hi</b>' }));
    assert.ok(stream.entries().every((e) => e.node !== nodeA), 'A\'s own entries are never echoed back to it');
    client.disconnect();
    await until(async () => (await api(a, '/console/api/apps')).apps.find((x: any) => x.id === appId)?.connections === 0, 10_000, 'the count to drop after B\'s client leaves');
  } finally {
    await stream.close();
  }
}

test('the page on node A shows the cluster scope, both nodes and the feed of a client on node B (chromium)', async (t) => {
  if (skipReason) return t.skip(skipReason);
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set HERALD_CHROMIUM`);
  mkdirSync(ARTIFACTS, { recursive: true });
  const nodeB = (await api(b, '/console/api/cluster')).nodes.find((n: any) => n.self).id as string;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const client = b.pusherClient();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${a.httpUrl}/console`);
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('apps-table').getByText(a.app.id).first().waitFor();
    await subscribed(client, 'browser-news');
    // The apps list counts B's connection (A has none) and says it covers every node.
    await page.getByTestId('app-connections').filter({ hasText: /^1$/ }).waitFor({ timeout: 10_000 });
    await page.locator('#apps-h').getByTestId('scope').filter({ hasText: 'all nodes' }).waitFor();

    await page.getByRole('tab', { name: 'Overview', exact: true }).click();
    const nodes = page.getByTestId('cluster-nodes');
    await nodes.getByText(nodeB).waitFor({ timeout: 10_000 });
    assert.equal(await page.getByTestId('node-count').textContent(), '2');
    await page.getByTestId('connections').filter({ hasText: /^1$/ }).waitFor({ timeout: 10_000 });

    await page.getByRole('tab', { name: 'Events', exact: true }).click();
    const log = page.getByTestId('event-log');
    await log.waitFor({ state: 'attached' });
    await b.pusherServer().trigger('browser-news', 'from-b', { n: 1 });
    const row = log.locator('li').filter({ hasText: 'from-b on browser-news' });
    await row.first().waitFor({ timeout: 10_000 });
    assert.equal(await row.first().getByTestId('entry-node').textContent(), `@${nodeB}`);
    await page.getByRole('tab', { name: 'Overview', exact: true }).click();
    await nodes.waitFor();
    await page.screenshot({ path: `${ARTIFACTS}/console-cluster.png`, fullPage: true });
    if (DOCS_IMAGES) await page.screenshot({ path: `${DOCS_IMAGES}/console-cluster.png`, fullPage: true });
  } finally {
    client.disconnect();
    await browser.close();
  }
});
