/**
 * Control messages between nodes (member changes, subscriber counts, watchlist status, terminate)
 * and the reactions to the cluster's own reports (a dead node reaped, this node evicted). Every
 * change carries a revision; a node applies a change only if it is newer than what it (and, for
 * rosters, each socket) already has, so out-of-order arrival cannot leave a stale state behind.
 * In memory the control bus loops back synchronously: a single node runs exactly this code.
 */
import { CloseCode } from '../protocol/errors.js';
import { encodeObjectEvent } from '../protocol/messages.js';
import { channelType } from '../protocol/names.js';
import type { ControlMessage } from '../scaling/broker.js';
import type { ClusterChanges } from '../scaling/cluster-state.js';
import type { AppState } from './app-state.js';
import type { Channel, Connection } from './connection.js';
import { CountThrottle } from './count-throttle.js';
import type { ChannelsEngine } from './engine.js';
import { OutboundMessage } from './transport.js';

const RECENT_MEMBER_EVENTS = 64;
const MAX_USER_REVISIONS = 4096;
const MAX_STATUS_REVISIONS = 8192;

/** Wires the control bus and the cluster node's reports into the engine (called once by its constructor). */
export function attachControl(engine: ChannelsEngine): void {
  engine.control.onMessage((message) => onControl(engine, message));
  engine.node.onReaped((appId, changes) => applyReaped(engine, appId, changes));
  engine.node.onEvicted((appId) => {
    // The cluster forgot this node's sockets of the app: make them reconnect and rebuild.
    const state = engine.state(appId);
    if (!state) return;
    for (const conn of [...state.connections.values()]) conn.close(CloseCode.ReconnectImmediately, 'Node rejoined the cluster, reconnect');
  });
}

function onControl(engine: ChannelsEngine, message: ControlMessage): void {
  if (message.type === 'module') return engine.deliverModuleMessage(message);
  const state = engine.state(message.appId);
  if (!state) return;
  switch (message.type) {
    case 'terminate-user':
      for (const conn of [...(state.users.get(message.userId) ?? [])]) conn.close(CloseCode.Unauthorized, 'You got disconnected by the app.');
      return;
    case 'member':
      return onMember(state, message);
    case 'subscription-count':
      return onCount(engine, state, message);
    case 'user-status':
      return onUserStatus(state, message);
  }
}

export function publishMember(
  engine: ChannelsEngine,
  appId: string,
  channel: string,
  member: { userId: string; rawUserId: string | number; userInfo?: unknown },
  added: boolean,
  revision: number,
): void {
  const { userId, rawUserId } = member;
  void engine.control.send(added ? { type: 'member', appId, channel, userId, rawUserId, userInfo: member.userInfo, added, revision } : { type: 'member', appId, channel, userId, rawUserId, added, revision });
}

function onMember(state: AppState, message: Extract<ControlMessage, { type: 'member' }>): void {
  const channel = state.channels.get(message.channel);
  if (!channel) return;
  const log = channel.presenceLog();
  if (message.revision <= (log.userRevisions.get(message.userId) ?? 0)) return;
  log.userRevisions.set(message.userId, message.revision);
  trimMap(log.userRevisions, MAX_USER_REVISIONS);
  const frame = message.added
    ? encodeObjectEvent('pusher_internal:member_added', message.channel, { user_id: message.rawUserId, user_info: message.userInfo ?? null })
    : encodeObjectEvent('pusher_internal:member_removed', message.channel, { user_id: message.rawUserId });
  log.recent.push({ revision: message.revision, frame });
  if (log.recent.length > RECENT_MEMBER_EVENTS) log.recent.shift();
  const outbound = new OutboundMessage(frame);
  for (const conn of channel.subscribers) {
    // A socket whose roster already reflects this change (its own join included) skips it.
    if ((conn.subscriptions.get(channel.name)?.rosterRevision ?? 0) < message.revision) conn.send(outbound);
  }
}

