/**
 * The hub of a multi-worker node, independent of how workers run (node:cluster processes in
 * production, in-process engines in tests): it keeps the node's cluster state, relays broker
 * messages, serves the embedded store, counts API rate limits for the whole node and sums the
 * workers' metrics. Each worker is attached with the IPC peer that reaches it.
 */
import { AggregatorRegistry } from 'prom-client';
import type { JoinRequest } from '../scaling/cluster-state.js';
import type { Database } from '../storage/database.js';
import { TokenBuckets } from '../platform/token-buckets.js';
import { HubClusterState } from './hub-state.js';
import { ConnectionCountsHub } from './connection-counts.js';
import { isChannelControl, type ChannelEvent, type ControlMessage } from '../scaling/broker.js';
import { CONTROL_OP, EVENT_OP, SUBSCRIBE_OP, UNSUBSCRIBE_OP } from './ipc-broker.js';
import type { IpcPeer } from '../platform/ipc.js';
import { DatabaseHost } from './remote-database.js';
import { APPS_CHANGED, CACHE_MISS_OP, USAGE_FLUSH, USAGE_FLUSH_ALL } from '../core/worker-services.js';
import { RELAY_EVENT_OP, RELAY_WANTED_OP, RELAY_WATCH_OP, type RelayedEvent } from './observer-relay.js';
import type { ClusterChanges } from '../scaling/cluster-state.js';

interface Attached {
  node: string;
  peer: IpcPeer;
  /** Receives relayed control messages (once it serves clients). */
  ready: boolean;
}

const CACHE_SWEEP_MS = 60_000;
/** A cache channel's miss is reported again after this long (WebhookEventSource's default). */
const CACHE_MISS_DEDUPE_MS = 5000;
const MAX_CACHE_MISS_ENTRIES = 50_000;

export class NodeHub {
  readonly state = new HubClusterState();
  private readonly store: DatabaseHost;
  private readonly workers = new Map<string, Attached>();
  private readonly rateLimits = new TokenBuckets();
  private readonly connections = new ConnectionCountsHub();
  /** `${appId}\n${channel}` → workers with subscribers on it (per-channel interest). */
  private readonly interest = new Map<string, Set<Attached>>();
  private readonly interestOf = new Map<Attached, Set<string>>();
  /** appId → workers watching its observer events (ObserverRelay). */
  private readonly relayWatchers = new Map<string, Set<Attached>>();
  /** `${appId}\n${channel}` → when the node last reported a miss of that cache channel. */
  private readonly cacheMisses = new Map<string, number>();
  private readonly sweepTimer: NodeJS.Timeout;

  constructor(
    database: () => Promise<Database>,
    private readonly now: () => number = Date.now,
  ) {
    this.store = new DatabaseHost(database);
    this.sweepTimer = setInterval(() => this.state.sweep(), CACHE_SWEEP_MS);
    this.sweepTimer.unref();
  }

  attach(node: string, peer: IpcPeer): void {
    const attached: Attached = { node, peer, ready: false };
    this.interestOf.set(attached, new Set());
    this.workers.set(node, attached);
    this.state.addNode(node);
    this.serveClusterState(node, peer);
    this.store.serve(peer, node);
    this.connections.attach(node, peer);
    this.serveBus(attached);
    this.serveRelay(attached);
    // An app changed through one worker: every other worker re-reads it before the call returns.
    peer.handle(APPS_CHANGED, async (id) => {
      const others = [...this.workers.values()].filter((w) => w !== attached);
      await Promise.all(others.map((w) => w.peer.request(APPS_CHANGED, id, 10_000).catch(() => undefined)));
    });
    peer.handle(USAGE_FLUSH_ALL, async () => {
      const others = [...this.workers.values()].filter((w) => w !== attached && w.ready);
      await Promise.all(others.map((w) => w.peer.request(USAGE_FLUSH, undefined, 10_000).catch(() => undefined)));
    });
    peer.handle('metrics.aggregate', () => this.aggregateMetrics());
    peer.handle('rate.lease', (args) => {
      const { key, perSecond, want } = args as { key: string; perSecond: number; want: number };
      return this.lease(key, perSecond, want);
    });
  }

  /** The worker serves clients: relay broker messages to it from now on. */
  ready(node: string): void {
    const attached = this.workers.get(node);
    if (!attached) return;
    attached.ready = true;
    // Its relay handler is registered now: which apps other workers watch.
    for (const [appId, watchers] of this.relayWatchers) if (watchers.size > 0) attached.peer.notify(RELAY_WANTED_OP, { appId, wanted: true });
  }

  /**
   * The worker is gone (died, or stopped): its open transactions are rolled back and what its
   * clients contributed is removed. When it died, one surviving worker is told, so member_removed
   * and channel_vacated are broadcast and observed (webhooks) once, as when a node dies.
   */
  detach(node: string, died: boolean): Array<{ appId: string; changes: ClusterChanges }> {
    const attached = this.workers.get(node);
    this.workers.delete(node);
    if (attached) {
      attached.peer.close('worker exited');
      for (const key of this.interestOf.get(attached) ?? []) this.unsubscribe(attached, key);
      this.interestOf.delete(attached);
      for (const [appId, watchers] of this.relayWatchers) if (watchers.has(attached)) void this.watchRelay(attached, appId, false);
    }
    this.store.release(node);
    this.connections.detach(node);
    const removed = this.state.removeNode(node);
    if (died && removed.length) [...this.workers.values()].find((w) => w.ready)?.peer.notify('cluster.reaped', removed);
    return removed;
  }

