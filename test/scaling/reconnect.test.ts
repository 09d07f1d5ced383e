/**
 * Broker outages, simulated with a TCP proxy between one node and Redis / NATS:
 *  - a short outage: a clear log line, /ready 503 while it lasts, then the node's channel
 *    subscriptions work again without any client doing anything;
 *  - an outage longer than the node timeout: the other nodes reap the cut-off node (its members
 *    leave), and when it is back it notices, closes its sockets with 4200 and its clients
 *    reconnect, so presence converges again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import Pusher from 'pusher';
import { appSchema, toApp } from '../../src/apps/app.js';
import { configSchema } from '../../src/config/schema.js';
import { startHerald, type Herald } from '../../src/server/herald.js';
import { PusherJs } from '../helpers/pusher-js.js';
import { nextEvent } from '../helpers/wait.js';
import { cleanupNamespace, collect, SERVICE, serviceUp, skipMessage, subscribed, uniqueId, until, type BrokerKind } from './support.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

interface Node {
  herald: Herald;
  logs: string[];
  client(member?: { user_id: string }): PusherJs;
  sdk(): Pusher;
  stop(): Promise<void>;
}

async function startNode(kind: BrokerKind, prefix: string, app: { id: string; key: string; secret: string }, port: number, nodeTimeoutMs: number): Promise<Node> {
  const logs: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) });
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-reconnect-'));
  const url = kind === 'redis' ? `redis://127.0.0.1:${port}` : `nats://127.0.0.1:${port}`;
  const config = configSchema.parse({
    host: '127.0.0.1',
    port: 0,
    dataDir,
    broker: kind,
    clusterPrefix: prefix,
    nodeTimeoutMs,
    [kind === 'redis' ? 'redisUrl' : 'natsUrl']: url,
  });
  const herald = await startHerald({ config, apps: [toApp(appSchema.parse(app))], logger, modules: [] });
  const clients: PusherJs[] = [];
  const sdk = () => new Pusher({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(herald.port), useTLS: false });
  return {
    herald,
    logs,
    sdk,
    client(member) {
      const auth = sdk();
      const c = new PusherJs(app.key, {
        cluster: 'local',
        wsHost: '127.0.0.1',
        wsPort: herald.port,
        forceTLS: false,
        enabledTransports: ['ws'],
        channelAuthorization: {
          customHandler: (p: { socketId: string; channelName: string }, cb: (e: Error | null, a: unknown) => void) =>
            cb(null, auth.authorizeChannel(p.socketId, p.channelName, member as Pusher.PresenceChannelData)),
        },
      } as never);
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) c.disconnect();
      await herald.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function ready(node: Node): Promise<{ status: number; body: { problems?: string[] } }> {
  const res = await fetch(`${node.herald.url}/ready`);
  return { status: res.status, body: (await res.json()) as { problems?: string[] } };
}

async function withCluster(kind: BrokerKind, nodeTimeoutMs: number, body: (proxied: Node, direct: Node, proxy: TcpProxy) => Promise<void>): Promise<void> {
  const prefix = uniqueId('rc').replace(/-/g, '_');
  const app = { id: uniqueId('app'), key: uniqueId('key'), secret: `secret-${prefix}` };
  const proxy = new TcpProxy(SERVICE[kind].port);
  await proxy.start();
  const nodes: Node[] = [];
  try {
    nodes.push(await startNode(kind, prefix, app, proxy.port, nodeTimeoutMs));
    nodes.push(await startNode(kind, prefix, app, SERVICE[kind].port, nodeTimeoutMs));
    await body(nodes[0]!, nodes[1]!, proxy);
  } finally {
    await proxy.restore().catch(() => undefined);
    await Promise.allSettled(nodes.map((n) => n.stop()));
    await proxy.stop();
    await cleanupNamespace(kind, prefix);
  }
}

for (const kind of ['redis', 'nats'] as const) {
  const name = kind === 'redis' ? 'Redis' : 'NATS';

  test(`${kind}: a short outage is logged, fails /ready, and subscriptions resume by themselves`, async (t) => {
    if (!(await serviceUp(kind))) return t.skip(skipMessage(kind));
    await withCluster(kind, 15_000, async (proxied, direct, proxy) => {
      const listener = proxied.client();
      const channel = await subscribed(listener, 'resilient');
      const got = collect<{ n: number }>(channel, 'e');
      assert.equal((await ready(proxied)).status, 200);

      await proxy.cut();
      await until(async () => (await ready(proxied)).status === 503, 15_000, '/ready to fail');
      assert.ok((await ready(proxied)).body.problems?.some((p) => p.includes(kind)), 'the problem names the broker');
      await until(() => proxied.logs.some((l) => l.includes(`lost the ${name} connection`)), 5000, 'the outage log line');
      await assert.rejects(proxied.sdk().trigger('resilient', 'e', { n: 0 }), (err: { status?: number }) => err.status === 503, 'a publish the others cannot get is refused');

      await proxy.restore();
      await until(async () => (await ready(proxied)).status === 200, 20_000, '/ready to recover');
      assert.ok(proxied.logs.some((l) => l.includes(`${name} connection restored`)), 'the recovery log line');
      // The socket never noticed; its channel subscription is back on the broker.
      await until(async () => {
        await direct.sdk().trigger('resilient', 'e', { n: 1 });
        return got.length > 0;
      }, 15_000, 'an event published on the other node after the outage');
      assert.deepEqual(got[0], { n: 1 });
    });
  });

  test(`${kind}: a node cut off longer than the node timeout is reaped, then rejoins and presence converges`, async (t) => {
    if (!(await serviceUp(kind))) return t.skip(skipMessage(kind));
    await withCluster(kind, 2000, async (proxied, direct, proxy) => {
      const alice = proxied.client({ user_id: 'alice' });
      await subscribed(alice, 'presence-partition');
      const bob = await subscribed(direct.client({ user_id: 'bob' }), 'presence-partition');
      const removed = nextEvent<{ id: string }>(bob, 'pusher:member_removed', 20_000);

      await proxy.cut();
      assert.equal((await removed).id, 'alice', 'the other node reaped the silent node\'s member');
      const readded = nextEvent<{ id: string }>(bob, 'pusher:member_added', 30_000);
      await proxy.restore();
      // The cut-off node finds it was reaped, closes its sockets with 4200; pusher-js reconnects and resubscribes.
      assert.equal((await readded).id, 'alice');
      assert.ok(proxied.logs.some((l) => l.includes('removed from the cluster state')), 'the eviction is logged');
      await until(async () => {
        const info = await (await direct.sdk().get({ path: '/channels/presence-partition', params: { info: 'user_count' } })).json();
        return info.user_count === 2;
      }, 15_000, 'presence to converge');
    });
  });
}
