/**
 * Joining and leaving channels through the cluster seams — the only path, whatever the backend.
 * "First subscriber", "new member", counts and the roster are decided by the Membership; member
 * and count changes reach sockets through the control bus (so every node's sockets get them, in
 * revision order). In memory every step answers at once and the whole join is synchronous.
 *
 * Order of a join: reserve locally (Hub) → subscribe to the channel on the broker → join in the
 * Membership → (cache channels) read the cached event → add the socket locally and answer it →
 * broadcast what changed. Subscribing first guarantees that anything decided after the roster
 * snapshot reaches this node.
 */
import { encodeEvent, encodeSubscriptionError } from '../protocol/messages.js';
import type { ChannelType } from '../protocol/names.js';
import type { CachedEventAnswer, JoinResult, MemberInput } from '../scaling/cluster-state.js';
import { andThen, isPromise, type MaybePromise } from '../scaling/maybe-promise.js';
import type { AppState } from './app-state.js';
import { markAuthorized } from './authorized-connections.js';
import type { Channel, Connection, Subscription } from './connection.js';
import { publishCount, publishMember, sendCount } from './control.js';
import type { ChannelsEngine } from './engine.js';

type Joined = Extract<JoinResult, { ok: true }>;

export function joinChannel(
  engine: ChannelsEngine,
  state: AppState,
  conn: Connection,
  name: string,
  type: ChannelType,
  member: MemberInput | undefined,
): MaybePromise<void> {
  const { subscription, first } = state.hub.reserve(conn, name, member?.userId);
  if (first) listen(engine, state, subscription.channel);
  const channel = subscription.channel;

  const fail = (errorType: string, message: string, status: number) => {
    if (subscription.cancelled) return;
    release(engine, state, conn, name);
    conn.sendError(message, null, name);
    conn.sendText(encodeSubscriptionError(name, errorType, message, status));
  };

  const unavailable = (err: unknown) => {
    fail('ServiceUnavailable', 'Cluster state unavailable, try again shortly', 503);
    throw err;
  };
  const step = (): MaybePromise<void> => {
    if (subscription.cancelled) return; // unsubscribed before its turn: nothing to undo
    if (!engine.node.healthy()) return fail('ServiceUnavailable', 'Cluster state unavailable, try again shortly', 503);
    return andThen(listen(engine, state, channel), () => {
      if (subscription.cancelled) return; // closed while subscribing to the channel: nothing to undo
      return andThen(engine.membership.join({ appId: state.app.id, channel: name, member, maxMembers: conn.app.limits.maxPresenceMembers }), (result) => {
        if (!result.ok) {
          if (result.reason === 'full') fail('LimitReached', `Presence channel ${name} is full (limit ${conn.app.limits.maxPresenceMembers} members)`, 403);
          else fail('ServiceUnavailable', 'This node left the cluster, reconnect', 503);
          return;
        }
        subscription.token = result.token;
        if (!type.cache || subscription.cancelled) return joined(engine, state, conn, subscription, type, member, result, undefined);
        return andThen(engine.cache.getCache(state.app.id, name), (cached) => joined(engine, state, conn, subscription, type, member, result, cached));
      });
    });
  };
  return conn.inOrder(() => {
    try {
      const joining = step();
      return isPromise(joining) ? joining.catch(unavailable) : undefined;
    } catch (err) {
      return unavailable(err);
    }
  }, engine.reportError);
}

/** Makes sure this node receives the channel's events (and channel control messages). */
function listen(engine: ChannelsEngine, state: AppState, channel: Channel): MaybePromise<void> {
  if (channel.listening === true) return;
  if (channel.listening) return channel.listening;
  const subscribed = engine.broker.subscribe(state.app.id, channel.name);
  if (!isPromise(subscribed)) {
    channel.listening = true;
    return;
  }
  const listening: Promise<void> = subscribed.then(
    () => {
      if (channel.listening === listening) channel.listening = true;
    },
    (err: unknown) => {
      // A later subscriber tries again.
      if (channel.listening === listening) channel.listening = undefined;
      throw err;
    },
  );
  channel.listening = listening;
  // Awaited by the join queued behind it, possibly later: a failure is handled there, not unhandled here.
  listening.catch(() => undefined);
  return listening;
}

