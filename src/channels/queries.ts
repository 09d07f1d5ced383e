/**
 * Channel state as the HTTP API reports it (channel lists, counts, presence users, cache):
 * cluster-wide. On a single node that is simply the engine's own maps; clustered, the
 * ClusterState answers (one Redis/NATS round trip, never a scatter-gather over the nodes).
 */
import type { ChannelSummary, ClusterState } from '../scaling/cluster-state.js';
import type { ChannelsEngine } from './engine.js';

export type { ChannelSummary };

export interface ChannelQueries {
  subscriptionCount(appId: string, channel: string): Promise<number>;
  userCount(appId: string, channel: string): Promise<number>;
  /** Occupied channels (never #server-to-user-), optionally filtered by prefix, with their counts. */
  channels(appId: string, prefix?: string): Promise<ChannelSummary[]>;
  members(appId: string, channel: string): Promise<Array<{ id: string; userInfo: unknown }>>;
  cachedEvent(appId: string, channel: string): Promise<CachedEventInfo | undefined>;
}

/** A cache channel's last event: seconds left, and when it was published (absent for entries an older version wrote). */
export interface CachedEventInfo {
  event: string;
  data: string;
  ttl: number;
  publishedAt?: number;
}

export function localQueries(engine: ChannelsEngine): ChannelQueries {
  return {
    subscriptionCount: async (appId, channel) => engine.subscriptionCount(appId, channel),
    userCount: async (appId, channel) => engine.userCount(appId, channel),
    channels: async (appId, prefix) =>
      engine.occupiedChannels(appId, prefix).map((name) => {
        const summary: ChannelSummary = { name, subscriptionCount: engine.subscriptionCount(appId, name) };
        if (name.startsWith('presence-')) summary.userCount = engine.userCount(appId, name);
        return summary;
      }),
    members: async (appId, channel) => engine.presenceMembers(appId, channel),
    cachedEvent: async (appId, channel) => engine.cachedEvent(appId, channel),
  };
}

export function clusterQueries(cluster: ClusterState): ChannelQueries {
  return {
    subscriptionCount: (appId, channel) => cluster.subscriptionCount(appId, channel),
    userCount: (appId, channel) => cluster.userCount(appId, channel),
    channels: (appId, prefix) => cluster.channels(appId, prefix),
    members: async (appId, channel) => (await cluster.members(appId, channel)).map((m) => ({ id: m.userId, userInfo: m.userInfo })),
    cachedEvent: (appId, channel) => cluster.getCache(appId, channel),
  };
}
