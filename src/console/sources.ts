/**
 * Where the console reads live state from. Today one node's engine (`localSource`); a cluster-wide
 * source (every node and worker) can be registered later under CONSOLE_SOURCE_SERVICE without
 * touching the routes or the page: each answer says which scope it covers, and the page shows it.
 */
import type { ChannelsEngine } from '../channels/engine.js';
import type { EngineObserver } from '../channels/observer.js';
import type { ChannelSummary } from '../channels/queries.js';

/** ctx.services key a clustering module may set to replace the local source. */
export const CONSOLE_SOURCE_SERVICE = 'console.source';

/** 'node': this node only; 'cluster': every node (and worker). */
export type Scope = 'node' | 'cluster';

export interface ConsoleSource {
  /** What each kind of data covers, reported to the page with the data. */
  readonly scope: { connections: Scope; channels: Scope; feed: Scope };
  connectionCount(appId: string): number;
  channels(appId: string, prefix?: string): Promise<ChannelSummary[]>;
  members(appId: string, channel: string): Promise<Array<{ id: string; userInfo: unknown }>>;
  /** The live feed's input: connection, subscription, presence and publish events. */
  observe(observer: EngineObserver): () => void;
}

/** This node's engine. Channel queries go through the cluster seams, so they cover every node. */
export function localSource(engine: ChannelsEngine): ConsoleSource {
  return {
    scope: { connections: 'node', channels: 'cluster', feed: 'node' },
    connectionCount: (appId) => engine.connectionCount(appId),
    channels: (appId, prefix) => engine.queries.channels(appId, prefix),
    members: (appId, channel) => engine.queries.members(appId, channel),
    observe: (observer) => engine.observe(observer),
  };
}
