/**
 * Frame encoding (spec A.2). Server→client `data` is always a JSON string ("double encoding"),
 * except `pusher:error`, whose data Pusher sends as an object.
 */
import { ErrorCode } from './errors.js';
import { JSON_DEPTH_MESSAGE, jsonTextTooDeep } from './json-depth.js';

export interface InboundFrame {
  event: string;
  channel?: string;
  /** Client→server data: pusher-js sends objects; old clients send JSON strings (decoded here). */
  data: unknown;
}

export type ParseResult = { ok: true; frame: InboundFrame } | { ok: false; error: string };

/** Parses one client text frame. Never throws. */
export function parseInboundFrame(text: string): ParseResult {
  // Handlers serialize client data again (client events, error texts), which recurses: a frame
  // nested thousands deep overflowed the stack there. Refused like any other malformed frame.
  if (jsonTextTooDeep(text)) return { ok: false, error: JSON_DEPTH_MESSAGE };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, error: 'Invalid JSON' };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { ok: false, error: 'Message must be a JSON object' };
  }
  const record = parsed as Record<string, unknown>;
  if (typeof record.event !== 'string' || record.event.length === 0) {
    return { ok: false, error: 'Message must have a string "event"' };
  }
  if (record.channel !== undefined && typeof record.channel !== 'string') {
    return { ok: false, error: '"channel" must be a string' };
  }
  let data = record.data;
  if (typeof data === 'string' && record.event.startsWith('pusher:')) {
    // Old protocol clients double-encode data of pusher: events.
    if (jsonTextTooDeep(data)) return { ok: false, error: JSON_DEPTH_MESSAGE };
    try {
      data = JSON.parse(data);
    } catch {
      /* keep the string; handlers validate their own fields */
    }
  }
  return { ok: true, frame: { event: record.event, channel: record.channel as string | undefined, data } };
}

/** Serializes a server→client event; `data` is a string already (or undefined). */
export function encodeEvent(event: string, channel: string | undefined, data: string | undefined, userId?: string): string {
  // Hand-built to avoid an intermediate object; JSON.stringify on each string keeps escaping exact.
  let out = '{"event":' + JSON.stringify(event);
  if (channel !== undefined) out += ',"channel":' + JSON.stringify(channel);
  if (data !== undefined) out += ',"data":' + JSON.stringify(data);
  if (userId !== undefined) out += ',"user_id":' + JSON.stringify(userId);
  return out + '}';
}

/** Server→client event whose payload is an object, double-encoded as Pusher requires. */
export function encodeObjectEvent(event: string, channel: string | undefined, payload: unknown): string {
  return encodeEvent(event, channel, JSON.stringify(payload));
}

/** A `pusher:error`; no code given means {@link ErrorCode.Generic}, so the code is always a number. */
export function encodeError(message: string, code: number | null, channel?: string): string {
  const frame: Record<string, unknown> = { event: 'pusher:error', data: { code: code ?? ErrorCode.Generic, message } };
  if (channel !== undefined) frame.channel = channel;
  return JSON.stringify(frame);
}

export function encodeConnectionEstablished(socketId: string, activityTimeoutSeconds: number): string {
  return encodeObjectEvent('pusher:connection_established', undefined, {
    socket_id: socketId,
    activity_timeout: activityTimeoutSeconds,
  });
}

/** Channel-scoped subscription failure that pusher-js hands to `pusher:subscription_error` listeners. */
export function encodeSubscriptionError(channel: string, type: string, error: string, status: number): string {
  return JSON.stringify({ event: 'pusher:subscription_error', channel, data: { type, error, status } });
}

export const PONG_FRAME = encodeEvent('pusher:pong', undefined, '{}');
export const PING_FRAME = encodeEvent('pusher:ping', undefined, '{}');

/** Converts a client-supplied data value to the string form forwarded to other clients. */
export function dataToString(data: unknown): string {
  if (typeof data === 'string') return data;
  return JSON.stringify(data ?? null);
}
