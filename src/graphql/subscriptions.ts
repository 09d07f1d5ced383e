/**
 * Live sources of the GraphQL subscriptions, fed by the same engine that serves WebSocket clients
 * (`engine.observe`). One observer for the whole module dispatches to the subscribers of each app,
 * so an app nobody watches costs one Map lookup per engine event.
 *
 * Webhook events come from the webhooks capability's own WebhookEventSource (the rules that turn
 * engine events into webhooks: which events wait out the vacate delay, cache-miss de-duplication,
 * no `#` channels), fed only for apps with webhookEvents subscribers, whether or not the app has
 * webhook endpoints; HeldEvents applies the vacate window in memory.
 *
 * In a worker of a multi-worker node the same observer also gets the events of the node's other
 * workers (ObserverRelay), for the apps this worker has subscribers of, so a subscriber sees the
 * node as on a one-worker node.
 */
import type { App, WebhookEndpoint } from '../apps/app.js';
import type { AppRegistry } from '../apps/registry.js';
import type { ChannelsEngine } from '../channels/engine.js';
import type { EngineObserver, ObserverRelay, RelayWatch } from '../channels/observer.js';
import { WebhookEventSource, type WebhookEvent } from '../webhooks/events.js';
import { GRAPHQL_LIMITS } from './limits.js';
import { EventStream } from './streams.js';
import { HeldEvents } from './webhook-hold.js';

export interface LiveEvent {
  channel: string;
  name: string;
  data: string;
  source: 'api' | 'client';
  at: Date;
}

export interface LiveMemberEvent {
  type: 'MEMBER_ADDED' | 'MEMBER_REMOVED';
  channel: string;
  member: { id: string; info: unknown };
  at: Date;
}

export interface LiveConnectionEvent {
  appId: string;
  state: 'CONNECTED' | 'DISCONNECTED' | 'FAILED';
  previousState: 'CONNECTING' | 'CONNECTED' | null;
  connection: { socketId: string; appId: string; state: 'CONNECTED' | 'DISCONNECTED' } | null;
  data: { closeCode: number | null; reason: string | null; remoteAddress: string | null };
  at: Date;
}

export interface LiveWebhook {
  appId: string;
  timeMs: number;
  events: WebhookEvent[];
}

type Listener =
  | { kind: 'channel'; channel: string; events?: ReadonlySet<string>; stream: EventStream<LiveEvent> }
  | { kind: 'presence'; channel: string; stream: EventStream<LiveMemberEvent> }
  | { kind: 'connection'; stream: EventStream<LiveConnectionEvent> }
  | { kind: 'webhook'; types?: ReadonlySet<string>; channelPrefix?: string; stream: EventStream<LiveWebhook> };

/** Stands in for an endpoint so the webhook rules run for apps without one; nothing is ever sent to it. */
const SUBSCRIBER_ENDPOINT: WebhookEndpoint = { url: 'http://graphql-subscription.invalid/' };

export class EngineStreams {
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly webhookWatchers = new Map<string, number>();
  private readonly webhookSource: WebhookEventSource;
  private readonly webhookHold: HeldEvents<LiveWebhook>;
  private readonly appViews = new WeakMap<App, App>();
  private readonly unobserve: () => void;
  private readonly observing: EngineObserver;
  /** appId → the relay of the node's other workers' events, while the app has subscribers here. */
  private readonly relayed = new Map<string, RelayWatch>();

  constructor(
    engine: ChannelsEngine,
    private readonly apps: AppRegistry,
    vacateDelayMs: number,
    private readonly maxQueued: number = GRAPHQL_LIMITS.maxQueuedEvents,
    private readonly relay?: ObserverRelay,
  ) {
    this.webhookHold = new HeldEvents((webhook) => this.onWebhook(webhook));
    this.webhookSource = new WebhookEventSource({
      vacateDelayMs,
      sink: (app, event, at, timing) => this.webhookHold.offer(app.id, { appId: app.id, timeMs: at, events: [event] }, timing),
    });
    this.observing = this.observer();
    this.unobserve = engine.observe(this.observing);
  }

  /**
   * Subscriptions started since the module started (monotonic; tests wait on it). With a relay,
   * counted once the other workers forward the app's events too.
   */
  started = 0;

  /** Number of active subscriptions (tests, stats). */
  get size(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }

  channelEvents(appId: string, channel: string, events?: string[]): EventStream<LiveEvent> {
    const stream = this.stream<LiveEvent>(appId, (s) => ({ kind: 'channel', channel, events: events ? new Set(events) : undefined, stream: s }));
    return stream;
  }

  presenceEvents(appId: string, channel: string): EventStream<LiveMemberEvent> {
    return this.stream<LiveMemberEvent>(appId, (s) => ({ kind: 'presence', channel, stream: s }));
  }

  connectionEvents(appId: string): EventStream<LiveConnectionEvent> {
    return this.stream<LiveConnectionEvent>(appId, (s) => ({ kind: 'connection', stream: s }));
  }

  webhookEvents(appId: string, types?: string[], channelPrefix?: string): EventStream<LiveWebhook> {
    this.webhookWatchers.set(appId, (this.webhookWatchers.get(appId) ?? 0) + 1);
    let released = false;
    const stream = this.stream<LiveWebhook>(
      appId,
      (s) => ({ kind: 'webhook', types: types ? new Set(types) : undefined, channelPrefix: channelPrefix || undefined, stream: s }),
      () => {
        if (released) return;
        released = true;
        const left = (this.webhookWatchers.get(appId) ?? 1) - 1;
        if (left > 0) this.webhookWatchers.set(appId, left);
        else this.webhookWatchers.delete(appId);
      },
    );
    return stream;
  }

