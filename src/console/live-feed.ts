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

  constructor(private readonly source: ConsoleSource) {}

  start(): void {
    const log = (app: App, entry: Omit<LogEntry, 'at' | 'appId'>) => this.push({ at: Date.now(), appId: app.id, ...entry });
    // Log entries (texts, data previews) are built only while a console is watching: this runs
    // for every publish and connection, and nobody watches most of the time.
    const watched = () => this.subscribers.size > 0;
    this.unobserve = this.source.observe({
      connectionOpened: (app, c) => (this.ratesFor(app.id), watched() && log(app, { kind: 'connection', text: `connected ${c.remoteAddress ?? ''} via ${c.transport ?? 'ws'}`.replace('  ', ' '), socketId: c.socketId })),
      connectionClosed: (app, c, code) => watched() && log(app, { kind: 'connection', text: `disconnected${code ? ` (${code})` : ''}`, socketId: c.socketId }),
      subscribed: (app, channel, socketId) => watched() && log(app, { kind: 'subscription', text: `subscribed to ${channel}`, channel, socketId }),
      unsubscribed: (app, channel, socketId) => watched() && log(app, { kind: 'subscription', text: `unsubscribed from ${channel}`, channel, socketId }),
      channelOccupied: (app, channel) => watched() && log(app, { kind: 'channel', text: `${channel} occupied`, channel }),
      channelVacated: (app, channel) => watched() && log(app, { kind: 'channel', text: `${channel} vacated`, channel }),
      memberAdded: (app, channel, userId) => watched() && log(app, { kind: 'presence', text: `member ${userId} joined ${channel}`, channel }),
      memberRemoved: (app, channel, userId) => watched() && log(app, { kind: 'presence', text: `member ${userId} left ${channel}`, channel }),
      clientEvent: (app, channel, event, data, socketId) =>
        watched() && log(app, { kind: 'client_event', text: `${event} on ${channel}`, channel, event, data: preview(data), socketId }),
      published: (app, channel, event, data, recipients, source) => {
        const rates = this.ratesFor(app.id);
        rates.delivered += recipients;
        rates.published++;
        if (source === 'api' && watched()) {
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
    subscriber.send('stats', this.statsSnapshot(subscriber.appId));
    return () => this.subscribers.delete(subscriber);
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
