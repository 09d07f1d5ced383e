/**
 * What a worker of a multi-worker node changes in the Herald it starts: the broker and the
 * cluster state reach the primary over IPC, the embedded store is the primary's, and /metrics
 * answers for the whole node. Everything else is the same `startHerald` as a one-process node.
 */
import cluster from 'node:cluster';
import type { HeraldConfig } from '../config/schema.js';
import type { StartOptions } from '../server/herald.js';
import type { HeraldModule } from '../core/module.js';
import { defaultModules } from '../server/modules.js';
import { METRICS_SERVICE, type MetricsService } from '../metrics/module.js';
import { DATABASE_SERVICE, type DatabaseProvider } from '../app-store/database-module.js';
import { workerCount } from './count.js';
import { shareConnectionCounts } from './connection-counts.js';
import { IpcBroker, IpcControl } from './ipc-broker.js';
import type { Scaling } from '../scaling/scaling.js';
import { LeasedBuckets } from './leased-buckets.js';
import { IpcClusterState } from './ipc-cluster-state.js';
import { IpcPeer, type IpcEndpoint } from '../platform/ipc.js';
import { remoteDatabase } from './remote-database.js';
import { CACHE_MISS_OP, METRICS_RENDER_SERVICE, OBSERVER_RELAY_SERVICE, REMOTE_STORE_SERVICE, WORKER_SERVICE } from '../core/worker-services.js';
import { WorkerObserverRelay } from './observer-relay.js';
import { CACHE_MISS_GATE_SERVICE } from '../webhooks/events.js';


export interface WorkerRuntime {
  peer: IpcPeer;
  options: Pick<StartOptions, 'scaling' | 'modules' | 'apiRateLimiter' | 'listenAfterStart'>;
  /** Tells the primary this worker listens (it prints the banner once all do). */
  announce(url: string, lines: string[]): void;
}

export function isWorker(): boolean {
  return cluster.isWorker;
}

export function workerRuntime(config: HeraldConfig): WorkerRuntime {
  const peer = new IpcPeer(process as unknown as IpcEndpoint);
  const parts = workerParts(peer, config, `worker-${cluster.worker?.id ?? process.pid}`);
  process.on('disconnect', () => {
    // The primary is gone (killed): nobody relays or supervises any more. Drain and exit.
    parts.disconnected();
    process.exitCode = 1;
    setTimeout(() => process.exit(1), config.shutdownTimeoutMs + 1000).unref();
    process.kill(process.pid, 'SIGTERM');
  });
  const { disconnected: _, ...options } = parts;
  return { peer, options: { ...options, listenAfterStart: true }, announce: (url, lines) => peer.notify('worker.listening', { url, lines }) };
}

/**
 * The parts of a worker's Herald that reach its hub through `peer` (a process's IPC channel, or
 * an in-process one in tests). `modules` defaults to every capability; the storage module is
 * replaced by the hub's store unless PostgreSQL is configured (each worker then opens its own).
 */
export function workerParts(
  peer: IpcPeer,
  config: HeraldConfig,
  nodeId: string,
  modules: HeraldModule[] = defaultModules(),
): Pick<StartOptions, 'scaling' | 'modules' | 'apiRateLimiter'> & { disconnected(): void } {
  // With Redis or NATS every worker is a node of that cluster (the backends already decide
  // first/last atomically across nodes); otherwise the hub is this node's cluster state.
  const local = config.broker === 'memory';
  const broker = local ? new IpcBroker(peer) : undefined;
  const clusterState = local ? new IpcClusterState(peer, nodeId) : undefined;
  const scaling: Scaling | undefined =
    broker && clusterState ? { broker, control: new IpcControl(peer), membership: clusterState, users: clusterState, cache: clusterState, node: clusterState } : undefined;
  const withStore = modules.map((m) => (m.name === 'storage' && !config.databaseUrl ? remoteStorageModule(peer) : m));
  return {
    scaling,
    modules: [workerModule(peer, broker), ...withStore],
    apiRateLimiter: new LeasedBuckets(peer, workerCount(config.workers)),
    disconnected() {
      broker?.disconnected();
      clusterState?.disconnected();
      peer.close('primary exited');
    },
  };
}

/** First module of a worker: marks the process as one and answers the primary's metric scrapes. */
function workerModule(peer: IpcPeer, broker: IpcBroker | undefined): HeraldModule {
  let relay: WorkerObserverRelay | undefined;
  return {
    name: 'worker',
    provides: [WORKER_SERVICE, OBSERVER_RELAY_SERVICE, CACHE_MISS_GATE_SERVICE, METRICS_RENDER_SERVICE],
    // Read when the primary asks for this worker's metrics: the metrics module starts after this one.
    later: [METRICS_SERVICE],
    start(ctx) {
      ctx.provide(WORKER_SERVICE, peer);
      // With the hub as the node's cluster state, what is observed once per node is relayed to
      // the workers that show it, and cache misses are reported once per node.
      if (broker) {
        relay = new WorkerObserverRelay(peer, ctx.engine, ctx.apps, broker);
        ctx.provide(OBSERVER_RELAY_SERVICE, relay);
        ctx.provide(CACHE_MISS_GATE_SERVICE, (appId, channel) => peer.request<boolean>(CACHE_MISS_OP, { appId, channel }, 10_000));
      }
      ctx.provide(METRICS_RENDER_SERVICE, () => peer.request<string>('metrics.aggregate'));
      shareConnectionCounts(ctx, peer);
      const metricsService = ctx.later(METRICS_SERVICE);
      peer.handle('metrics.json', () => metricsService()?.metrics.json() ?? []);
    },
    stop() {
      relay?.stop();
      relay = undefined;
    },
  };
}

/** The storage module of a worker: the database service is the primary's store over IPC. */
function remoteStorageModule(peer: IpcPeer): HeraldModule {
  let used = false;
  return {
    name: 'storage',
    provides: [DATABASE_SERVICE, REMOTE_STORE_SERVICE],
    start(ctx) {
      const db = remoteDatabase(peer);
      const provider: DatabaseProvider = async () => {
        await db.query('SELECT 1'); // opens it on the primary; fails like a local open would
        used = true;
        return db;
      };
      ctx.provide(DATABASE_SERVICE, provider);
      ctx.provide(REMOTE_STORE_SERVICE, true);
      ctx.hooks.readiness.push(async () => {
        if (!used) return undefined;
        try {
          await db.query('SELECT 1');
          return undefined;
        } catch (err) {
          return `database unavailable: ${(err as Error).message}`;
        }
      });
    },
  };
}
