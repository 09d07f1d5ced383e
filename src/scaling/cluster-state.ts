/**
 * The cluster-state seams: what the nodes (or the workers of one node) must agree on exactly,
 * split by concern. Each concern has an in-memory implementation (the default: one node) and
 * networked ones (Redis, NATS; IPC for workers); the engine runs the same code over any of them.
 *
 * - Membership: channel subscriptions and presence members (first/last cluster-wide, rosters,
 *   counts, occupied channels).
 * - UserPresence: signed-in users (online/offline cluster-wide) and watchlist snapshots.
 * - ChannelCache: the last event of cache channels.
 * - ClusterNode: this node's registration (start/stop/health) and what the cluster reports back:
 *   a dead node's contributions removed (`onReaped`, so member_removed / channel_vacated fire
 *   once) and this node found removed while still running (`onEvicted`).
 *
 * Every change returns a `revision` (monotonic per app) that orders the broadcasts it causes.
 * Sync/async: in-memory backends answer with plain values, networked ones with promises
 * (MaybePromise); callers continue with `andThen` so the single-node path stays synchronous.
 */
import type { MaybePromise } from './maybe-promise.js';

export interface MemberInput {
  userId: string;
  /** user_id as the app sent it (number or string), echoed in member events. */
  rawUserId: string | number;
  userInfo: unknown;
}

export interface JoinRequest {
  appId: string;
  channel: string;
  /** Presence channels: the joining member. */
  member?: MemberInput;
  /** Presence channels: refuse a new member beyond this many. */
  maxMembers: number;
}

export type JoinResult =
  | {
      ok: true;
      /** Pass back to leave(): identifies the registration the join was counted under. */
      token: string;
      /** This join made the channel occupied (0 → 1 subscribers cluster-wide). */
      occupied: boolean;
      /** Subscribers cluster-wide as of `revision`. */
      subscriptionCount: number;
      /**
       * Orders this change among the app's changes. Several changes written together may share
       * one revision; `subscriptionCount` and `roster` are then as of all of them.
       */
      revision: number;
      /** The member was not present on any node before. */
      memberAdded: boolean;
      /** Presence channels: every member, as of `revision`. */
      roster?: MemberInput[];
    }
  | { ok: false; reason: 'full' | 'evicted' | 'stopped' };

export interface LeaveResult {
  /** False when the join's registration is gone (node reaped or stopped): nothing changed. */
  ok: boolean;
  /** This leave emptied the channel cluster-wide. */
  vacated: boolean;
  subscriptionCount: number;
  revision: number;
  /** Presence channels: the user's last connection cluster-wide left. */
  memberRemoved?: { userId: string; rawUserId: string | number };
}

export interface OnlineResult {
  ok: boolean;
  token: string;
  /** First signed-in connection of the user cluster-wide. */
  cameOnline: boolean;
  revision: number;
  /** Which of the requested watchlist ids are online… */
  online: string[];
  /** …as of this revision (status broadcasts up to it are already reflected). */
  snapshotRevision: number;
}

export interface OfflineResult {
  ok: boolean;
  /** Last signed-in connection of the user cluster-wide. */
  wentOffline: boolean;
  revision: number;
}

/** What removing a node's contributions changed, to be broadcast and observed once. */
export interface ClusterChanges {
  /** Channels whose subscriber count changed (count 0 = vacated). */
  channels: Array<{ channel: string; subscriptionCount: number; revision: number }>;
  members: Array<{ channel: string; userId: string; rawUserId: string | number; revision: number }>;
  usersOffline: Array<{ userId: string; revision: number }>;
}

export interface ChannelSummary {
  name: string;
  subscriptionCount: number;
  /** Presence channels only. */
  userCount?: number;
}

export interface CachedEventAnswer {
  event: string;
  data: string;
  /** Seconds left. */
  ttl: number;
}

/** Channel subscriptions and presence members, cluster-wide. */
export interface Membership {
  join(request: JoinRequest): MaybePromise<JoinResult>;
  leave(appId: string, channel: string, token: string, userId?: string): MaybePromise<LeaveResult>;
  subscriptionCount(appId: string, channel: string): MaybePromise<number>;
  userCount(appId: string, channel: string): MaybePromise<number>;
  /** Occupied channels (not #server-to-user-), optionally by prefix, with counts. */
  channels(appId: string, prefix?: string): MaybePromise<ChannelSummary[]>;
  members(appId: string, channel: string): MaybePromise<MemberInput[]>;
}

/** Signed-in users, cluster-wide, and watchlist snapshots. */
export interface UserPresence {
  userOnline(appId: string, userId: string, watchlist: string[]): MaybePromise<OnlineResult>;
  userOffline(appId: string, userId: string, token: string): MaybePromise<OfflineResult>;
}

/** The last event of cache channels. */
export interface ChannelCache {
  setCache(appId: string, channel: string, event: string, data: string, ttlSeconds: number): MaybePromise<void>;
  getCache(appId: string, channel: string): MaybePromise<CachedEventAnswer | undefined>;
}

/** This node's place in the cluster. */
export interface ClusterNode {
  readonly name: string;
  /** This node's id (logs, tests). */
  readonly nodeId: string;
  /** Start after the broker. */
  start(): Promise<void>;
  /** Removes this node's contributions (clean shutdown: members leave at once) and reports them through onReaped. */
  stop(): Promise<void>;
  /** False while the state cannot be reached (subscriptions are then refused with 503). */
  healthy(): boolean;
  onReaped(handler: (appId: string, changes: ClusterChanges) => void): void;
  onEvicted(handler: (appId: string) => void): void;
}
