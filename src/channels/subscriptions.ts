/** pusher:subscribe / pusher:unsubscribe (spec A.3, A.7, A.8, A.10, A.12): validation; membership.ts does the rest. */
import { channelAuthString, verifyAuth } from '../protocol/signatures.js';
import { ErrorCode } from '../protocol/errors.js';
import { channelNameError, channelType, serverToUserId } from '../protocol/names.js';
import { encodeSubscriptionError } from '../protocol/messages.js';
import { JSON_DEPTH_MESSAGE, jsonTextTooDeep } from '../protocol/json-depth.js';
import type { MemberInput } from '../scaling/cluster-state.js';
import type { AppState } from './app-state.js';
import type { Connection } from './connection.js';
import type { ChannelsEngine } from './engine.js';
import { joinChannel, leaveChannel } from './membership.js';

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

/** Synchronous on in-memory backends; otherwise resolves once the subscription is answered. */
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
  let member: MemberInput | undefined;
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

  return joinChannel(engine, state, conn, name, type, member);
}

/** Validates presence auth and channel_data; returns the member, or a string after refusing. */
function presenceMember(conn: Connection, name: string, data: SubscribeData): MemberInput | string {
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
  // user_info is serialized again (its size, member events): nested thousands deep it overflowed the stack.
  if (jsonTextTooDeep(channelData as string)) {
    refuse(conn, name, `channel_data: ${JSON_DEPTH_MESSAGE}`, 'InvalidChannelData', 400);
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
  leaveChannel(engine, state, conn, name);
}
