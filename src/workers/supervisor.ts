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
import type { HeraldConfig } from '../config/schema.js';
import type { Logger } from '../platform/logger.js';
import { OwnedStore } from './owned-store.js';
import { NodeHub } from './hub.js';
import { IpcPeer, type IpcEndpoint } from '../platform/ipc.js';
import { XhrPeers } from './xhr-peers.js';

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

export class Supervisor {
  private readonly members = new Map<number, Member>();
  private readonly hub: NodeHub;
  private readonly store: OwnedStore;
  /** Where each worker slot's xhr sessions are served (forwarding between workers). */
  private readonly xhrPeers: XhrPeers;
  private stopping: Promise<void> | undefined;
  private announced = false;
  private restarts: number[] = [];
  private readonly logger: Logger;
  /** Resolves with the exit code once the node has stopped (drained, or failed to start). */
  readonly finished: Promise<number>;
  private finish: (code: number) => void = () => undefined;

  constructor(private readonly options: SupervisorOptions) {
    this.logger = options.logger.child({ component: 'supervisor' });
    this.store = new OwnedStore(options.config, this.logger);
    this.hub = new NodeHub(() => this.store.open());
    this.finished = new Promise((resolve) => (this.finish = resolve));
    this.xhrPeers = new XhrPeers(options.workers, () => [...this.members.values()].map((m) => m.peer));
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
    // The slot is stable across replacements: xhr sessions are owned by slot (forwarding.ts).
    const worker = cluster.fork({ HERALD_WORKER_SLOT: String(index) });
    const peer = new IpcPeer(worker as unknown as IpcEndpoint);
    const member: Member = { worker, peer, node: `worker-${worker.id}`, index, listening: false };
    this.members.set(worker.id, member);
    this.hub.attach(member.node, peer);
    this.xhrPeers.attach(peer, index);
    peer.handle('worker.listening', (args) => this.listening(member, args as { url: string; lines: string[] }));
    worker.on('exit', (code, signal) => this.exited(member, code, signal));
  }

  private listening(member: Member, { url, lines }: { url: string; lines: string[] }): void {
    member.listening = true;
    this.hub.ready(member.node);
    this.store.setUrl(url);
    if (this.announced || [...this.members.values()].some((m) => !m.listening)) return;
    this.announced = true;
    this.options.onListening([...lines, `${this.members.size} workers (pids ${this.workerPids.join(', ')}), supervisor pid ${process.pid}`]);
  }

  private exited(member: Member, code: number | null, signal: string | null): void {
    this.members.delete(member.worker.id);
    this.hub.detach(member.node, !this.stopping);
    this.xhrPeers.vacate(member.index);
    if (this.stopping) return;
    if (!member.listening && !this.announced) {
      // A worker that cannot start (port in use, bad certificate…): the node cannot either.
      this.logger.error({ worker: member.worker.id, code, signal }, 'a worker failed to start; stopping');
      void this.stop(typeof code === 'number' && code !== 0 ? code : 1);
      return;
    }
    // The hub told a surviving worker what the dead one's clients leave behind (detach above).
    this.logger.error({ worker: member.worker.id, pid: member.worker.process.pid, code, signal }, 'worker died; removing its clients and starting a replacement');
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

  /** Drains every worker (each closes its clients with 4200 and flushes), then closes the store. */
  stop(code = 0): Promise<void> {
    this.stopping ??= (async () => {
      this.hub.stop();
      const deadline = this.options.config.shutdownTimeoutMs + 3000;
      const exits = [...this.members.values()].map((m) => new Promise<void>((resolve) => (m.worker.isDead() ? resolve() : m.worker.once('exit', () => resolve()))));
      for (const m of this.members.values()) m.worker.process.kill('SIGTERM');
      const timer = setTimeout(() => {
        for (const m of this.members.values()) m.worker.process.kill('SIGKILL');
      }, deadline);
      await Promise.all(exits);
      clearTimeout(timer);
      await this.store.close();
      this.finish(code);
    })();
    return this.stopping;
  }

  /** SIGHUP: every worker reloads its TLS certificate. */
  reloadTls(): void {
    for (const m of this.members.values()) m.worker.process.kill('SIGHUP');
  }
}
