/**
 * The cluster-state seam: what nodes must agree on exactly (presence members, subscriber and
 * user counts, occupied channels, signed-in users, cache channels' last events).
 *
 * Single node (HERALD_BROKER=memory): the engine has no ClusterState and keeps everything in its
 * own maps, synchronously — zero overhead. Clustered: every change goes through this interface,
 * whose implementation decides first/last cluster-wide atomically and returns a `revision`
 * (monotonic per app) that orders the resulting broadcasts (see docs/scaling.md).
 *
 * Each node contributes counts under its own node id; a node that stops heartbeating is
 * "reaped": exactly one surviving node removes its contributions and receives the resulting
 * changes through `onReaped`, so member_removed / channel_vacated fire once. A node that finds
 * it was reaped while still running (it was cut off) learns it through `onEvicted`.
 */

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
  /** Cache channels: also return the cached last event. */
  withCache: boolean;
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
      cached?: { event: string; data: string };
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

/** What removing a reaped node's contributions changed, to be broadcast and observed once. */
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

export interface ClusterState {
  readonly name: string;
  /** This node's id (logs, tests). */
  readonly nodeId: string;
  start(): Promise<void>;
  /** Removes this node's contributions (clean shutdown: members leave at once, not after the timeout). */
  stop(): Promise<void>;
  healthy(): boolean;

  join(request: JoinRequest): Promise<JoinResult>;
  leave(appId: string, channel: string, token: string, userId?: string): Promise<LeaveResult>;
  userOnline(appId: string, userId: string, watchlist: string[]): Promise<OnlineResult>;
  userOffline(appId: string, userId: string, token: string): Promise<OfflineResult>;

  subscriptionCount(appId: string, channel: string): Promise<number>;
  userCount(appId: string, channel: string): Promise<number>;
  /** Occupied channels (not #server-to-user-), optionally by prefix, with counts. */
  channels(appId: string, prefix?: string): Promise<ChannelSummary[]>;
  members(appId: string, channel: string): Promise<MemberInput[]>;
  setCache(appId: string, channel: string, event: string, data: string, ttlSeconds: number): Promise<void>;
  getCache(appId: string, channel: string): Promise<{ event: string; data: string; ttl: number; publishedAt?: number } | undefined>;

  onReaped(handler: (appId: string, changes: ClusterChanges) => void): void;
  onEvicted(handler: (appId: string) => void): void;
}
