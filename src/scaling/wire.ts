/**
 * How broker messages travel between nodes: a compact JSON array per message. Event frames are
 * not sent; the receiving node rebuilds the frame once from the event fields, so a payload
 * crosses the network once instead of twice (escaped inside the frame and as `data`).
 */
import { encodeEvent } from '../protocol/messages.js';
import type { ChannelEvent, ControlMessage } from './broker.js';

/** What crosses the wire: a channel event (tagged) or a control message. */
export type WireMessage = ({ type: 'event' } & ChannelEvent) | ControlMessage;

/** Bumped when the layout changes, so mixed versions ignore each other instead of misreading. */
const WIRE_VERSION = 1;

export function encodeBrokerMessage(message: WireMessage): string {
  return message.type === 'event' ? encodeWireEvent(message) : encodeWireControl(message);
}

export function encodeWireEvent(message: ChannelEvent): string {
  return JSON.stringify([
    WIRE_VERSION,
    'e',
    message.appId,
    message.channel,
    message.eventName,
    message.data,
    message.excludeSocketId ?? 0,
    message.source === 'client' ? 1 : 0,
    message.userId ?? 0,
  ]);
}

export function encodeWireControl(message: ControlMessage): string {
  switch (message.type) {
    case 'terminate-user':
      return JSON.stringify([WIRE_VERSION, 't', message.appId, message.userId]);
    case 'member':
      return JSON.stringify([
        WIRE_VERSION,
        'm',
        message.appId,
        message.channel,
        message.userId,
        message.rawUserId,
        message.added ? 1 : 0,
        message.revision,
        message.added ? (message.userInfo ?? null) : null,
      ]);
    case 'subscription-count':
      return JSON.stringify([WIRE_VERSION, 'c', message.appId, message.channel, message.count, message.revision]);
    case 'user-status':
      return JSON.stringify([WIRE_VERSION, 'u', message.appId, message.userId, message.online ? 1 : 0, message.revision]);
    case 'module':
      return JSON.stringify([WIRE_VERSION, 'x', message.appId, message.module, message.body ?? null]);
  }
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Decodes one message; undefined for anything malformed or from another wire version. Never throws. */
export function decodeBrokerMessage(text: string): WireMessage | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed[0] !== WIRE_VERSION || !isString(parsed[2])) return undefined;
  const m = parsed as unknown[];
  const appId = m[2] as string;
  switch (m[1]) {
    case 'e': {
      const [, , , channel, eventName, data, exclude, source, userId] = m;
      if (!isString(channel) || !isString(eventName) || !isString(data)) return undefined;
      const uid = isString(userId) ? userId : undefined;
      return {
        type: 'event',
        appId,
        channel,
        eventName,
        data,
        frame: encodeEvent(eventName, channel, data, uid),
        excludeSocketId: isString(exclude) ? exclude : undefined,
        source: source === 1 ? 'client' : 'api',
        userId: uid,
      };
    }
    case 't':
      return isString(m[3]) ? { type: 'terminate-user', appId, userId: m[3] } : undefined;
    case 'm': {
      const [, , , channel, userId, rawUserId, added, revision, userInfo] = m;
      if (!isString(channel) || !isString(userId) || !isCount(revision)) return undefined;
      if (!isString(rawUserId) && typeof rawUserId !== 'number') return undefined;
      return { type: 'member', appId, channel, userId, rawUserId, added: added === 1, revision, userInfo: added === 1 ? userInfo : undefined };
    }
    case 'c': {
      const [, , , channel, count, revision] = m;
      if (!isString(channel) || !isCount(count) || !isCount(revision)) return undefined;
      return { type: 'subscription-count', appId, channel, count, revision };
    }
    case 'u': {
      const [, , , userId, online, revision] = m;
      if (!isString(userId) || !isCount(revision)) return undefined;
      return { type: 'user-status', appId, userId, online: online === 1, revision };
    }
    case 'x': {
      const [, , , module, body] = m;
      return isString(module) && module.length <= 64 ? { type: 'module', appId, module, body } : undefined;
    }
    default:
      return undefined;
  }
}
