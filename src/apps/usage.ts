/**
 * Per-app stats, usage and quotas. The hot path only increments counters in memory; a timer adds
 * them to the store every few seconds (and on drain), then reads back today's totals from every
 * node, which is what the daily message quota is checked against (plus what is not yet flushed).
 */
import type { App } from './app.js';
import { CloseCode } from '../protocol/errors.js';
import type { Logger } from '../platform/logger.js';
import { addCounters, emptyCounters, utcDay, type DailyUsage, type UsageCounters, type UsageStore } from './usage-store.js';
import { quotaExceeded } from '../platform/errors.js';

/**
 * What the tracker reads from the engine (the ChannelsEngine has it). Declared here, not imported,
 * because apps/ sits below channels/ (docs/architecture.md, "Layers"): the engine reads apps.
 */
export interface EngineCounts {
  readonly apps: { list(): readonly App[] };
  connectionCount(appId: string): number;
  subscriptionCount(appId: string, channel: string): number;
  occupiedChannels(appId: string): readonly string[];
}

/** The part of a validated publish (http-api's ValidEvent) the daily quota estimate needs. */
export interface PublishedEvent {
  readonly channels: readonly string[];
  readonly info: readonly string[];
}

export interface UsageTrackerOptions {
  engine: EngineCounts;
  /**
   * Opens (creating if need be) the store and attach()es it; called by a periodic flush that has
   * something to save while no store is attached. Until then counters live in memory only.
   */
  openStore?: () => Promise<void>;
  /**
   * Flushes call openStore only once the tracker has run this long, so short-lived servers
   * (tests, CI, one-off runs) never create a database just for counters (default 60 s).
   */
  createStoreAfterMs?: number;
  nodeId: string;
  /** Exchange connection counts with other nodes through the store (PostgreSQL). */
  cluster: boolean;
  /**
   * A worker of a multi-worker node: has every other worker flush its counters, so what this
   * one reads next is the node's (see settled()).
   */
  flushOtherWorkers?: () => Promise<void>;
  flushIntervalMs: number;
  logger: Logger;
  now?: () => number;
}

export interface AppStats {
  appId: string;
  connections: {
    /** Connections now, on every node (other nodes as of their last report). */
    current: number;
    /** Connections on this node. */
    local: number;
    peakToday: number;
  };
  /** Occupied channels on this node. */
  occupiedChannels: number;
  today: DailyUsage;
  quotas: {
    dailyMessages: { limit: number; used: number; remaining: number | null };
    maxConnections: { limit: number; current: number; remaining: number | null };
  };
  /** When counters were last written to the store (null: not yet, or no store). */
  flushedAt: string | null;
}

interface Pending {
  appId: string;
  day: string;
  counters: UsageCounters;
}

const DAY_MS = 86_400_000;

export class UsageTracker {
  private pending = new Map<string, Pending>();
  /** The entry counters() returned last, and the pending map it belongs to (see counters()). */
  private lastEntry: Pending | undefined;
  private lastEntryOf: Map<string, Pending> | undefined;
  private inFlight = new Map<string, Pending>();
  /** Today's totals as stored (all nodes), refreshed after each flush. */
  private stored = new Map<string, DailyUsage>();
  private storedDay = '';
  private otherNodes = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private failing = false;
  private flushedAt: string | null = null;
  private store: UsageStore | undefined;
  private openWarned = false;
  private startedAt = 0;
  private prunedDay = '';
  private day = '';
  private nextDayAt = 0;
  private readonly now: () => number;

