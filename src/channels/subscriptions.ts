/** pusher:subscribe / pusher:unsubscribe (spec A.3, A.7, A.8, A.10, A.12). */
import { channelAuthString, verifyAuth } from '../protocol/signatures.js';
import { ErrorCode } from '../protocol/errors.js';
import { channelNameError, channelType, serverToUserId } from '../protocol/names.js';
import { encodeEvent, encodeObjectEvent, encodeSubscriptionError } from '../protocol/messages.js';
import type { AppState } from './app-state.js';
import type { Channel, PresenceMember } from './channel.js';
import type { Connection } from './connection.js';
import type { ChannelsEngine } from './engine.js';
import { markAuthorized } from './authorized-connections.js';
import { clusterSubscribe, clusterUnsubscribe } from './cluster-subscriptions.js';

interface SubscribeData {
  channel?: unknown;
  auth?: unknown;
  channel_data?: unknown;
}

/** Subscription refusals: Pusher's `pusher:error` (code null) plus a channel-scoped subscription_error. */
function refuse(conn: Connection, channel: string, message: string, type = 'AuthError', status = 401): void {
  conn.sendError(message, type === 'AuthError' ? ErrorCode.SubscriptionUnauthorized : null, channel);
  conn.sendText(encodeSubscriptionError(channel, type, message, status));
}

/** Synchronous on a single node; when clustered, resolves once the subscription is answered. */
export function subscribe(engine: ChannelsEngine, state: AppState, conn: Connection, raw: unknown): void | Promise<void> {
  const data = (raw && typeof raw === 'object' ? raw : {}) as SubscribeData;
  const name = data.channel;
  const limits = conn.app.limits;
  const nameError = channelNameError(name, limits.maxChannelNameLength, true);
  if (nameError || typeof name !== 'string') {
    const channel = typeof name === 'string' ? name.slice(0, 200) : '';
    conn.sendError(nameError ?? 'Invalid channel name', null, channel || undefined);
    if (channel) conn.sendText(encodeSubscriptionError(channel, 'InvalidChannel', nameError ?? 'Invalid channel name', 400));
    return;
  }
  if (conn.subscriptions.has(name)) {
    conn.sendError(`Existing subscription to channel ${name}`, null, name);
    return;
  }
  if (conn.subscriptions.size >= limits.maxSubscriptionsPerConnection) {
    refuse(conn, name, `Too many subscriptions on this connection (limit ${limits.maxSubscriptionsPerConnection})`, 'LimitReached', 400);
    return;
  }

  const type = channelType(name);
  let member: Omit<PresenceMember, 'connections'> | undefined;
  switch (type.kind) {
    case 'user': {
      if (!conn.user || conn.user.id !== serverToUserId(name)) {
        refuse(conn, name, `Subscription to ${name} requires being signed in as that user`, 'AuthError', 403);
        return;
      }
      break;
    }
    case 'private':
    case 'encrypted': {
      const signed = privateChannelSignatureValid(conn, name, data);
      if (signed !== true) {
        refuse(conn, name, invalidSignature(signed, data.auth));
        return;
      }
      break;
    }
    case 'presence': {
      const result = presenceMember(conn, name, data);
      if (typeof result === 'string') return;
      member = result;
      break;
    }
    default:
      break;
  }

  if (engine.cluster) return clusterSubscribe(engine, state, conn, name, type, member);
  const channel = state.getOrCreateChannel(name);
  if (member && !channel.members.has(member.userId) && channel.members.size >= limits.maxPresenceMembers) {
    refuse(conn, name, `Presence channel ${name} is full (limit ${limits.maxPresenceMembers} members)`, 'LimitReached', 403);
    if (channel.subscribers.size === 0) state.channels.delete(name);
    return;
  }

  const wasEmpty = channel.subscribers.size === 0;
  channel.subscribers.add(conn);
  conn.subscriptions.set(name, channel);
  // Authorized connections: a signed private/presence/encrypted subscription authorizes the socket.
  if (type.kind !== 'public' && type.kind !== 'user') markAuthorized(conn);
  if (wasEmpty) engine.emit('channelOccupied', conn.app, name);
  engine.emit('subscribed', conn.app, name, conn.socketId);

  if (member) {
    const existing = channel.members.get(member.userId);
    channel.memberOf.set(conn, member.userId);
    if (existing) {
      existing.connections.add(conn);
    } else {
      channel.members.set(member.userId, { ...member, connections: new Set([conn]) });
      // Others learn of the new member; the joining socket gets it in the roster instead.
      const added = encodeObjectEvent('pusher_internal:member_added', name, { user_id: member.rawUserId, user_info: member.userInfo });
      engine.deliverLocal(state, name, added, conn.socketId);
      engine.emit('memberAdded', conn.app, name, member.userId, member.userInfo);
    }
    conn.sendText(encodeEvent('pusher_internal:subscription_succeeded', name, channel.presencePayload()));
  } else {
    conn.sendText(encodeEvent('pusher_internal:subscription_succeeded', name, '{}'));
  }

  if (type.cache) {
    const cached = state.cachedEvent(name, engine.now());
    if (cached) conn.sendText(encodeEvent(cached.event, name, cached.data));
    else {
      conn.sendText(encodeEvent('pusher:cache_miss', name, undefined));
      engine.emit('cacheMiss', conn.app, name);
    }
  }
  subscriptionCountChanged(engine, state, channel);
}

