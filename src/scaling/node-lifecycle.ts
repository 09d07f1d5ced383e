/**
 * The life of a node in a networked cluster state, written once for every backend (Redis, NATS):
 * per-app registrations under a token `<node id>.<epoch>`, heartbeats, the reaper that removes a
 * dead node's contributions exactly once, eviction, and leaving cleanly at shutdown. A backend
 * supplies only the storage primitives (RegistryStore).
 *
 * If a node finds that it was reaped while still running (cut off longer than the node timeout),
 * the app's epoch moves on and `onEvicted` tells the engine, which closes that app's sockets with
 * 4200 so clients reconnect and rebuild their state; old tokens can never touch the new registration.
 */
import { hostname } from 'node:os';
import type { Logger } from '../platform/logger.js';
import type { Clock, TimerHandle } from './clock.js';
import type { ClusterChanges } from './cluster-state.js';

export interface RegistryStore {
  /** Creates the registration (it exists before any contribution made under its token). */
  register(appId: string, token: string): Promise<void>;
  /** Extends the registration; false when it was reaped meanwhile. */
  heartbeat(appId: string, token: string): Promise<boolean>;
  /** Registrations whose heartbeat expired (this node's own are skipped by the caller). */
  expired(ownApps: ReadonlySet<string>): Promise<Array<{ appId: string; token: string }>>;
  /**
   * Claims a registration and removes everything it contributed (`self`: this node leaving at
   * shutdown). Undefined when another node claimed it first: exactly one remover reports.
   */
  remove(appId: string, token: string, self: boolean): Promise<ClusterChanges | undefined>;
}

export interface NodeLifecycleOptions {
  store: RegistryStore;
  logger: Logger;
  clock: Clock;
  /** A node silent for this long is reaped. */
  nodeTimeoutMs: number;
  /** The link to the state is up. */
  linkHealthy(): boolean;
}

export class NodeLifecycle {
  readonly nodeId: string;
  private readonly registrations = new Map<string, Promise<string>>();
  private readonly tokens = new Map<string, string>();
  private readonly epochs = new Map<string, number>();
  private reapedHandler: (appId: string, changes: ClusterChanges) => void = () => undefined;
  private evictedHandler: (appId: string) => void = () => undefined;
  private timers: TimerHandle[] = [];
  /** No reaping until the node timeout has passed since (re)connecting: others need a heartbeat first. */
  private reapNotBefore = 0;
  stopped = false;

  constructor(private readonly options: NodeLifecycleOptions) {
    const suffix = Math.floor(options.clock.random() * 2 ** 32).toString(16).padStart(8, '0');
    this.nodeId = `${hostname().slice(0, 40)}:${process.pid}:${suffix}`;
  }

  start(): void {
    const { clock, nodeTimeoutMs } = this.options;
    this.reapNotBefore = clock.now() + nodeTimeoutMs;
    const every = Math.max(50, Math.floor(nodeTimeoutMs / 3));
    // Reapers on different nodes drift apart; the atomic claim makes overlaps harmless anyway.
    this.timers = [clock.setInterval(() => void this.heartbeat(), every), clock.setInterval(() => void this.reap(), every + Math.floor(clock.random() * (every / 4)))];
  }

  /** Leaves cleanly: removes this node's contributions now and reports what changed. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) this.options.clock.clearInterval(t);
    if (!this.options.linkHealthy()) return;
    for (const [appId, token] of this.tokens) {
      try {
        const changes = await this.options.store.remove(appId, token, true);
        if (changes) this.reapedHandler(appId, changes);
      } catch (err) {
        this.options.logger.warn({ err, appId }, 'could not remove this node from the cluster state');
      }
    }
    this.tokens.clear();
    this.registrations.clear();
  }

  /** The link came back: heartbeat at once, and give other nodes a timeout to do the same. */
  linkUp(): void {
    this.reapNotBefore = this.options.clock.now() + this.options.nodeTimeoutMs;
    void this.heartbeat();
  }

  onReaped(handler: (appId: string, changes: ClusterChanges) => void): void {
    this.reapedHandler = handler;
  }

  onEvicted(handler: (appId: string) => void): void {
    this.evictedHandler = handler;
  }

  /** This node's current registration for the app, made on first use. */
  token(appId: string): Promise<string> {
    let registration = this.registrations.get(appId);
    if (!registration) {
      const epoch = (this.epochs.get(appId) ?? 0) + 1;
      this.epochs.set(appId, epoch);
      const token = `${this.nodeId}.${epoch}`;
      registration = this.options.store.register(appId, token).then(() => {
        this.tokens.set(appId, token);
        return token;
      });
      registration.catch(() => {
        if (this.registrations.get(appId) === registration) this.registrations.delete(appId);
      });
      this.registrations.set(appId, registration);
    }
    return registration;
  }

  /** The token is this node's current registration for the app. */
  isCurrent(appId: string, token: string): boolean {
    return this.tokens.get(appId) === token;
  }

  /** The registration behind `token` was reaped: start a new epoch and tell the engine once. */
  evicted(appId: string, token: string): 'evicted' {
    // At shutdown this node removes itself: a late operation finding it gone is expected.
    if (!this.stopped && this.tokens.get(appId) === token) {
      this.tokens.delete(appId);
      this.registrations.delete(appId);
      this.options.logger.error(
        { appId, node: token },
        'this node was removed from the cluster state (it was cut off longer than the node timeout); its connections of the app are closed so clients reconnect',
      );
      try {
        this.evictedHandler(appId);
      } catch (err) {
        this.options.logger.error({ err }, 'eviction handler failed');
      }
    }
    return 'evicted';
  }

  /** One heartbeat round (public for tests driving a manual clock). */
  async heartbeat(): Promise<void> {
    if (this.stopped || !this.options.linkHealthy()) return;
    await Promise.all(
      [...this.tokens].map(async ([appId, token]) => {
        try {
          if (!(await this.options.store.heartbeat(appId, token))) this.evicted(appId, token);
        } catch (err) {
          this.options.logger.debug({ err, appId }, 'heartbeat failed');
        }
      }),
    );
  }

  /** One reaper round (public for tests driving a manual clock). */
  async reap(): Promise<void> {
    if (this.stopped || !this.options.linkHealthy() || this.options.clock.now() < this.reapNotBefore) return;
    try {
      const own = new Set(this.tokens.values());
      for (const { appId, token } of await this.options.store.expired(new Set(this.tokens.keys()))) {
        if (own.has(token)) continue;
        const changes = await this.options.store.remove(appId, token, false);
        if (!changes) continue; // another node claimed it first
        this.options.logger.warn(
          { appId, node: token, channels: changes.channels.length, members: changes.members.length, users: changes.usersOffline.length },
          'reaped a node that stopped heartbeating',
        );
        this.reapedHandler(appId, changes);
      }
    } catch (err) {
      this.options.logger.debug({ err }, 'reaper round failed');
    }
  }
}