  constructor(private readonly options: UsageTrackerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Starts the periodic flush. */
  start(): void {
    this.startedAt = this.now();
    this.timer = setInterval(() => void this.flush({ create: true }), this.options.flushIntervalMs);
    this.timer.unref();
  }

  /** Saves counters to `store` from now on; loads today's totals (so quotas survive restarts). */
  async attach(store: UsageStore): Promise<void> {
    this.store = store;
    await this.refresh(this.today());
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
    if (this.store && this.options.cluster) await this.store.forgetNode(this.options.nodeId).catch(() => undefined);
  }

  // ---- hot path: memory only -----------------------------------------------------------

  private today(): string {
    const now = this.now();
    if (now >= this.nextDayAt) {
      this.day = utcDay(now);
      this.nextDayAt = (Math.floor(now / DAY_MS) + 1) * DAY_MS;
    }
    return this.day;
  }

  private counters(appId: string): UsageCounters {
    const day = this.today();
    // Two calls per publish for the same app: the last entry is reused while it is still the
    // pending one of that app and day, saving a key string and its hashing per call.
    const last = this.lastEntry;
    if (last !== undefined && last.appId === appId && last.day === day && this.lastEntryOf === this.pending) return last.counters;
    const key = `${appId}\n${day}`;
    let entry = this.pending.get(key);
    if (!entry) {
      entry = { appId, day, counters: emptyCounters() };
      this.pending.set(key, entry);
    }
    this.lastEntry = entry;
    this.lastEntryOf = this.pending;
    return entry.counters;
  }

  /** Connections on other nodes (PostgreSQL clusters; 0 on a single node). */
  otherNodeConnections(appId: string): number {
    return this.otherNodes.get(appId) ?? 0;
  }

  clusterConnections(appId: string): number {
    return this.options.engine.connectionCount(appId) + this.otherNodeConnections(appId);
  }

  connectionOpened(app: App): void {
    const c = this.counters(app.id);
    c.connections++;
    c.peakConnections = Math.max(c.peakConnections, this.clusterConnections(app.id));
  }

  delivered(app: App, recipients: number): void {
    if (recipients > 0) this.counters(app.id).messagesDelivered += recipients;
  }

  clientEvent(app: App): void {
    const c = this.counters(app.id);
    c.messagesSent++;
    c.clientEvents++;
  }

  apiCall(app: App): void {
    this.counters(app.id).apiCalls++;
  }

  webhooksSent(appId: string, count = 1): void {
    if (count > 0) this.counters(appId).webhooksSent += count;
  }

  /** Pusher-style messages today (sent + delivered), all nodes, flushed or not. */
  messagesToday(appId: string): number {
    const day = this.today();
    const key = `${appId}\n${day}`;
    let total = this.storedDay === day ? (this.stored.get(appId)?.messages ?? 0) : 0;
    for (const map of [this.inFlight, this.pending]) {
      const c = map.get(key)?.counters;
      if (c) total += c.messagesSent + c.messagesDelivered;
    }
    return total;
  }

  /**
   * HTTP publish admission: refuses (`quota`) when the publish would take today's messages above
   * the daily quota. Estimate: per channel, one message sent plus one per local subscriber.
   * A publish with `info` counts one more message, as Pusher bills it (seed 003: "counts as two").
   */
  checkPublish(app: App, events: readonly PublishedEvent[]): void {
    let sent = 0;
    let estimate = 0;
    for (const event of events) {
      for (const channel of event.channels) {
        sent++;
        estimate += 1 + this.options.engine.subscriptionCount(app.id, channel);
      }
      if (event.info.length > 0) {
        sent++;
        estimate++;
      }
    }
    const quota = app.quotas.dailyMessages;
    if (quota > 0) {
      const used = this.messagesToday(app.id);
      if (used + estimate > quota) {
        throw quotaExceeded(
          `Daily message quota exceeded for app ${app.id}: ${used} of ${quota} messages used today (UTC) and this publish needs about ${estimate}. The count resets at 00:00 UTC.`,
          { code: 'daily_message_quota_exceeded' },
        );
      }
    }
    this.counters(app.id).messagesSent += sent;
  }

  /** Connection admission against the cluster-wide connection quota (4004 beyond it). */
  admit(app: App, localConnections: number): { code: number; reason: string } | undefined {
    const quota = app.quotas.maxConnections;
    if (quota > 0 && localConnections + this.otherNodeConnections(app.id) >= quota) {
      return { code: CloseCode.OverConnectionQuota, reason: 'Application is over connection quota' };
    }
    return undefined;
  }

  // ---- reading ---------------------------------------------------------------------------

  /** Today's usage for one app: stored totals plus what this node has not flushed yet. */
  private todayUsage(appId: string): DailyUsage {
    const day = this.today();
    const key = `${appId}\n${day}`;
    const stored = this.storedDay === day ? this.stored.get(appId) : undefined;
    const total = emptyCounters();
    if (stored) addCounters(total, stored);
    for (const map of [this.inFlight, this.pending]) {
      const c = map.get(key)?.counters;
      if (c) addCounters(total, c);
    }
    total.peakConnections = Math.max(total.peakConnections, this.clusterConnections(appId));
    return { date: day, ...total, messages: total.messagesSent + total.messagesDelivered };
  }

  stats(app: App): AppStats {
    const { engine } = this.options;
    const today = this.todayUsage(app.id);
    const current = this.clusterConnections(app.id);
    const remaining = (limit: number, used: number) => (limit > 0 ? Math.max(0, limit - used) : null);
    return {
      appId: app.id,
      connections: { current, local: engine.connectionCount(app.id), peakToday: today.peakConnections },
      occupiedChannels: engine.occupiedChannels(app.id).length,
      today,
      quotas: {
        dailyMessages: { limit: app.quotas.dailyMessages, used: today.messages, remaining: remaining(app.quotas.dailyMessages, today.messages) },
        maxConnections: { limit: app.quotas.maxConnections, current, remaining: remaining(app.quotas.maxConnections, current) },
      },
      flushedAt: this.flushedAt,
    };
  }

  /** Daily usage between two UTC days inclusive, with this node's unflushed counts merged in. */
  async history(appId: string, from: string, to: string): Promise<DailyUsage[]> {
    const byDay = new Map<string, DailyUsage>();
    if (this.store) for (const d of await this.store.history(appId, from, to)) byDay.set(d.date, d);
    const today = this.today();
    for (const map of [this.inFlight, this.pending]) {
      for (const entry of map.values()) {
        if (entry.appId !== appId || entry.day < from || entry.day > to || entry.day === today) continue;
        const day = byDay.get(entry.day) ?? { date: entry.day, ...emptyCounters(), messages: 0 };
        addCounters(day, entry.counters);
        day.messages = day.messagesSent + day.messagesDelivered;
        byDay.set(entry.day, day);
      }
    }
    if (today >= from && today <= to) {
      const usage = this.todayUsage(appId);
      if (usage.messages > 0 || usage.apiCalls > 0 || usage.connections > 0 || usage.peakConnections > 0 || byDay.has(today)) byDay.set(today, usage);
    }
    return [...byDay.values()].sort((a, b) => (a.date < b.date ? -1 : 1));
  }

  /** Forgets an app's unflushed counters (it was deleted). */
  forget(appId: string): void {
    for (const [key, entry] of this.pending) if (entry.appId === appId) this.pending.delete(key);
    this.lastEntry = undefined;
    this.stored.delete(appId);
  }

  // ---- flushing --------------------------------------------------------------------------

  /**
   * Writes pending counters to the store. Calls are queued, never run concurrently. With
   * `create`, a missing store is opened first (periodic flushes; a drain never creates one).
   */
  /**
   * Before reading stats or usage in a worker of a multi-worker node: every worker's counters
   * are flushed to the store, this one's last (so its exchange sees the others' connections).
   * Nothing to do in a one-process node.
   */
  async settled(): Promise<void> {
    if (!this.options.flushOtherWorkers) return;
    await this.options.flushOtherWorkers().catch(() => undefined);
    await this.flush();
  }

  flush(options: { create?: boolean } = {}): Promise<void> {
    this.chain = this.chain.then(() => this.flushOnce(options.create === true)).catch(() => undefined);
    return this.chain;
  }

  private localConnectionCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const app of this.options.engine.apps.list()) {
      const n = this.options.engine.connectionCount(app.id);
      if (n > 0) counts.set(app.id, n);
    }
    return counts;
  }

  private async flushOnce(create: boolean): Promise<void> {
    const { logger } = this.options;
    const mayCreate = create && this.now() - this.startedAt >= (this.options.createStoreAfterMs ?? 60_000);
    if (!this.store && mayCreate && this.pending.size > 0 && this.options.openStore) {
      try {
        await this.options.openStore();
      } catch (err) {
        // Retried at the next flush; said once.
        if (!this.openWarned) logger.warn({ err: (err as Error).message }, 'usage stats stay in memory until the app store can be opened');
        this.openWarned = true;
      }
    }
    const store = this.store;
    if (!store) return;
    const today = this.today();
    const local = this.localConnectionCounts();
    // Long-lived connections count towards the peak of a new day even if none opened today.
    for (const [appId, n] of local) {
      const c = this.counters(appId);
      c.peakConnections = Math.max(c.peakConnections, n + this.otherNodeConnections(appId));
    }
    const batch = this.pending;
    this.pending = new Map();
    this.inFlight = batch;
    try {
      await store.add([...batch.values()].map(({ appId, day, counters }) => ({ appId, day, counters })));
    } catch (err) {
      // Keep the counts for the next attempt rather than losing them.
      for (const [key, entry] of batch) {
        const existing = this.pending.get(key);
        if (existing) addCounters(existing.counters, entry.counters);
        else this.pending.set(key, entry);
      }
      this.inFlight = new Map();
      if (!this.failing) logger.warn({ err: (err as Error).message }, 'usage stats could not be saved; retrying');
      this.failing = true;
      return;
    }
    if (this.failing) logger.info('usage stats saved again');
    this.failing = false;
    this.flushedAt = new Date(this.now()).toISOString();
    try {
      if (this.options.cluster) {
        const stale = Math.max(15, (this.options.flushIntervalMs * 3) / 1000);
        this.otherNodes = await store.exchangeConnections(this.options.nodeId, local, stale);
      }
      await this.refresh(today);
      // The snapshot now includes the batch; stop counting it twice.
      this.inFlight = new Map();
      if (this.prunedDay !== today) {
        this.prunedDay = today;
        await store.prune(today);
      }
    } catch (err) {
      if (this.inFlight === batch) {
        // The batch is saved but the snapshot is stale: count it locally until the next refresh.
        for (const entry of batch.values()) {
          if (entry.day !== this.storedDay) continue;
          const usage = this.stored.get(entry.appId) ?? { date: entry.day, ...emptyCounters(), messages: 0 };
          addCounters(usage, entry.counters);
          usage.messages = usage.messagesSent + usage.messagesDelivered;
          this.stored.set(entry.appId, usage);
        }
      }
      logger.warn({ err: (err as Error).message }, 'usage totals could not be read back');
    } finally {
      this.inFlight = new Map();
    }
  }

  private async refresh(day: string): Promise<void> {
    if (!this.store) return;
    this.stored = await this.store.day(day);
    this.storedDay = day;
  }
}
