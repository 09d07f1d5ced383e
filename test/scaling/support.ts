/**
 * Several Herald nodes sharing one Redis or NATS, with stock pusher-js clients and the stock
 * `pusher` SDK. Every cluster gets its own key prefix / subject namespace / KV bucket, so test
 * runs in parallel never see each other; stop() removes what the run left in Redis / NATS.
 */
import { randomBytes } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';
import type Pusher from 'pusher';
import { Redis } from 'ioredis';
import { connect as natsConnect } from 'nats';
import type { AppInput } from '../../src/apps/app.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import type { PusherJs } from '../helpers/pusher-js.js';
import { nextEvent, withTimeout } from '../helpers/wait.js';

export type BrokerKind = 'redis' | 'nats';
export const SERVICE = { redis: { host: '127.0.0.1', port: 6379 }, nats: { host: '127.0.0.1', port: 4222 } } as const;
export const REDIS_URL = 'redis://127.0.0.1:6379';
export const NATS_URL = 'nats://127.0.0.1:4222';

export function skipMessage(kind: BrokerKind): string {
  const s = SERVICE[kind];
  return `${kind} is not reachable at ${s.host}:${s.port}: start it to run the scaling tests`;
}

/** True when the service accepts TCP connections (tests skip with a clear message otherwise). */
export function serviceUp(kind: BrokerKind): Promise<boolean> {
  return portOpen(SERVICE[kind].port);
}

export function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

export function uniqueId(label: string): string {
  return `${label}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export interface ClientIdentity {
  /** Presence member (channel_data) this client's auth endpoint signs. */
  member?: { user_id: string; user_info?: unknown };
  /** Sign-in identity (pusher:signin). */
  user?: { id: string; watchlist?: string[]; user_info?: unknown };
}

export interface TestCluster {
  kind: BrokerKind;
  prefix: string;
  app: { id: string; key: string; secret: string };
  nodes: TestHerald[];
  /** A stock pusher-js client on node `i`, authorized by the stock SDK as `identity`. */
  client(i: number, identity?: ClientIdentity, options?: Record<string, unknown>): PusherJs;
  /** The stock `pusher` SDK pointed at node `i` (a random node when omitted). */
  server(i?: number): Pusher;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  nodes?: number;
  app?: Partial<AppInput>;
  nodeTimeoutMs?: number;
  /** Another Redis (e.g. a Redis Cluster's seed list). */
  redisUrl?: string;
}

export async function startCluster(kind: BrokerKind, options: ClusterOptions = {}): Promise<TestCluster> {
  const prefix = uniqueId('t').replace(/-/g, '_');
  const app = { id: uniqueId('app'), key: uniqueId('key'), secret: `secret-${randomBytes(8).toString('hex')}` };
  const config = { broker: kind, clusterPrefix: prefix, nodeTimeoutMs: options.nodeTimeoutMs ?? 15_000, redisUrl: options.redisUrl ?? REDIS_URL, natsUrl: NATS_URL };
  const nodes: TestHerald[] = [];
  try {
    // Engine, broker and cluster state only: the capability modules (embedded store, webhooks…)
    // are exercised with clustering by node-failure.test.ts, which runs full `herald start` processes.
    for (let i = 0; i < (options.nodes ?? 3); i++) nodes.push(await startTestHerald({ app: { ...app, ...options.app }, config, modules: [] }));
  } catch (err) {
    await Promise.allSettled(nodes.map((n) => n.stop()));
    if (!options.redisUrl) await cleanupNamespace(kind, prefix);
    throw err;
  }
  const cluster: TestCluster = {
    kind,
    prefix,
    app,
    nodes,
    client(i, identity = {}, extra = {}) {
      const node = nodes[i % nodes.length]!;
      const sdk = node.pusherServer();
      return node.pusherClient({
        channelAuthorization: {
          customHandler: (p: { socketId: string; channelName: string }, cb: (e: Error | null, a: unknown) => void) =>
            cb(null, sdk.authorizeChannel(p.socketId, p.channelName, identity.member as Pusher.PresenceChannelData)),
        },
        userAuthentication: {
          customHandler: (p: { socketId: string }, cb: (e: Error | null, a: unknown) => void) =>
            identity.user ? cb(null, sdk.authenticateUser(p.socketId, identity.user as Pusher.UserChannelData)) : cb(new Error('no user'), null),
        },
        ...extra,
      });
    },
    server(i) {
      const index = i ?? Math.floor(Math.random() * nodes.length);
      return nodes[index % nodes.length]!.pusherServer();
    },
    async stop() {
      await Promise.allSettled(nodes.map((n) => n.stop()));
      if (!options.redisUrl) await cleanupNamespace(kind, prefix);
    },
  };
  return cluster;
}

/** Removes a run's Redis keys (prefix) or its NATS KV bucket. */
export async function cleanupNamespace(kind: BrokerKind, prefix: string): Promise<void> {
  if (kind === 'redis') {
    const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
    } catch {
      /* best effort */
    } finally {
      redis.disconnect();
    }
    return;
  }
  try {
    const nc = await natsConnect({ servers: NATS_URL, timeout: 2000 });
    try {
      await (await nc.jetstreamManager()).streams.delete(`KV_${prefix}-state`);
    } catch (err) {
      if (process.env.HERALD_TEST_LOG) console.error('cleanup', prefix, err);
    }
    await nc.close();
  } catch {
    /* best effort */
  }
}

export function subscribed(client: PusherJs, channelName: string, ms = 10_000) {
  const channel = client.subscribe(channelName);
  return nextEvent(channel, 'pusher:subscription_succeeded', ms).then(() => channel);
}

/** Collects every `event` a pusher-js channel receives (for exact delivery checks). */
export function collect<T = unknown>(channel: { bind(event: string, cb: (data: T) => void): unknown }, event: string): T[] {
  const got: T[] = [];
  channel.bind(event, (data: T) => got.push(data));
  return got;
}

export function connected(client: PusherJs, ms = 10_000): Promise<void> {
  if (client.connection.state === 'connected') return Promise.resolve();
  return withTimeout(new Promise<void>((resolve) => client.connection.bind('connected', () => resolve())), ms, 'pusher-js to connect');
}

/** Polls until `check` holds (state visible only through the HTTP API or counters). */
export async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
