/**
 * What the console shows live, aggregated from the engine's observer events: per-app message and
 * connection rates (one bucket per second) and a bounded event log. Each browser stream receives
 * batches at most 4 times a second, capped in size, with a count of what was dropped — so 1,000+
 * events/s never reach the tab one by one.
 */
import type { App } from '../apps/app.js';
import type { ConsoleSource } from './sources.js';

export type LogKind = 'connection' | 'subscription' | 'client_event' | 'api_event' | 'presence' | 'webhook' | 'channel';

export interface LogEntry {
  at: number;
  appId: string;
  kind: LogKind;
  /** Short human-readable summary. */
  text: string;
  channel?: string;
  socketId?: string;
  event?: string;
  data?: string;
  status?: string;
  /** The node it happened on, when not the node serving the page. */
  node?: string;
}

/**
 * The other nodes' share of the feed (cluster.ts): entries this node should forward because a
 * console elsewhere watches, entries and message rates from the other nodes.
 */
export interface FeedRelay {
  /** True while a console on another node watches this app: checked per event, must be O(1). */
  wanted(appId: string): boolean;
  forward(entry: LogEntry): void;
  /** What this node's consoles watch: apps, '*' (all), or nothing. */
  watching(apps: ReadonlySet<string> | '*' | undefined): void;
  onEntries(listener: (node: string, entries: LogEntry[], dropped: Map<string, number>) => void): void;
  /** This node's messages of the second that just ended, per app. */
  localSecond(rates: Map<string, { delivered: number; published: number }>): void;
  /** The other nodes' messages reported since the last call, per app. */
  takeRemoteRates(): Map<string, { delivered: number; published: number }>;
}

export interface FeedSubscriber {
  appId?: string;
  send(kind: 'batch' | 'stats', payload: unknown): void;
}

interface AppRates {
  /** Messages delivered to sockets in the current second. */
  delivered: number;
  published: number;
  history: Array<{ t: number; delivered: number; published: number; connections: number }>;
}

const MAX_BATCH = 60;
const HISTORY_SECONDS = 120;
const DATA_PREVIEW = 300;

export class LiveFeed {
  private readonly subscribers = new Map<FeedSubscriber, { pending: LogEntry[]; dropped: number }>();
  private readonly rates = new Map<string, AppRates>();
  private flushTimer: NodeJS.Timeout | undefined;
  private statsTimer: NodeJS.Timeout | undefined;
  private unobserve: (() => void) | undefined;

  constructor(
    private readonly source: ConsoleSource,
    private readonly relay?: FeedRelay,
  ) {}

  start(): void {
    const log = (app: App, entry: Omit<LogEntry, 'at' | 'appId'>) => this.push({ at: Date.now(), appId: app.id, ...entry });
    // Log entries (texts, data previews) are built only while a console is watching, here or on
    // another node: this runs for every publish and connection, and nobody watches most of the time.
    const relay = this.relay;
    const watched = relay ? (app: App) => this.subscribers.size > 0 || relay.wanted(app.id) : () => this.subscribers.size > 0;
    relay?.onEntries((_node, entries, dropped) => this.deliverRemote(entries, dropped));
    this.unobserve = this.source.observe({
      connectionOpened: (app, c) => (this.ratesFor(app.id), watched(app) && log(app, { kind: 'connection', text: `connected ${c.remoteAddress ?? ''} via ${c.transport ?? 'ws'}`.replace('  ', ' '), socketId: c.socketId })),
      connectionClosed: (app, c, code) => watched(app) && log(app, { kind: 'connection', text: `disconnected${code ? ` (${code})` : ''}`, socketId: c.socketId }),
      subscribed: (app, channel, socketId) => watched(app) && log(app, { kind: 'subscription', text: `subscribed to ${channel}`, channel, socketId }),
      unsubscribed: (app, channel, socketId) => watched(app) && log(app, { kind: 'subscription', text: `unsubscribed from ${channel}`, channel, socketId }),
      channelOccupied: (app, channel) => watched(app) && log(app, { kind: 'channel', text: `${channel} occupied`, channel }),
      channelVacated: (app, channel) => watched(app) && log(app, { kind: 'channel', text: `${channel} vacated`, channel }),
      memberAdded: (app, channel, userId) => watched(app) && log(app, { kind: 'presence', text: `member ${userId} joined ${channel}`, channel }),
      memberRemoved: (app, channel, userId) => watched(app) && log(app, { kind: 'presence', text: `member ${userId} left ${channel}`, channel }),
      clientEvent: (app, channel, event, data, socketId) =>
        watched(app) && log(app, { kind: 'client_event', text: `${event} on ${channel}`, channel, event, data: preview(data), socketId }),
      published: (app, channel, event, data, recipients, source) => {
        const rates = this.ratesFor(app.id);
        rates.delivered += recipients;
        rates.published++;
        if (source === 'api' && watched(app)) {
          log(app, { kind: 'api_event', text: `${event} on ${channel} → ${recipients} socket${recipients === 1 ? '' : 's'}`, channel, event, data: preview(data) });
        }
      },
    });
    this.flushTimer = setInterval(() => this.flush(), 250);
    this.flushTimer.unref();
    this.statsTimer = setInterval(() => this.tickStats(), 1000);
    this.statsTimer.unref();
  }

