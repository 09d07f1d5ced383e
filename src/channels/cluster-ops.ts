/**
 * Shared plumbing of the clustered engine paths (only used when the engine has a ClusterState):
 * a per-socket queue that runs cluster operations in order, and per-channel bookkeeping kept in
 * side tables so the single-node structures (Channel, Connection) stay untouched.
 */
import type { AppState } from './app-state.js';
import type { Channel } from './channel.js';
import type { Connection } from './connection.js';
import type { ChannelsEngine } from './engine.js';

/** Cluster bookkeeping of one channel on this node. */
export interface ClusterChannel {
  /** Subscriptions in flight (the channel object must outlive them). */
  joining: number;
  /** Broker interest in the channel, once requested. */
  listening: Promise<void> | undefined;
  /** Presence: the roster revision each local socket started from; older member events are not for it. */
  base: Map<Connection, number>;
  /** Presence: newest revision applied per user, so a late, older change cannot undo a newer one. */
  userRevisions: Map<string, number>;
  /** Presence: recent member events, replayed to a socket that joined while they were in flight. */
  recent: Array<{ revision: number; frame: string }>;
  /** Newest subscriber count seen and its revision. */
  count: number;
  countRevision: number;
  countSentAt: number;
  countTimer: NodeJS.Timeout | undefined;
}

const channelInfo = new WeakMap<Channel, ClusterChannel>();
const queues = new WeakMap<Connection, Promise<void>>();

export function clusterChannel(channel: Channel): ClusterChannel {
  let info = channelInfo.get(channel);
  if (!info) {
    info = {
      joining: 0,
      listening: undefined,
      base: new Map(),
      userRevisions: new Map(),
      recent: [],
      count: 0,
      countRevision: 0,
      countSentAt: 0,
      countTimer: undefined,
    };
    channelInfo.set(channel, info);
  }
  return info;
}

/**
 * Runs `step` after every earlier cluster operation of the socket (a disconnect's leave waits for
 * the join still in flight). Errors are reported, never thrown into the queue.
 */
export function enqueue(engine: ChannelsEngine, conn: Connection, step: () => Promise<void>): Promise<void> {
  const previous = queues.get(conn) ?? Promise.resolve();
  const next = previous.then(step).catch((err: unknown) => engine.onInternalError(err));
  queues.set(conn, next);
  void next.finally(() => {
    if (queues.get(conn) === next) queues.delete(conn);
  });
  return next;
}

/** Makes sure this node receives the channel's messages before anyone relies on it. */
export async function listen(engine: ChannelsEngine, state: AppState, channel: Channel, info: ClusterChannel): Promise<void> {
  if (!engine.broker.listen) return;
  info.listening ??= engine.broker.listen(state.app.id, channel.name);
  try {
    await info.listening;
  } catch (err) {
    info.listening = undefined;
    throw err;
  }
}

/** Forgets a channel nobody on this node uses any more, and stops receiving it. */
export function dropIfUnused(engine: ChannelsEngine, state: AppState, channel: Channel): void {
  const info = clusterChannel(channel);
  if (channel.subscribers.size > 0 || info.joining > 0) return;
  if (state.channels.get(channel.name) === channel) state.channels.delete(channel.name);
  if (info.countTimer) clearTimeout(info.countTimer);
  info.countTimer = undefined;
  if (info.listening) {
    info.listening = undefined;
    engine.broker.unlisten?.(state.app.id, channel.name);
  }
}

/** Keeps a bounded map bounded: drops the oldest half once it exceeds `max` entries. */
export function trimMap<K, V>(map: Map<K, V>, max: number): void {
  if (map.size <= max) return;
  let drop = map.size - Math.floor(max / 2);
  for (const key of map.keys()) {
    if (drop-- <= 0) break;
    map.delete(key);
  }
}