function onCount(engine: ChannelsEngine, state: AppState, message: Extract<ControlMessage, { type: 'subscription-count' }>): void {
  const channel = state.channels.get(message.channel);
  if (!channel || message.revision <= channel.countRevision) return;
  channel.countRevision = message.revision;
  channel.count = message.count;
  if (!state.app.subscriptionCountEvents) return;
  channel.countFrames ??= new CountThrottle(engine.clock, (count) => deliverCount(channel, count));
  channel.countFrames.offer(message.count);
}

function deliverCount(channel: Channel, count: number): void {
  if (channel.subscribers.size === 0) return;
  const message = new OutboundMessage(encodeObjectEvent('pusher_internal:subscription_count', channel.name, { subscription_count: count }));
  for (const conn of channel.subscribers) conn.send(message);
}

export function sendCount(conn: Connection, channel: string, count: number): void {
  conn.sendText(encodeObjectEvent('pusher_internal:subscription_count', channel, { subscription_count: count }));
}

/**
 * A changed cluster-wide count: observed here (the node that changed it, throttled) and sent to
 * every node. Never for presence or user channels; a vacated channel has no count event.
 */
export function publishCount(engine: ChannelsEngine, state: AppState, channel: string, count: number, revision: number): void {
  const kind = channelType(channel).kind;
  if (count === 0) {
    state.countObservers.get(channel)?.cancel();
    state.countObservers.delete(channel);
  }
  if (kind === 'presence' || kind === 'user' || count === 0) return;
  let observer = state.countObservers.get(channel);
  if (!observer) {
    observer = new CountThrottle(engine.clock, (latest) => engine.emit('subscriptionCount', state.app, channel, latest));
    state.countObservers.set(channel, observer);
  }
  observer.offer(count);
  if (state.app.subscriptionCountEvents) void engine.control.send({ type: 'subscription-count', appId: state.app.id, channel, count, revision });
}

/** Forgets observer throttles that can no longer delay anything (called by the engine's sweep). */
export function pruneCountObservers(state: AppState, now: number): void {
  for (const [channel, observer] of state.countObservers) if (observer.idle(now)) state.countObservers.delete(channel);
}

function onUserStatus(state: AppState, message: Extract<ControlMessage, { type: 'user-status' }>): void {
  if (!state.app.watchlistEvents) return;
  const watchers = state.watchers.get(message.userId);
  if (!watchers) return;
  const revisions = state.statusRevisions;
  if (message.revision <= (revisions.get(message.userId) ?? 0)) return;
  revisions.set(message.userId, message.revision);
  trimMap(revisions, MAX_STATUS_REVISIONS);
  const frame = new OutboundMessage(
    encodeObjectEvent('pusher_internal:watchlist_events', undefined, { events: [{ name: message.online ? 'online' : 'offline', user_ids: [message.userId] }] }),
  );
  for (const watcherId of watchers) {
    for (const conn of state.users.get(watcherId) ?? []) {
      if (!conn.user?.watchlist.includes(message.userId)) continue;
      if (conn.watchlistRevision >= message.revision) continue;
      conn.send(frame);
    }
  }
}

/** A dead node's (or this node's, at shutdown) contributions were removed: broadcast and observe once. */
function applyReaped(engine: ChannelsEngine, appId: string, changes: ClusterChanges): void {
  const app = engine.apps.byId(appId);
  for (const m of changes.members) {
    publishMember(engine, appId, m.channel, m, false, m.revision);
    if (app) engine.emit('memberRemoved', app, m.channel, m.userId);
  }
  for (const c of changes.channels) {
    if (!app) continue;
    if (c.subscriptionCount === 0) engine.emit('channelVacated', app, c.channel);
    publishCount(engine, engine.stateFor(app), c.channel, c.subscriptionCount, c.revision);
  }
  for (const u of changes.usersOffline) void engine.control.send({ type: 'user-status', appId, userId: u.userId, online: false, revision: u.revision });
}

/** Keeps a bounded map bounded: drops the oldest half once it exceeds `max` entries. */
function trimMap<K, V>(map: Map<K, V>, max: number): void {
  if (map.size <= max) return;
  let drop = map.size - Math.floor(max / 2);
  for (const key of map.keys()) {
    if (drop-- <= 0) break;
    map.delete(key);
  }
}
