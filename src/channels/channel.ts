/** A channel as this node holds it: its local subscribers and what it learned from the cluster. */
import type { ChannelType } from '../protocol/names.js';
import type { Connection } from './connection.js';
import type { CountThrottle } from './count-throttle.js';

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
