/**
 * The primary of a multi-worker node (`herald start --workers N`). It serves no client itself:
 * it forks N workers that share the listening port (node:cluster hands accepted connections to
 * them in turn) and is their hub —
 *   - the node's cluster state, in memory (hub-state.ts), answered over IPC;
 *   - the relay of broker messages: a message from one worker goes to each other worker once;
 *   - the one owner of the embedded store (workers query it over IPC; PostgreSQL is opened by
 *     every worker directly, as by every node of a cluster);
 *   - one /metrics answer for the node (each worker's registries, summed);
 *   - graceful drain of every worker on SIGTERM/SIGINT, and replacement of a worker that dies,
 *     after removing what its clients contributed (members leave, channels vacate) once.
 * With HERALD_BROKER=redis or nats every worker joins that cluster as a node of its own; the
 * primary then only supervises and owns the embedded store.
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import { acquireDataDirLock, seedEmbeddedDataDir, type DataDirLock } from '../apps/data-dir.js';
import type { HeraldConfig } from '../config/schema.js';
import type { JoinRequest } from '../scaling/cluster-state.js';
import type { Logger } from '../server/logger.js';
import type { Database } from '../storage/database.js';
import { openDatabase } from '../storage/open.js';
import { HubClusterState } from './hub-state.js';
import { BUS_OP } from './ipc-broker.js';
import { IpcPeer, type IpcEndpoint } from './ipc.js';
import { DatabaseHost } from './remote-database.js';

interface Member {
  worker: Worker;
  peer: IpcPeer;
  node: string;
  index: number;
  listening: boolean;
}

export interface SupervisorOptions {
  config: HeraldConfig;
  workers: number;
  logger: Logger;
  /** Printed once every worker listens (the first worker's banner lines). */
  onListening(lines: string[]): void;
}

/** A worker that dies this many times within a minute is not replaced again: the node stops. */
const MAX_RESTARTS_PER_MINUTE = 10;
const CACHE_SWEEP_MS = 60_000;

export class Supervisor {
  private readonly members = new Map<number, Member>();
  private readonly hub = new HubClusterState();
  private readonly store: DatabaseHost;
  private database: Promise<Database> | undefined;
  private lock: DataDirLock | undefined;
  private url: string | undefined;
  private stopping: Promise<void> | undefined;
  private announced = false;
  private restarts: number[] = [];
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly logger: Logger;
  /** Resolves with the exit code once the node has stopped (drained, or failed to start). */
  readonly finished: Promise<number>;
  private finish: (code: number) => void = () => undefined;

  constructor(private readonly options: SupervisorOptions) {
    this.logger = options.logger.child({ component: 'supervisor' });
    this.store = new DatabaseHost(() => this.openStore());
    this.finished = new Promise((resolve) => (this.finish = resolve));
    this.sweepTimer = setInterval(() => this.hub.sweep(), CACHE_SWEEP_MS);
    this.sweepTimer.unref();
  }

  start(): void {
    // Structured clone keeps store rows' Dates and Buffers; node:cluster's own messages still pass.
    cluster.setupPrimary({ serialization: 'advanced' });
    for (let i = 0; i < this.options.workers; i++) this.fork(i);
  }

  get workerPids(): number[] {
    return [...this.members.values()].map((m) => m.worker.process.pid!).filter(Boolean);
  }

  private fork(index: number): void {
    const worker = cluster.fork({ HERALD_WORKER_INDEX: String(index) });
    const peer = new IpcPeer(worker as unknown as IpcEndpoint);
    const member: Member = { worker, peer, node: `worker-${worker.id}`, index, listening: false };
    this.members.set(worker.id, member);
    this.hub.addNode(member.node);
    this.serveClusterState(member);
    this.store.serve(peer, member.node);
    peer.handle(BUS_OP, (message) => {
      for (const other of this.members.values()) if (other !== member && other.listening) other.peer.notify(BUS_OP, message);
    });
    peer.handle('metrics.aggregate', () => this.aggregateMetrics());
    peer.handle('worker.listening', (args) => this.listening(member, args as { url: string; lines: string[] }));
    worker.on('exit', (code, signal) => this.exited(member, code, signal));
  }