/** Validates presence auth and channel_data; returns the member, or a string after refusing. */
function presenceMember(conn: Connection, name: string, data: SubscribeData): Omit<PresenceMember, 'connections'> | string {
  const limits = conn.app.limits;
  let channelData = data.channel_data;
  if (channelData !== undefined && typeof channelData !== 'string') {
    // Tolerate clients that send channel_data as an object (it must still be what was signed).
    channelData = JSON.stringify(channelData);
  }
  if (channelData === undefined) {
    // pusher-js ≥7.4: no channel_data when the auth endpoint omits it; the signed-in user is the member.
    const signed = channelAuthString(conn.socketId, name);
    if (!verifyAuth(data.auth, signed, conn.app.credentials)) {
      refuse(conn, name, invalidSignature(signed, data.auth));
      return 'refused';
    }
    if (!conn.user) {
      refuse(conn, name, `Presence subscription to ${name} without channel_data requires a signed-in user`, 'AuthError', 403);
      return 'refused';
    }
    const userInfo = conn.user.userInfo;
    if (userInfo !== undefined && Buffer.byteLength(JSON.stringify(userInfo)) > limits.maxPresenceUserInfoBytes) {
      refuse(conn, name, `user_info too large (limit ${limits.maxPresenceUserInfoBytes} bytes)`, 'LimitReached', 400);
      return 'refused';
    }
    return { userId: conn.user.id, rawUserId: conn.user.id, userInfo };
  }
  const signed = channelAuthString(conn.socketId, name, channelData as string);
  if (!verifyAuth(data.auth, signed, conn.app.credentials)) {
    refuse(conn, name, invalidSignature(signed, data.auth));
    return 'refused';
  }
  let parsed: { user_id?: unknown; user_info?: unknown };
  try {
    parsed = JSON.parse(channelData as string) as typeof parsed;
  } catch {
    refuse(conn, name, 'channel_data must be a JSON object with user_id', 'InvalidChannelData', 400);
    return 'refused';
  }
  const rawUserId = parsed?.user_id;
  if ((typeof rawUserId !== 'string' || rawUserId.length === 0) && typeof rawUserId !== 'number') {
    refuse(conn, name, 'channel_data.user_id must be a non-empty string or a number', 'InvalidChannelData', 400);
    return 'refused';
  }
  const userId = String(rawUserId);
  if (userId.length > limits.maxUserIdLength) {
    refuse(conn, name, `user_id too long (limit ${limits.maxUserIdLength} characters)`, 'LimitReached', 400);
    return 'refused';
  }
  const userInfo = parsed.user_info;
  if (userInfo !== undefined && Buffer.byteLength(JSON.stringify(userInfo)) > limits.maxPresenceUserInfoBytes) {
    refuse(conn, name, `user_info too large (limit ${limits.maxPresenceUserInfoBytes} bytes)`, 'LimitReached', 400);
    return 'refused';
  }
  return { userId, rawUserId, userInfo };
}