  close(): void {
    this.unobserve();
    for (const watch of this.relayed.values()) watch.stop();
    this.relayed.clear();
    this.webhookHold.clear();
    for (const set of [...this.listeners.values()]) for (const l of [...set]) l.stream.return();
    this.listeners.clear();
  }

  // ---- internals ------------------------------------------------------------------------------

  private stream<T>(appId: string, make: (stream: EventStream<T>) => Listener, onDetach?: () => void): EventStream<T> {
    let listener: Listener | undefined;
    const stream = new EventStream<T>(this.maxQueued, () => {
      const set = this.listeners.get(appId);
      if (set && listener && set.delete(listener) && set.size === 0) {
        this.listeners.delete(appId);
        this.relayed.get(appId)?.stop();
        this.relayed.delete(appId);
      }
      onDetach?.();
    });
    listener = make(stream);
    let set = this.listeners.get(appId);
    if (!set) this.listeners.set(appId, (set = new Set()));
    set.add(listener);
    let watch = this.relayed.get(appId);
    if (!watch && this.relay) this.relayed.set(appId, (watch = this.relay.watch(appId, this.observing)));
    if (watch) void watch.ready.then(() => this.started++);
    else this.started++;
    return stream;
  }

  private each(appId: string, kind: Listener['kind'], fn: (listener: Listener) => void): void {
    const set = this.listeners.get(appId);
    if (!set) return;
    for (const listener of set) if (listener.kind === kind) fn(listener);
  }

  /** The app as the webhook rules should see it: with an endpoint, so they run for subscribers. */
  private webhookView(app: App): App {
    if (app.webhooks.length > 0) return app;
    let view = this.appViews.get(app);
    if (!view) {
      view = { ...app, webhooks: [SUBSCRIBER_ENDPOINT] };
      this.appViews.set(app, view);
    }
    return view;
  }

  private onWebhook(webhook: LiveWebhook): void {
    const event = webhook.events[0]!;
    this.each(webhook.appId, 'webhook', (l) => {
      if (l.kind !== 'webhook') return;
      if (l.types && !l.types.has(event.name.toUpperCase())) return;
      if (l.channelPrefix && !event.channel.startsWith(l.channelPrefix)) return;
      l.stream.push(webhook);
    });
  }

  private observer(): EngineObserver {
    const source = this.webhookSource;
    const relay = this.relay;
    const watched = (app: App) => this.webhookWatchers.has(app.id);
    const connectionEvent = (app: App, event: Omit<LiveConnectionEvent, 'appId' | 'at'>) => {
      this.each(app.id, 'connection', (l) => l.kind === 'connection' && l.stream.push({ appId: app.id, at: new Date(), ...event }));
    };
    return {
      published: (app, channel, event, data, recipients, origin) => {
        // Also reported by the worker it was published on, through the relay.
        if (relay?.publishedElsewhere) return;
        this.each(app.id, 'channel', (l) => {
          if (l.kind !== 'channel' || l.channel !== channel || (l.events && !l.events.has(event))) return;
          l.stream.push({ channel, name: event, data, source: origin, at: new Date() });
        });
        if (watched(app)) source.published(this.webhookView(app), channel, event, data, recipients, origin);
      },
      memberAdded: (app, channel, userId, userInfo) => {
        this.each(app.id, 'presence', (l) => {
          if (l.kind === 'presence' && l.channel === channel) l.stream.push({ type: 'MEMBER_ADDED', channel, member: { id: userId, info: userInfo ?? null }, at: new Date() });
        });
        if (watched(app)) source.memberAdded(this.webhookView(app), channel, userId);
      },
      memberRemoved: (app, channel, userId) => {
        this.each(app.id, 'presence', (l) => {
          if (l.kind === 'presence' && l.channel === channel) l.stream.push({ type: 'MEMBER_REMOVED', channel, member: { id: userId, info: null }, at: new Date() });
        });
        if (watched(app)) source.memberRemoved(this.webhookView(app), channel, userId);
      },
      connectionOpened: (app, conn) => {
        connectionEvent(app, {
          state: 'CONNECTED',
          // pusher-js's own transition (connecting → connected); the server sees only its end.
          previousState: 'CONNECTING',
          connection: { socketId: conn.socketId, appId: app.id, state: 'CONNECTED' },
          data: { closeCode: null, reason: null, remoteAddress: conn.remoteAddress ?? null },
        });
      },
      connectionClosed: (app, conn, code) => {
        connectionEvent(app, {
          state: 'DISCONNECTED',
          previousState: 'CONNECTED',
          connection: { socketId: conn.socketId, appId: app.id, state: 'DISCONNECTED' },
          data: { closeCode: code ?? null, reason: null, remoteAddress: conn.remoteAddress ?? null },
        });
      },
      connectionRefused: (appKey, code, reason) => {
        // Only refusals of a known app concern a subscriber (unknown keys belong to nobody).
        const app = this.apps.byKey(appKey);
        if (!app) return;
        connectionEvent(app, { state: 'FAILED', previousState: null, connection: null, data: { closeCode: code, reason, remoteAddress: null } });
      },
      channelOccupied: (app, channel) => {
        if (watched(app)) source.channelOccupied(this.webhookView(app), channel);
      },
      channelVacated: (app, channel) => {
        if (watched(app)) source.channelVacated(this.webhookView(app), channel);
      },
      clientEvent: (app, channel, event, data, socketId, userId) => {
        if (watched(app)) source.clientEvent(this.webhookView(app), channel, event, data, socketId, userId);
      },
      cacheMiss: (app, channel) => {
        if (watched(app)) source.cacheMiss(this.webhookView(app), channel);
      },
      subscriptionCount: (app, channel, count) => {
        if (watched(app)) source.subscriptionCount(this.webhookView(app), channel, count);
      },
    };
  }
}
