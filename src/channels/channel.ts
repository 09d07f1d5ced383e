/** A channel's local subscribers and, for presence channels, its members. */
import type { Connection } from './connection.js';
import type { ChannelType } from '../protocol/names.js';

export interface PresenceMember {
  userId: string;
  /** user_id as received (number or string), echoed back in member events. */
  rawUserId: string | number;
  userInfo: unknown;
  /** Local connections of this user subscribed to the channel. */
  connections: Set<Connection>;
}

export interface CachedEvent {
  event: string;
  data: string;
  expiresAt: number;
  /** When it was published (ms since the epoch), for GraphQL's cachedEvent.at. */
  publishedAt: number;
}

export class Channel {
  readonly subscribers = new Set<Connection>();
  /** Presence members by user id (presence channels only). */
  readonly members = new Map<string, PresenceMember>();
  /** Per-connection membership, so unsubscribe finds the user without re-reading channel_data. */
  readonly memberOf = new Map<Connection, string>();
  lastSubscriptionCountSent = 0;
  subscriptionCountTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly name: string,
    readonly type: ChannelType,
  ) {}

  get isPresence(): boolean {
    return this.type.kind === 'presence';
  }

  presencePayload(): string {
    const ids: string[] = [];
    const hash: Record<string, unknown> = {};
    for (const [id, member] of this.members) {
      ids.push(id);
      hash[id] = member.userInfo ?? null;
    }
    return JSON.stringify({ presence: { ids, hash, count: ids.length } });
  }
}