/**
 * A private/encrypted subscription is signed over `socket_id:channel`, or — as the `pusher` SDK's
 * authorizeChannel(socketId, channel, data) does whenever user data is passed, and Pusher accepts —
 * over `socket_id:channel:channel_data` when the client sends that channel_data. Both forms are
 * always computed and checked, so timing does not reveal which one matched. Returns true, or the
 * string the client should have signed (for the error message).
 */
function privateChannelSignatureValid(conn: Connection, name: string, data: SubscribeData): true | string {
  const plain = channelAuthString(conn.socketId, name);
  const channelData = typeof data.channel_data === 'string' ? data.channel_data : undefined;
  if (channelData === undefined) return verifyAuth(data.auth, plain, conn.app.credentials) ? true : plain;
  const withData = channelAuthString(conn.socketId, name, channelData);
  const plainOk = verifyAuth(data.auth, plain, conn.app.credentials);
  const withDataOk = verifyAuth(data.auth, withData, conn.app.credentials);
  return plainOk || withDataOk ? true : withData;
}

function invalidSignature(signed: string, auth: unknown): string {
  const given = typeof auth === 'string' ? auth.slice(0, 200) : String(auth);
  return `Invalid signature: Expected HMAC SHA256 hex digest of ${signed}, but got ${given}`;
}

export function unsubscribe(engine: ChannelsEngine, state: AppState, conn: Connection, name: string): void {
  const channel = conn.subscriptions.get(name);
  if (!channel) return;
  if (engine.cluster) return clusterUnsubscribe(engine, state, conn, channel);
  conn.subscriptions.delete(name);
  channel.subscribers.delete(conn);
  engine.emit('unsubscribed', conn.app, name, conn.socketId);

  const userId = channel.memberOf.get(conn);
  if (userId !== undefined) {
    channel.memberOf.delete(conn);
    const member = channel.members.get(userId);
    if (member) {
      member.connections.delete(conn);
      if (member.connections.size === 0) {
        channel.members.delete(userId);
        const removed = encodeObjectEvent('pusher_internal:member_removed', name, { user_id: member.rawUserId });
        engine.deliverLocal(state, name, removed);
        engine.emit('memberRemoved', conn.app, name, userId);
      }
    }
  }

  if (channel.subscribers.size === 0) {
    if (channel.subscriptionCountTimer) clearTimeout(channel.subscriptionCountTimer);
    state.channels.delete(name);
    engine.emit('channelVacated', conn.app, name);
  } else {
    subscriptionCountChanged(engine, state, channel);
  }
}

/**
 * pusher_internal:subscription_count (spec A.3): to every subscriber on each change, at most
 * every 5 s for channels over 100 subscribers; never for presence or user channels.
 */
function subscriptionCountChanged(engine: ChannelsEngine, state: AppState, channel: Channel): void {
  if (channel.isPresence || channel.type.kind === 'user') return;
  const app = state.app;
  const send = () => {
    channel.subscriptionCountTimer = undefined;
    const count = channel.subscribers.size;
    if (count === 0) return;
    channel.lastSubscriptionCountSent = engine.now();
    if (app.subscriptionCountEvents) {
      engine.deliverLocal(state, channel.name, encodeObjectEvent('pusher_internal:subscription_count', channel.name, { subscription_count: count }));
    }
    engine.emit('subscriptionCount', app, channel.name, count);
  };
  if (channel.subscribers.size <= 100) {
    send();
    return;
  }
  if (channel.subscriptionCountTimer) return;
  const wait = Math.max(0, channel.lastSubscriptionCountSent + 5000 - engine.now());
  if (wait === 0) send();
  else {
    channel.subscriptionCountTimer = setTimeout(send, wait);
    channel.subscriptionCountTimer.unref();
  }
}