  stop(): void {
    clearInterval(this.sweepTimer);
  }

  /**
   * Channel events go once to each other worker subscribed to the channel; channel control
   * messages (member, subscription-count) likewise; app-wide control (terminate, user status)
   * to every other worker.
   */
  private serveBus(from: Attached): void {
    const { peer } = from;
    peer.handle(EVENT_OP, (args) => {
      const event = args as ChannelEvent;
      const key = `${event.appId}\n${event.channel}`;
      for (const to of this.interest.get(key) ?? []) if (to !== from) to.peer.notify(EVENT_OP, event);
      // An API publish fills the cache: the next miss is news again (client events are never cached).
      if (this.cacheMisses.size > 0 && event.source === 'api') this.cacheMisses.delete(key);
    });
    peer.handle(CONTROL_OP, (args) => {
      const message = args as ControlMessage;
      const targets = isChannelControl(message) ? (this.interest.get(`${message.appId}\n${message.channel}`) ?? []) : this.workers.values();
      for (const to of targets) if (to !== from && to.ready) to.peer.notify(CONTROL_OP, message);
    });
    peer.handle(SUBSCRIBE_OP, (args) => {
      const { appId, channel } = args as { appId: string; channel: string };
      const key = `${appId}\n${channel}`;
      let set = this.interest.get(key);
      if (!set) this.interest.set(key, (set = new Set()));
      set.add(from);
      this.interestOf.get(from)?.add(key);
    });
    peer.handle(UNSUBSCRIBE_OP, (args) => {
      const { appId, channel } = args as { appId: string; channel: string };
      this.unsubscribe(from, `${appId}\n${channel}`);
    });
  }

  private unsubscribe(from: Attached, key: string): void {
    const set = this.interest.get(key);
    set?.delete(from);
    if (set?.size === 0) this.interest.delete(key);
    this.interestOf.get(from)?.delete(key);
  }

  /**
   * Observer events relayed between workers (observer-relay.ts): a worker watching an app makes
   * every other one forward that app's events; they go to the app's watchers only.
   */
  private serveRelay(from: Attached): void {
    from.peer.handle(RELAY_WATCH_OP, (args) => {
      const { appId, watching } = args as { appId: string; watching: boolean };
      return this.watchRelay(from, String(appId), watching === true);
    });
    from.peer.handle(RELAY_EVENT_OP, (args) => {
      const message = args as RelayedEvent;
      for (const to of this.relayWatchers.get(message?.appId) ?? []) if (to !== from) to.peer.notify(RELAY_EVENT_OP, message);
    });
    from.peer.handle(CACHE_MISS_OP, (args) => {
      const { appId, channel } = args as { appId: string; channel: string };
      return this.cacheMissIsNews(`${appId}\n${channel}`);
    });
  }

  /** Settles once every other worker knows whether it forwards `appId`'s events. */
  private async watchRelay(from: Attached, appId: string, watching: boolean): Promise<void> {
    let watchers = this.relayWatchers.get(appId);
    if (watching) {
      if (!watchers) this.relayWatchers.set(appId, (watchers = new Set()));
      watchers.add(from);
    } else {
      watchers?.delete(from);
      if (watchers?.size === 0) this.relayWatchers.delete(appId);
    }
    const tell = [...this.workers.values()].map((w) => {
      const wanted = [...(this.relayWatchers.get(appId) ?? [])].some((other) => other !== w);
      return w.peer.request(RELAY_WANTED_OP, { appId, wanted }, 10_000).catch(() => undefined);
    });
    await Promise.all(tell);
  }

  /** One cache_miss per node and channel while misses keep coming; again after a publish, a vacancy or the window. */
  private cacheMissIsNews(key: string): boolean {
    const now = this.now();
    const last = this.cacheMisses.get(key);
    if (last !== undefined && now - last < CACHE_MISS_DEDUPE_MS) return false;
    if (this.cacheMisses.size >= MAX_CACHE_MISS_ENTRIES) this.cacheMisses.clear();
    this.cacheMisses.set(key, now);
    return true;
  }

  /** Up to `want` tokens of the node-wide bucket of `key` (see LeasedBuckets). */
  private lease(key: string, perSecond: number, want: number): number {
    let granted = 0;
    while (granted < want && this.rateLimits.take(key, perSecond)) granted++;
    return granted;
  }

  private serveClusterState(node: string, peer: IpcPeer): void {
    const hub = this.state;
    type A = { appId: string; channel: string };
    peer.handle('cluster.join', (args) => hub.join(node, args as JoinRequest));
    peer.handle('cluster.leave', (args) => {
      const a = args as A & { userId?: string };
      const result = hub.leave(node, a.appId, a.channel, a.userId);
      if (result.vacated && this.cacheMisses.size > 0) this.cacheMisses.delete(`${a.appId}\n${a.channel}`);
      return result;
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

  /** Sum of every worker's metrics, in Prometheus text form (prom-client's cluster aggregation). */
  private async aggregateMetrics(): Promise<string> {
    const ready = [...this.workers.values()].filter((w) => w.ready);
    const all = await Promise.all(ready.map((w) => w.peer.request<unknown[]>('metrics.json', undefined, 5000).catch(() => [])));
    return AggregatorRegistry.aggregate(all as never).metrics();
  }
}
