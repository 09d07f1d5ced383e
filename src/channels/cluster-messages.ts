/**
 * Broker messages only clustered nodes exchange (member changes, subscriber counts, watchlist
 * status) and the reactions to the cluster state's own reports (a dead node reaped, this node
 * evicted). Every change carries a revision; a node applies a change only if it is newer than
 * what it (and, for rosters, each socket) already has, so out-of-order arrival cannot leave a
 * stale state behind.
 */
import type { App } from '../apps/app.js';
import { CloseCode } from '../protocol/errors.js';
import { encodeObjectEvent } from '../protocol/messages.js';
import { channelType } from '../protocol/names.js';
import type { BrokerMessage } from '../scaling/broker.js';
import type { ClusterChanges } from '../scaling/cluster-state.js';
import type { AppState } from './app-state.js';
import { clusterChannel, trimMap } from './cluster-ops.js';
import { onUserStatus } from './cluster-users.js';
import type { Connection } from './connection.js';
import type { ChannelsEngine } from './engine.js';

type ClusterMessage = Extract<BrokerMessage, { type: 'member' | 'subscription-count' | 'user-status' }>;

const RECENT_MEMBER_EVENTS = 64;
const COUNT_THROTTLE_MS = 5000;

/** Wires the cluster state's reports into the engine (called once by the engine constructor). */
export function attachCluster(engine: ChannelsEngine): void {
  const cluster = engine.cluster!;
  cluster.onReaped((appId, changes) => applyReaped(engine, appId, changes));
  cluster.onEvicted((appId) => {
    // The cluster forgot this node's sockets of the app: make them reconnect and rebuild.
    const state = engine.state(appId);
    if (!state) return;
    for (const conn of [...state.connections.values()]) conn.close(CloseCode.ReconnectImmediately, 'Node rejoined the cluster, reconnect');
  });
}

export function onClusterMessage(engine: ChannelsEngine, message: ClusterMessage): void {
  const state = engine.state(message.appId);
  if (!state) return;
  switch (message.type) {
    case 'member':
      return onMember(state, message);
    case 'subscription-count':
      return onCount(engine, state, message);
    case 'user-status':
      return onUserStatus(state, message);
  }
}

function onMember(state: AppState, message: Extract<BrokerMessage, { type: 'member' }>): void {
  const channel = state.channels.get(message.channel);
  if (!channel) return;
  const info = clusterChannel(channel);
  if (message.revision <= (info.userRevisions.get(message.userId) ?? 0)) return;
  info.userRevisions.set(message.userId, message.revision);
  trimMap(info.userRevisions, 4096);
  const frame = message.added
    ? encodeObjectEvent('pusher_internal:member_added', message.channel, { user_id: message.rawUserId, user_info: message.userInfo ?? null })
    : encodeObjectEvent('pusher_internal:member_removed', message.channel, { user_id: message.rawUserId });
  info.recent.push({ revision: message.revision, frame });
  if (info.recent.length > RECENT_MEMBER_EVENTS) info.recent.shift();
  for (const conn of channel.subscribers) {
    // A socket whose roster already reflects this change (its own join included) skips it.
    if ((info.base.get(conn) ?? 0) < message.revision) conn.sendText(frame);
  }
}

function onCount(engine: ChannelsEngine, state: AppState, message: Extract<BrokerMessage, { type: 'subscription-count' }>): void {
  const channel = state.channels.get(message.channel);
  if (!channel) return;
  const info = clusterChannel(channel);
  if (message.revision <= info.countRevision) return;
  info.countRevision = message.revision;
  info.count = message.count;
  if (!state.app.subscriptionCountEvents) return;
  const send = () => {
    info.countTimer = undefined;
    info.countSentAt = engine.now();
    const frame = encodeObjectEvent('pusher_internal:subscription_count', channel.name, { subscription_count: info.count });
    for (const conn of channel.subscribers) conn.sendText(frame);
  };
  // Spec A.3: at most every 5 s for channels over 100 subscribers.
  if (info.count <= 100) {
    if (info.countTimer) clearTimeout(info.countTimer);
    return send();
  }
  if (info.countTimer) return;
  const wait = info.countSentAt + COUNT_THROTTLE_MS - engine.now();
  if (wait <= 0) return send();
  info.countTimer = setTimeout(send, wait);
  info.countTimer.unref();
}

export function deliverCount(conn: Connection, channel: string, count: number): void {
  conn.sendText(encodeObjectEvent('pusher_internal:subscription_count', channel, { subscription_count: count }));
}

/** A changed cluster-wide count: observed here (the node that changed it) and sent to every node. */
export function publishCount(engine: ChannelsEngine, state: AppState, channel: string, count: number, revision: number): void {
  const kind = channelType(channel).kind;
  if (count === 0) forgetCount(state.app.id, channel);
  if (kind === 'presence' || kind === 'user' || count === 0) return;
  observeCount(engine, state.app, channel, count);
  if (state.app.subscriptionCountEvents) {
    engine.broker.publish({ type: 'subscription-count', appId: state.app.id, channel, count, revision });
  }
}

const countObservations = new Map<string, { sentAt: number; latest: number; timer: NodeJS.Timeout | undefined }>();

function forgetCount(appId: string, channel: string): void {
  const key = `${appId}\n${channel}`;
  const entry = countObservations.get(key);
  if (entry?.timer) clearTimeout(entry.timer);
  countObservations.delete(key);
}

/** The subscriptionCount observer with the same 5 s throttle above 100 subscribers, per node. */
function observeCount(engine: ChannelsEngine, app: App, channel: string, count: number): void {
  const key = `${app.id}\n${channel}`;
  let entry = countObservations.get(key);
  if (count <= 100) {
    if (entry?.timer) clearTimeout(entry.timer);
    countObservations.delete(key);
    engine.emit('subscriptionCount', app, channel, count);
    return;
  }
  if (!entry) countObservations.set(key, (entry = { sentAt: 0, latest: count, timer: undefined }));
  entry.latest = count;
  if (entry.timer) return;
  const emit = () => {
    entry.timer = undefined;
    entry.sentAt = engine.now();
    engine.emit('subscriptionCount', app, channel, entry.latest);
  };
  const wait = entry.sentAt + COUNT_THROTTLE_MS - engine.now();
  if (wait <= 0) return emit();
  entry.timer = setTimeout(emit, wait);
  entry.timer.unref();
}

/** A dead node's (or this node's, at shutdown) contributions were removed: broadcast and observe once. */
function applyReaped(engine: ChannelsEngine, appId: string, changes: ClusterChanges): void {
  const app = engine.apps.byId(appId);
  for (const m of changes.members) {
    engine.broker.publish({ type: 'member', appId, channel: m.channel, userId: m.userId, rawUserId: m.rawUserId, added: false, revision: m.revision });
    if (app) engine.emit('memberRemoved', app, m.channel, m.userId);
  }
  for (const c of changes.channels) {
    if (!app) continue;
    if (c.subscriptionCount === 0) engine.emit('channelVacated', app, c.channel);
    publishCount(engine, engine.state(appId) ?? engine.stateFor(app), c.channel, c.subscriptionCount, c.revision);
  }
  for (const u of changes.usersOffline) engine.broker.publish({ type: 'user-status', appId, userId: u.userId, online: false, revision: u.revision });
}