/** Drops the local reservation; the last one on this node stops receiving the channel. */
function release(engine: ChannelsEngine, state: AppState, conn: Connection, name: string) {
  const removed = state.hub.removeSub(conn, name);
  if (removed?.last) {
    const channel = removed.subscription.channel;
    channel.countFrames?.cancel();
    if (channel.listening) engine.broker.unsubscribe(state.app.id, name);
    channel.listening = undefined;
  }
  return removed;
}

/** The Membership counted the join: answer the socket, then broadcast what changed. */
function joined(
  engine: ChannelsEngine,
  state: AppState,
  conn: Connection,
  subscription: Subscription,
  type: ChannelType,
  member: MemberInput | undefined,
  result: Joined,
  cached: CachedEventAnswer | undefined,
): void {
  const app = state.app;
  const name = subscription.channel.name;
  if (result.occupied) engine.emit('channelOccupied', app, name);
  // Cancelled: the leave queued behind this join undoes it.
  if (!subscription.cancelled) answer(engine, state, conn, subscription, type, member, result, cached);
  if (member && result.memberAdded) {
    publishMember(engine, app.id, name, member, true, result.revision);
    engine.emit('memberAdded', app, name, member.userId, member.userInfo);
  }
  publishCount(engine, state, name, result.subscriptionCount, result.revision);
}

function answer(
  engine: ChannelsEngine,
  state: AppState,
  conn: Connection,
  subscription: Subscription,
  type: ChannelType,
  member: MemberInput | undefined,
  result: Joined,
  cached: CachedEventAnswer | undefined,
): void {
  const channel = subscription.channel;
  const name = channel.name;
  state.hub.addSub(conn, subscription);
  // Authorized connections: a signed private/presence/encrypted subscription authorizes the socket.
  if (type.kind !== 'public' && type.kind !== 'user') markAuthorized(conn);
  engine.emit('subscribed', conn.app, name, conn.socketId);
  if (member) {
    subscription.rosterRevision = result.revision;
    conn.sendText(encodeEvent('pusher_internal:subscription_succeeded', name, rosterPayload(result.roster ?? [])));
    // Member changes that reached this node before the socket was added, but after its roster.
    for (const event of channel.presence?.recent ?? []) if (event.revision > result.revision) conn.sendText(event.frame);
  } else {
    conn.sendText(encodeEvent('pusher_internal:subscription_succeeded', name, '{}'));
  }
  if (type.cache) {
    if (cached) conn.sendText(encodeEvent(cached.event, name, cached.data));
    else {
      conn.sendText(encodeEvent('pusher:cache_miss', name, undefined));
      engine.emit('cacheMiss', conn.app, name);
    }
  }
  // A newer count overtook this join's own broadcast: that one will be dropped as stale.
  if (channel.countRevision > result.revision && state.app.subscriptionCountEvents && type.kind !== 'presence' && type.kind !== 'user') {
    sendCount(conn, name, channel.count);
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

/** Unsubscribes at once locally; the Membership's leave runs after any join still in flight. */
export function leaveChannel(engine: ChannelsEngine, state: AppState, conn: Connection, name: string): void {
  const wasJoined = conn.subscriptions.get(name)?.joined === true;
  const removed = release(engine, state, conn, name);
  if (!removed) return;
  if (wasJoined) engine.emit('unsubscribed', conn.app, name, conn.socketId);
  const subscription = removed.subscription;
  void conn.inOrder(() => {
    if (!subscription.token) return; // never counted (refused, or still unanswered when it failed)
    const app = state.app;
    return andThen(engine.membership.leave(app.id, name, subscription.token, subscription.userId), (result) => {
      if (!result.ok) return;
      if (result.memberRemoved) {
        publishMember(engine, app.id, name, result.memberRemoved, false, result.revision);
        engine.emit('memberRemoved', app, name, result.memberRemoved.userId);
      }
      if (result.vacated) engine.emit('channelVacated', app, name);
      publishCount(engine, state, name, result.subscriptionCount, result.revision);
    });
  }, engine.reportError);
}