  private serveClusterState({ peer, node }: Member): void {
    const hub = this.hub;
    type A = Record<string, unknown> & { appId: string; channel: string };
    peer.handle('cluster.join', (args) => hub.join(node, args as JoinRequest));
    peer.handle('cluster.leave', (args) => {
      const a = args as A & { userId?: string };
      return hub.leave(node, a.appId, a.channel, a.userId);
    });
    peer.handle('cluster.online', (args) => {
      const a = args as { appId: string; userId: string; watchlist: string[] };
      return hub.userOnline(node, a.appId, a.userId, a.watchlist);
    });
    peer.handle('cluster.offline', (args) => {
      const a = args as { appId: string; userId: string };
      return hub.userOffline(node, a.appId, a.userId);
    });
    peer.handle('cluster.subscriptionCount', (args) => hub.subscriptionCount((args as A).appId, (args as A).channel));
    peer.handle('cluster.userCount', (args) => hub.userCount((args as A).appId, (args as A).channel));
    peer.handle('cluster.channels', (args) => hub.channels((args as A).appId, (args as { prefix?: string }).prefix));
    peer.handle('cluster.members', (args) => hub.members((args as A).appId, (args as A).channel));
    peer.handle('cluster.setCache', (args) => {
      const a = args as A & { event: string; data: string; ttlSeconds: number };
      hub.setCache(a.appId, a.channel, a.event, a.data, a.ttlSeconds);
    });
    peer.handle('cluster.getCache', (args) => hub.getCache((args as A).appId, (args as A).channel));
    peer.handle('cluster.leaveNode', () => hub.removeNode(node));
  }

  private listening(member: Member, { url, lines }: { url: string; lines: string[] }): void {
    member.listening = true;
    this.url ??= url;
    this.lock?.setUrl(url);
    if (this.announced || [...this.members.values()].some((m) => !m.listening)) return;
    this.announced = true;
    this.options.onListening([...lines, `${this.members.size} workers (pids ${this.workerPids.join(', ')}), supervisor pid ${process.pid}`]);
  }

  private exited(member: Member, code: number | null, signal: string | null): void {
    this.members.delete(member.worker.id);
    member.peer.close('worker exited');
    this.store.release(member.node);
    const removed = this.hub.removeNode(member.node);
    if (this.stopping) return;
    if (!member.listening && !this.announced) {
      // A worker that cannot start (port in use, bad certificate…): the node cannot either.
      this.logger.error({ worker: member.worker.id, code, signal }, 'a worker failed to start; stopping');
      void this.stop(typeof code === 'number' && code !== 0 ? code : 1);
      return;
    }
    this.logger.error({ worker: member.worker.id, pid: member.worker.process.pid, code, signal }, 'worker died; removing its clients and starting a replacement');
    // One surviving worker broadcasts what the dead one's clients leave behind, and its
    // observers (webhooks) see it: member_removed / channel_vacated once, as when a node dies.
    const survivor = [...this.members.values()].find((m) => m.listening);
    if (survivor && removed.length) survivor.peer.notify('cluster.reaped', removed);
    const now = Date.now();
    this.restarts = this.restarts.filter((t) => now - t < 60_000);
    this.restarts.push(now);
    if (this.restarts.length > MAX_RESTARTS_PER_MINUTE) {
      this.logger.error('workers keep dying; stopping the node');
      void this.stop(1);
      return;
    }
    this.fork(member.index);
  }

  /** Sum of every worker's metrics, in Prometheus text form (prom-client's cluster aggregation). */
  private async aggregateMetrics(): Promise<string> {
    const all = await Promise.all([...this.members.values()].filter((m) => m.listening).map((m) => m.peer.request<unknown[]>('metrics.json').catch(() => [])));
    return AggregatorRegistry.aggregate(all as never).metrics();
  }

  /** The embedded store, opened on the first worker's request (as a one-process node does). */
  private openStore(): Promise<Database> {
    const { config } = this.options;
    this.database ??= (async () => {
      if (!config.databaseUrl) {
        this.lock ??= acquireDataDirLock(config.dataDir, 'server');
        if (this.url) this.lock.setUrl(this.url);
        await seedEmbeddedDataDir(config.dataDir).catch(() => undefined);
      }
      const db = await openDatabase({
        databaseUrl: config.databaseUrl,
        dataDir: config.dataDir,
        onEmbeddedCrash: (err) => this.logger.error({ err: err.message }, 'embedded store worker crashed; database queries will fail until restart'),
      });
      this.logger.info({ kind: db.kind }, 'database opened (owned by the supervisor)');
      return db;
    })().catch((err: unknown) => {
      this.database = undefined;
      this.lock?.release();
      this.lock = undefined;
      throw err;
    });
    return this.database;
  }

  /** Drains every worker (each closes its clients with 4200 and flushes), then closes the store. */
  stop(code = 0): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.sweepTimer);
      const deadline = this.options.config.shutdownTimeoutMs + 3000;
      const exits = [...this.members.values()].map((m) => new Promise<void>((resolve) => (m.worker.isDead() ? resolve() : m.worker.once('exit', () => resolve()))));
      for (const m of this.members.values()) m.worker.process.kill('SIGTERM');
      const timer = setTimeout(() => {
        for (const m of this.members.values()) m.worker.process.kill('SIGKILL');
      }, deadline);
      await Promise.all(exits);
      clearTimeout(timer);
      const db = await this.database?.catch(() => undefined);
      await db?.close().catch(() => undefined);
      this.lock?.release();
      this.finish(code);
    })();
    return this.stopping;
  }

  /** SIGHUP: every worker reloads its TLS certificate. */
  reloadTls(): void {
    for (const m of this.members.values()) m.worker.process.kill('SIGHUP');
  }
}
