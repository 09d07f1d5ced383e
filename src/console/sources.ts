/**
 * Where the console reads live state from: `clusterSource` (the default: this node's engine plus
 * what the other nodes report over the control bus, cluster.ts) or `localSource` (this node only).
 * Another source can be registered under CONSOLE_SOURCE_SERVICE without touching the routes or
 * the page: each answer says which scope it covers, and the page shows it.
 */
import type { ChannelsEngine } from '../channels/engine.js';
import type { EngineObserver } from '../channels/observer.js';
import type { ChannelSummary } from '../channels/queries.js';
import { serviceKey } from '../platform/module-graph.js';

/**
 * A source a clustering module may provide to replace the cluster view (an extension point, so
 * declared here by the console; no module provides it today).
 */
export const CONSOLE_SOURCE_SERVICE = serviceKey<ConsoleSource>('console.source');

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
  /** The nodes the numbers cover, with their connections (of `appId` too, when given). */
  nodes?(appId?: string): NodeInfo[];
}

/** One node as the console lists it (ClusterView.nodeList, cluster.ts). */
export interface NodeInfo {
  id: string;
  self: boolean;
  /** Connections of every app on that node. */
  connections: number;
  /** Connections of the app asked about. */
  appConnections?: number;
  /** When its last report arrived (ms); now for this node. */
  reportedAt: number;
}

/** What clusterSource reads from the console's ClusterView (cluster.ts), which imports this file. */
export interface ClusterCounts {
  connectionCount(appId: string): number;
  nodeList(appId?: string): NodeInfo[];
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

/** Every node: connection counts and the feed from every node's reports (cluster.ts). */
export function clusterSource(engine: ChannelsEngine, view: ClusterCounts): ConsoleSource {
  return {
    ...localSource(engine),
    scope: { connections: 'cluster', channels: 'cluster', feed: 'cluster' },
    connectionCount: (appId) => view.connectionCount(appId),
    nodes: (appId) => view.nodeList(appId),
  };
}
