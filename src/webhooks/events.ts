/**
 * Turns engine observer calls into Pusher webhook events (spec C.2, C.3):
 * - channel_vacated and member_removed are *held* for `vacateDelayMs`; channel_occupied and
 *   member_added carry a matching *cancel key*: if the channel is re-occupied / the user rejoins
 *   before the hold ends, neither the removal nor the re-add is reported (Pusher semantics). The
 *   hold and the cancellation happen in the outbox (outbox.ts), so they survive a restart and
 *   work across nodes sharing PostgreSQL;
 * - cache_miss is reported once per channel while misses keep coming (many clients hitting the
 *   same empty cache channel make one webhook), again after a publish or `cacheMissDedupeMs`;
 * - internal `#server-to-user-*` channels never produce webhooks.
 * Called on the engine's hot path: apps without webhooks return at the first line, and nothing
 * here blocks or throws.
 */
import type { App } from '../apps/app.js';
import type { EngineObserver } from '../channels/observer.js';
import { serviceKey } from '../platform/module-graph.js';

export type WebhookEvent =
  | { name: 'channel_occupied' | 'channel_vacated' | 'cache_miss'; channel: string }
  | { name: 'member_added' | 'member_removed'; channel: string; user_id: string }
  | { name: 'client_event'; channel: string; event: string; data: string; socket_id: string; user_id?: string }
  | { name: 'subscription_count'; channel: string; subscription_count: number };

/** How an event interacts with the vacate window. */
export interface EventTiming {
  /** Report only after `ms`, unless an event with `cancels === key` arrives first. */
  hold?: { key: string; ms: number };
  /** Cancels a held event with this key; when one was cancelled, this event is not reported either. */
  cancels?: string;
}

/** Receives every event, with the time it happened (unix ms). */
export type WebhookEventSink = (app: App, event: WebhookEvent, happenedAt: number, timing: EventTiming) => void;

export interface WebhookEventSourceOptions {
  vacateDelayMs: number;
  sink: WebhookEventSink;
  now?: () => number;
  cacheMissDedupeMs?: number;
  /**
   * Decides instead of this source whether a cache miss is reported (the node's hub, when the
   * node runs several workers: one report per node, not one per worker). Absent: decided here.
   */
  cacheMissGate?: CacheMissGate;
}

/** Resolves true when the miss of `channel` is news for the node (see cacheMissDedupeMs). */
export type CacheMissGate = (appId: string, channel: string) => Promise<boolean>;

/**
 * The node's CacheMissGate, provided by a worker of a multi-worker node. Declared here, by the
 * capability that offers the extension point, so webhooks/ never imports workers/ (above it).
 */
export const CACHE_MISS_GATE_SERVICE = serviceKey<CacheMissGate>('webhooks:cache-miss-gate');

const MAX_CACHE_MISS_ENTRIES = 50_000;
const NO_TIMING: EventTiming = {};

export class WebhookEventSource implements EngineObserver {
  private readonly sink: WebhookEventSink;
  private readonly delayMs: number;
  private readonly now: () => number;
  private readonly cacheMissDedupeMs: number;
  private readonly cacheMisses = new Map<string, number>();
  private readonly cacheMissGate: CacheMissGate | undefined;

  constructor(options: WebhookEventSourceOptions) {
    this.cacheMissGate = options.cacheMissGate;
    this.sink = options.sink;
    this.delayMs = options.vacateDelayMs;
    this.now = options.now ?? Date.now;
    this.cacheMissDedupeMs = options.cacheMissDedupeMs ?? 5000;
  }

  channelOccupied(app: App, channel: string): void {
    if (!wanted(app, channel)) return;
    this.emit(app, { name: 'channel_occupied', channel }, this.cancelling(vacancyKey(channel)));
  }

  channelVacated(app: App, channel: string): void {
    if (!wanted(app, channel)) return;
    this.cacheMisses.delete(cacheKey(app, channel));
    this.emit(app, { name: 'channel_vacated', channel }, this.held(vacancyKey(channel)));
  }

  memberAdded(app: App, channel: string, userId: string, _userInfo?: unknown): void {
    if (!wanted(app, channel)) return;
    this.emit(app, { name: 'member_added', channel, user_id: userId }, this.cancelling(departureKey(channel, userId)));
  }

  memberRemoved(app: App, channel: string, userId: string): void {
    if (!wanted(app, channel)) return;
    this.emit(app, { name: 'member_removed', channel, user_id: userId }, this.held(departureKey(channel, userId)));
  }

  clientEvent(app: App, channel: string, event: string, data: string, socketId: string, userId?: string): void {
    if (!wanted(app, channel)) return;
    const webhook: WebhookEvent = { name: 'client_event', channel, event, data, socket_id: socketId };
    // user_id only on presence channels (the engine passes it only there).
    if (userId !== undefined) webhook.user_id = userId;
    this.emit(app, webhook, NO_TIMING);
  }

  cacheMiss(app: App, channel: string): void {
    if (!wanted(app, channel)) return;
    const now = this.now();
    if (this.cacheMissGate) {
      this.cacheMissGate(app.id, channel).then(
        (news) => news && this.sink(app, { name: 'cache_miss', channel }, now, NO_TIMING),
        () => undefined, // the hub is gone (the worker is stopping): nothing to report to
      );
      return;
    }
    const key = cacheKey(app, channel);
    const last = this.cacheMisses.get(key);
    if (last !== undefined && now - last < this.cacheMissDedupeMs) return;
    if (this.cacheMisses.size >= MAX_CACHE_MISS_ENTRIES) this.cacheMisses.clear();
    this.cacheMisses.set(key, now);
    this.emit(app, { name: 'cache_miss', channel }, NO_TIMING);
  }

  subscriptionCount(app: App, channel: string, count: number): void {
    if (!wanted(app, channel)) return;
    this.emit(app, { name: 'subscription_count', channel, subscription_count: count }, NO_TIMING);
  }

  published(app: App, channel: string, _event: string, _data: string, _recipients: number, source: 'api' | 'client'): void {
    // An API publish fills the cache: the next miss on this channel is news again. Client events
    // are never cached (spec A.10), so after one the channel is as empty as before.
    if (source !== 'api') return;
    if (this.cacheMisses.size > 0 && app.webhooks.length > 0) this.cacheMisses.delete(cacheKey(app, channel));
  }

  private emit(app: App, event: WebhookEvent, timing: EventTiming): void {
    this.sink(app, event, this.now(), timing);
  }

  private held(key: string): EventTiming {
    return this.delayMs > 0 ? { hold: { key, ms: this.delayMs } } : NO_TIMING;
  }

  private cancelling(key: string): EventTiming {
    return this.delayMs > 0 ? { cancels: key } : NO_TIMING;
  }
}

function wanted(app: App, channel: string): boolean {
  return app.webhooks.length > 0 && !channel.startsWith('#');
}

/** Keys are scoped to (app, endpoint) by the outbox; stored as TEXT, so JSON (no NUL bytes). */
function vacancyKey(channel: string): string {
  return JSON.stringify(['vacated', channel]);
}

function departureKey(channel: string, userId: string): string {
  return JSON.stringify(['removed', channel, userId]);
}

function cacheKey(app: App, channel: string): string {
  return `${app.id}\0${channel}`;
}
