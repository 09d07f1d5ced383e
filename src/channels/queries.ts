/**
 * Channel state as the HTTP API reports it (channel lists, counts, presence users, cache):
 * cluster-wide, answered by the Membership and the ChannelCache (in memory: this process; with
 * Redis or NATS: one round trip, never a scatter-gather over the nodes).
 */
import type { ChannelCache, ChannelSummary, Membership } from '../scaling/cluster-state.js';

export type { ChannelSummary };

export interface ChannelQueries {
  subscriptionCount(appId: string, channel: string): Promise<number>;
  userCount(appId: string, channel: string): Promise<number>;
  /** Occupied channels (never #server-to-user-), optionally filtered by prefix, with their counts. */
  channels(appId: string, prefix?: string): Promise<ChannelSummary[]>;
  members(appId: string, channel: string): Promise<Array<{ id: string; userInfo: unknown }>>;
  cachedEvent(appId: string, channel: string): Promise<{ event: string; data: string; ttl: number } | undefined>;
}

export function clusterQueries({ membership, cache }: { membership: Membership; cache: ChannelCache }): ChannelQueries {
  return {
    subscriptionCount: async (appId, channel) => membership.subscriptionCount(appId, channel),
    userCount: async (appId, channel) => membership.userCount(appId, channel),
    channels: async (appId, prefix) => membership.channels(appId, prefix),
    members: async (appId, channel) => (await membership.members(appId, channel)).map((m) => ({ id: m.userId, userInfo: m.userInfo })),
    cachedEvent: async (appId, channel) => cache.getCache(appId, channel),
  };
}
