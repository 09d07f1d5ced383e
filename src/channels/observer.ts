/**
 * Things the engine reports to other capabilities (webhooks, metrics, stats, console, GraphQL).
 * Every method is optional; observers must not throw or block (the engine catches and ignores).
 */
import type { App } from '../apps/app.js';

export interface ConnectionSummary {
  socketId: string;
  appId: string;
  remoteAddress?: string;
  userId?: string;
  /** `ws`, `xhr_streaming` or `xhr_polling`. */
  transport?: string;
}

export interface EngineObserver {
  connectionOpened?(app: App, conn: ConnectionSummary): void;
  connectionClosed?(app: App, conn: ConnectionSummary, code?: number): void;
  /** A connection was refused at handshake (unknown key, disabled app, quota…). */
  connectionRefused?(appKey: string, code: number, reason: string): void;
  subscribed?(app: App, channel: string, socketId: string): void;
  unsubscribed?(app: App, channel: string, socketId: string): void;
  channelOccupied?(app: App, channel: string): void;
  channelVacated?(app: App, channel: string): void;
  memberAdded?(app: App, channel: string, userId: string, userInfo: unknown): void;
  memberRemoved?(app: App, channel: string, userId: string): void;
  clientEvent?(app: App, channel: string, event: string, data: string, socketId: string, userId?: string): void;
  cacheMiss?(app: App, channel: string): void;
  subscriptionCount?(app: App, channel: string, count: number): void;
  /** An event was published (HTTP API or client event) and delivered to `recipients` local sockets. */
  published?(app: App, channel: string, event: string, data: string, recipients: number, source: 'api' | 'client'): void;
  signedIn?(app: App, socketId: string, userId: string): void;
}

export type ObserverEvent = keyof EngineObserver;

/**
 * Another process's engines observed (a multi-worker node's other workers, workers/observer-relay.ts),
 * for capabilities that show the whole node (GraphQL subscriptions). Declared beside EngineObserver
 * so those capabilities depend on the seam, not on workers/ (the composition root).
 */
export interface ObserverRelay {
  /** Hands `appId`'s engine events on every other worker to `observer` until `stop()`. */
  watch(appId: string, observer: EngineObserver): RelayWatch;
  /**
   * True while this worker's engine reports an event published on another worker (the hub handed
   * it here for local subscribers): that worker relays its `published`, so watchers skip this one.
   */
  readonly publishedElsewhere: boolean;
}

export interface RelayWatch {
  /** Settles once every other worker forwards the app's events (nothing decided later is missed). */
  ready: Promise<void>;
  stop(): void;
}