  stop(): void {
    this.unobserve?.();
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.subscribers.clear();
  }

  /** Webhook delivery attempts come from the webhooks service, not the engine. */
  webhook(appId: string, text: string, status: string): void {
    this.push({ at: Date.now(), appId, kind: 'webhook', text, status });
  }

  subscribe(subscriber: FeedSubscriber): () => void {
    this.subscribers.set(subscriber, { pending: [], dropped: 0 });
    this.announceWatching();
    subscriber.send('stats', this.statsSnapshot(subscriber.appId));
    return () => {
      this.subscribers.delete(subscriber);
      this.announceWatching();
    };
  }

  /** Tells the other nodes which apps this node's consoles watch (they forward those entries). */
  private announceWatching(): void {
    if (!this.relay) return;
    if (this.subscribers.size === 0) return this.relay.watching(undefined);
    const apps = new Set<string>();
    for (const s of this.subscribers.keys()) {
      if (!s.appId) return this.relay.watching('*');
      apps.add(s.appId);
    }
    this.relay.watching(apps);
  }

  statsSnapshot(appId?: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [id, rates] of this.rates) {
      if (appId && id !== appId) continue;
      out[id] = { connections: this.source.connectionCount(id), history: rates.history };
    }
    if (appId && !out[appId]) out[appId] = { connections: this.source.connectionCount(appId), history: [] };
    return out;
  }

  private ratesFor(appId: string): AppRates {
    let rates = this.rates.get(appId);
    if (!rates) this.rates.set(appId, (rates = { delivered: 0, published: 0, history: [] }));
    return rates;
  }

  private push(entry: LogEntry): void {
    this.relay?.forward(entry);
    this.deliver(entry);
  }

  private deliverRemote(entries: LogEntry[], dropped: Map<string, number>): void {
    for (const entry of entries) this.deliver(entry);
    for (const [appId, n] of dropped) {
      for (const [subscriber, state] of this.subscribers) if (!subscriber.appId || subscriber.appId === appId) state.dropped += n;
    }
  }

  private deliver(entry: LogEntry): void {
    for (const [subscriber, state] of this.subscribers) {
      if (subscriber.appId && subscriber.appId !== entry.appId) continue;
      // Keep at most one batch worth per flush; the rest is only counted.
      if (state.pending.length < MAX_BATCH) state.pending.push(entry);
      else state.dropped++;
    }
  }

  private flush(): void {
    for (const [subscriber, state] of this.subscribers) {
      if (state.pending.length === 0 && state.dropped === 0) continue;
      subscriber.send('batch', { entries: state.pending, dropped: state.dropped });
      state.pending = [];
      state.dropped = 0;
    }
  }

  private tickStats(): void {
    const t = Math.floor(Date.now() / 1000);
    if (this.relay) {
      const local = new Map<string, { delivered: number; published: number }>();
      for (const [appId, r] of this.rates) if (r.delivered || r.published) local.set(appId, { delivered: r.delivered, published: r.published });
      this.relay.localSecond(local);
      // The other nodes' messages count in this second (reports arrive once a second while watched).
      for (const [appId, r] of this.relay.takeRemoteRates()) {
        const rates = this.ratesFor(appId);
        rates.delivered += r.delivered;
        rates.published += r.published;
      }
    }
    for (const [appId, rates] of this.rates) {
      rates.history.push({ t, delivered: rates.delivered, published: rates.published, connections: this.source.connectionCount(appId) });
      if (rates.history.length > HISTORY_SECONDS) rates.history.shift();
      rates.delivered = 0;
      rates.published = 0;
    }
    for (const subscriber of this.subscribers.keys()) {
      const snapshot = this.statsSnapshot(subscriber.appId);
      const latest: Record<string, unknown> = {};
      for (const [id, s] of Object.entries(snapshot) as Array<[string, { connections: number; history: unknown[] }]>) {
        latest[id] = { connections: s.connections, point: s.history[s.history.length - 1] ?? null };
      }
      subscriber.send('stats', { latest });
    }
  }
}

function preview(data: string): string {
  return data.length > DATA_PREVIEW ? `${data.slice(0, DATA_PREVIEW)}…` : data;
}
