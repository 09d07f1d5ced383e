/**
 * pusher:subscribe / pusher:unsubscribe when the engine is clustered. Validation is shared with
 * the single-node path (subscriptions.ts); what differs is that "first subscriber", "new
 * member", counts and the roster are decided by the ClusterState, and that member and count
 * changes reach sockets through the broker (so every node's sockets get them, in revision order).
 *
 * Order of a join: listen to the channel on the broker → atomic join in the cluster state →
 * broadcast what changed → add the socket locally and answer it. Listening first guarantees that
 * anything decided after the roster snapshot reaches this node.
 */
import { markAuthorized } from './authorized-connections.js';
import { encodeEvent, encodeObjectEvent, encodeSubscriptionError } from '../protocol/messages.js';
import type { ChannelType } from '../protocol/names.js';
import type { JoinResult, MemberInput } from '../scaling/cluster-state.js';
import type { AppState } from './app-state.js';
import type { Channel, PresenceMember } from './channel.js';
import { clusterChannel, dropIfUnused, enqueue, listen, type ClusterChannel } from './cluster-ops.js';
import { deliverCount, publishCount } from './cluster-messages.js';
import type { Connection } from './connection.js';
import type { ChannelsEngine } from './engine.js';

/** One socket's membership of one channel in the cluster state. */
interface JoinRecord {
  /** Set once the cluster counted the join; a leave only undoes counted joins. */
  token: string | undefined;
  userId: string | undefined;
  /** The socket unsubscribed (or closed) while the join was in flight. */
  cancelled: boolean;
}

const records = new WeakMap<Connection, Map<string, JoinRecord>>();

function recordsOf(conn: Connection): Map<string, JoinRecord> {
  let map = records.get(conn);
  if (!map) records.set(conn, (map = new Map()));
  return map;
}

export function clusterSubscribe(
  engine: ChannelsEngine,
  state: AppState,
  conn: Connection,
  name: string,
  type: ChannelType,
  member: Omit<PresenceMember, 'connections'> | undefined,
): Promise<void> {
  const channel = state.getOrCreateChannel(name);
  const info = clusterChannel(channel);
  info.joining++;
  // Reserved now: a second subscribe is refused and an unsubscribe finds it, even mid-join.
  conn.subscriptions.set(name, channel);
  const record: JoinRecord = { token: undefined, userId: member?.userId, cancelled: false };
  recordsOf(conn).set(name, record);

  const fail = (type: string, message: string, status: number) => {
    if (!record.cancelled) {
      if (conn.subscriptions.get(name) === channel) conn.subscriptions.delete(name);
      records.get(conn)?.delete(name);
      conn.sendError(message, null, name);
      conn.sendText(encodeSubscriptionError(name, type, message, status));
    }
  };

  return enqueue(engine, conn, async () => {
    try {
      const cluster = engine.cluster!;
      if (!cluster.healthy()) return fail('ServiceUnavailable', 'Cluster state unavailable, try again shortly', 503);
      await listen(engine, state, channel, info);
      const result = await cluster.join({
        appId: state.app.id,
        channel: name,
        member: member ? { userId: member.userId, rawUserId: member.rawUserId, userInfo: member.userInfo } : undefined,
        maxMembers: conn.app.limits.maxPresenceMembers,
        withCache: type.cache,
      });
      if (!result.ok) {
        if (result.reason === 'full') {
          const limit = conn.app.limits.maxPresenceMembers;
          fail('LimitReached', `Presence channel ${name} is full (limit ${limit} members)`, 403);
        } else fail('ServiceUnavailable', 'This node left the cluster, reconnect', 503);
        return;
      }
      record.token = result.token;
      announceJoin(engine, state, channel, result, member);
      if (record.cancelled || conn.closed) return; // the queued leave undoes the join
      addLocally(engine, state, conn, channel, info, type, member, result);
    } catch (err) {
      fail('ServiceUnavailable', 'Cluster state unavailable, try again shortly', 503);
      engine.onInternalError(err);
    } finally {
      info.joining--;
      dropIfUnused(engine, state, channel);
    }
  });
}

