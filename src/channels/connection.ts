/**
 * The state this node holds for its sockets and channels: a Connection, a Channel (its local
 * subscribers and what it learned from the cluster) and the Subscription linking one to the other.
 * One file because they point at each other both ways (the Hub links them; channels/hub.ts).
 */
import type { App } from '../apps/app.js';
import type { ChannelType } from '../protocol/names.js';
import { encodeError } from '../protocol/messages.js';
import { settle, isPromise, type MaybePromise } from '../scaling/maybe-promise.js';
import type { CountThrottle } from './count-throttle.js';
import { OutboundMessage, type ConnectionTransport } from './transport.js';

export interface SignedInUser {
  id: string;
  /** The exact user_data JSON string the app server signed. */
  userData: string;
  userInfo: unknown;
  watchlist: string[];
}

/** This connection's sign-in as counted by UserPresence. */
export interface OnlineRecord {
  userId: string;
  /** Set once counted; an offline only undoes counted sign-ins. */
  token: string | undefined;
}

/**
 * A connection's subscriptions by channel name: the part of Map's interface the engine uses. Most
 * connections are on one channel, so the first subscription is kept inline and a Map exists only
 * from the second: an empty Map costs ~184 bytes of heap (1.8 MB per 10,000 connections), this
 * object ~24.
 */
export class ChannelSubscriptions {
  private firstName: string | undefined = undefined;
  private first: Subscription | undefined = undefined;
  private more: Map<string, Subscription> | undefined = undefined;

  get size(): number {
    return (this.first === undefined ? 0 : 1) + (this.more?.size ?? 0);
  }

  get(name: string): Subscription | undefined {
    return name === this.firstName ? this.first : this.more?.get(name);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  set(name: string, subscription: Subscription): this {
    if (name === this.firstName || (this.first === undefined && !this.more?.has(name))) {
      this.firstName = name;
      this.first = subscription;
    } else {
      (this.more ??= new Map()).set(name, subscription);
    }
    return this;
  }

  delete(name: string): boolean {
    if (name === this.firstName) {
      this.firstName = undefined;
      this.first = undefined;
      return true;
    }
    return this.more?.delete(name) ?? false;
  }

  /** A snapshot (callers unsubscribe while they walk it): the inline one first, then the rest in order. */
  keys(): string[] {
    const names = this.firstName === undefined ? [] : [this.firstName];
    if (this.more) for (const name of this.more.keys()) names.push(name);
    return names;
  }
}

export class Connection {
  /** Mutated only by the Hub. */
  readonly subscriptions = new ChannelSubscriptions();
  /** Mutated only by the Hub. */
  user: SignedInUser | undefined;
  online: OnlineRecord | undefined;
  /** Revision of the watchlist snapshot this socket got; older status broadcasts are not for it. */
  watchlistRevision = 0;
  lastActivity: number;
  /** When the server sent a ping that is not answered yet (0 = none outstanding). */
  pingSentAt = 0;
  closed = false;
  /** Client-event token bucket: tokens left and when it was last refilled. */
  clientEventTokens: number;
  clientEventRefilledAt: number;
  /** Frames are handled in order; set while an asynchronous step (e.g. a cluster lookup) runs. */
  pending: Promise<void> | undefined;
  authDeadline = 0;
  /** The last cluster operation (join, leave, online, offline) still in flight. */
  private opsTail: Promise<void> | undefined;

  constructor(
    readonly socketId: string,
    public app: App,
    readonly transport: ConnectionTransport,
    readonly remoteAddress: string | undefined,
    now: number,
  ) {
    this.lastActivity = now;
    this.clientEventTokens = app.limits.clientEventsPerSecond;
    this.clientEventRefilledAt = now;
  }

  send(message: OutboundMessage): void {
    if (!this.closed) this.transport.deliver(message);
  }

  sendText(text: string): void {
    this.send(new OutboundMessage(text));
  }

  sendError(message: string, code: number | null, channel?: string): void {
    this.sendText(encodeError(message, code, channel));
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.transport.closeWith(code, reason);
  }

  /**
   * Runs a cluster operation after every earlier one of this socket (a disconnect's leave waits
   * for the join still in flight): at once when none is pending, so in-memory backends stay
   * synchronous. Errors go to `onError`, never into the chain.
   */
  inOrder(step: () => MaybePromise<void>, onError: (err: unknown) => void): MaybePromise<void> {
    const result = this.opsTail ? this.opsTail.then(() => settle(step, onError)) : settle(step, onError);
    if (!isPromise(result)) return undefined;
    const tail: Promise<void> = result;
    this.opsTail = tail;
    void tail.then(() => {
      if (this.opsTail === tail) this.opsTail = undefined;
    });
    return tail;
  }

  /** Token bucket of `clientEventsPerSecond`, refilled continuously. */
  takeClientEventToken(now: number): boolean {
    const rate = this.app.limits.clientEventsPerSecond;
    if (rate === 0) return true;
    const elapsed = now - this.clientEventRefilledAt;
    if (elapsed > 0) {
      this.clientEventTokens = Math.min(rate, this.clientEventTokens + (elapsed * rate) / 1000);
      this.clientEventRefilledAt = now;
    }
    if (this.clientEventTokens < 1) return false;
    this.clientEventTokens -= 1;
    return true;
  }
}

/** One connection's subscription to one channel. */
export interface Subscription {
  readonly channel: Channel;
  /** Presence channels: the member's user id. */
  readonly userId: string | undefined;
  /** Set once the membership counted the join; a leave only undoes counted joins. */
  token: string | undefined;
  /** The connection is among the channel's subscribers (receives its events). */
  joined: boolean;
  /** Unsubscribed (or closed) while the join was in flight: the join must not add it. */
  cancelled: boolean;
  /** Presence: the roster revision this socket started from; older member events are not for it. */
  rosterRevision: number;
}

/** Presence: recent member changes, so late or replayed broadcasts are applied once and in order. */
export interface PresenceLog {
  /** Newest revision applied per user, so a late, older change cannot undo a newer one. */
  userRevisions: Map<string, number>;
  /** Recent member events, replayed to a socket that joined while they were in flight. */
  recent: Array<{ revision: number; frame: string }>;
}

export class Channel {
  /** Connections receiving the channel's events. Mutated only by the Hub. */
  readonly subscribers = new Set<Connection>();
  /** Subscriptions reserved on this node whose join is still in flight. Mutated only by the Hub. */
  pending = 0;
  /** The broker subscription: undefined = none, true = active, a promise = being made. */
  listening: Promise<void> | true | undefined;
  presence: PresenceLog | undefined;
  /** Newest cluster-wide subscriber count seen, and its revision. */
  count = 0;
  countRevision = 0;
  /** Throttles pusher_internal:subscription_count to local sockets (created on first count). */
  countFrames: CountThrottle | undefined;

  constructor(
    readonly name: string,
    readonly type: ChannelType,
  ) {}

  get isPresence(): boolean {
    return this.type.kind === 'presence';
  }

  presenceLog(): PresenceLog {
    return (this.presence ??= { userRevisions: new Map(), recent: [] });
  }
}