/** What the join decided cluster-wide: observed here (once) and broadcast to every node. */
function announceJoin(engine: ChannelsEngine, state: AppState, channel: Channel, result: Extract<JoinResult, { ok: true }>, member: MemberInput | undefined): void {
  const app = state.app;
  if (result.occupied) engine.emit('channelOccupied', app, channel.name);
  if (member && result.memberAdded) {
    engine.broker.publish({
      type: 'member',
      appId: app.id,
      channel: channel.name,
      userId: member.userId,
      rawUserId: member.rawUserId,
      userInfo: member.userInfo,
      added: true,
      revision: result.revision,
    });
    engine.emit('memberAdded', app, channel.name, member.userId, member.userInfo);
  }
  publishCount(engine, state, channel.name, result.subscriptionCount, result.revision);
}

function addLocally(
  engine: ChannelsEngine,
  state: AppState,
  conn: Connection,
  channel: Channel,
  info: ClusterChannel,
  type: ChannelType,
  member: Omit<PresenceMember, 'connections'> | undefined,
  result: Extract<JoinResult, { ok: true }>,
): void {
  const name = channel.name;
  channel.subscribers.add(conn);
  if (type.kind !== 'public' && type.kind !== 'user') markAuthorized(conn);
  engine.emit('subscribed', conn.app, name, conn.socketId);
  if (member) {
    channel.memberOf.set(conn, member.userId);
    const local = channel.members.get(member.userId);
    if (local) local.connections.add(conn);
    else channel.members.set(member.userId, { ...member, connections: new Set([conn]) });
    info.base.set(conn, result.revision);
    conn.sendText(encodeEvent('pusher_internal:subscription_succeeded', name, rosterPayload(result.roster ?? [])));
    // Member changes that reached this node before the socket was added, but after its roster.
    for (const event of info.recent) if (event.revision > result.revision) conn.sendText(event.frame);
  } else {
    conn.sendText(encodeEvent('pusher_internal:subscription_succeeded', name, '{}'));
  }
  if (type.cache) {
    if (result.cached) conn.sendText(encodeEvent(result.cached.event, name, result.cached.data));
    else {
      conn.sendText(encodeEvent('pusher:cache_miss', name, undefined));
      engine.emit('cacheMiss', conn.app, name);
    }
  }
  // A newer count overtook this join's own broadcast: that one will be dropped as stale.
  if (info.countRevision > result.revision && state.app.subscriptionCountEvents && type.kind !== 'presence' && type.kind !== 'user') {
    deliverCount(conn, name, info.count);
  }
}

function rosterPayload(roster: MemberInput[]): string {
  const ids: string[] = [];
  const hash: Record<string, unknown> = {};
  for (const m of roster) {
    ids.push(m.userId);
    hash[m.userId] = m.userInfo ?? null;
  }
  return JSON.stringify({ presence: { ids, hash, count: ids.length } });
}

export function clusterUnsubscribe(engine: ChannelsEngine, state: AppState, conn: Connection, channel: Channel): void {
  const name = channel.name;
  conn.subscriptions.delete(name);
  if (channel.subscribers.delete(conn)) engine.emit('unsubscribed', conn.app, name, conn.socketId);
  const userId = channel.memberOf.get(conn);
  if (userId !== undefined) {
    channel.memberOf.delete(conn);
    const local = channel.members.get(userId);
    local?.connections.delete(conn);
    if (local && local.connections.size === 0) channel.members.delete(userId);
  }
  clusterChannel(channel).base.delete(conn);
  const record = records.get(conn)?.get(name);
  records.get(conn)?.delete(name);
  if (record) record.cancelled = true;
  dropIfUnused(engine, state, channel);
  if (!record) return;

  void enqueue(engine, conn, async () => {
    if (!record.token) return;
    const app = state.app;
    const result = await engine.cluster!.leave(app.id, name, record.token, record.userId);
    if (!result.ok) return;
    if (result.memberRemoved) {
      engine.broker.publish({
        type: 'member',
        appId: app.id,
        channel: name,
        userId: result.memberRemoved.userId,
        rawUserId: result.memberRemoved.rawUserId,
        added: false,
        revision: result.revision,
      });
      engine.emit('memberRemoved', app, name, result.memberRemoved.userId);
    }
    if (result.vacated) engine.emit('channelVacated', app, name);
    publishCount(engine, state, name, result.subscriptionCount, result.revision);
  });
}
