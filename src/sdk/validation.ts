/**
 * Argument checks made before anything is sent. They mirror the official `pusher` SDK's checks
 * (spec D.2) plus the documented server limits that do not depend on per-app settings (spec G).
 */
import { HeraldValidationError } from './errors.js';

export const MAX_CHANNEL_NAME_LENGTH = 200;
export const MAX_EVENT_NAME_LENGTH = 200;
export const MAX_CHANNELS_PER_TRIGGER = 100;
export const MAX_BATCH_EVENTS = 10;
export const MAX_USER_ID_LENGTH = 200;
export const MAX_SOCKET_ID_LENGTH = 64;

const CHANNEL_NAME = /^[A-Za-z0-9_\-=@,.;]+$/;
const SOCKET_ID = /^\d+\.\d+$/;

export function requireObject(value: unknown, name: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HeraldValidationError(name, 'must be an object');
  }
  return value as Record<string, unknown>;
}

export function requireString(value: unknown, name: string, maxLength: number): string {
  if (typeof value !== 'string' || value.length === 0) throw new HeraldValidationError(name, 'must be a non-empty string');
  if (value.length > maxLength) throw new HeraldValidationError(name, `must be at most ${maxLength} characters`);
  return value;
}

export function optionalString(value: unknown, name: string, maxLength: number): string | undefined {
  return value === undefined || value === null ? undefined : requireString(value, name, maxLength);
}

/** Channel names: `[A-Za-z0-9_-=@,.;]`, at most 200 characters (the official SDK's rule). */
export function validateChannelName(value: unknown, name: string): string {
  const channel = requireString(value, name, MAX_CHANNEL_NAME_LENGTH);
  if (!CHANNEL_NAME.test(channel)) {
    throw new HeraldValidationError(name, `"${channel.slice(0, 60)}" contains characters outside A-Z a-z 0-9 _ - = @ , . ;`);
  }
  return channel;
}

/** Event names: non-empty, at most 200 characters, and not in the `pusher:` namespaces the server refuses. */
export function validateEventName(value: unknown, name: string): string {
  const event = requireString(value, name, MAX_EVENT_NAME_LENGTH);
  if (event.startsWith('pusher:') || event.startsWith('pusher_internal:')) {
    throw new HeraldValidationError(name, 'event names starting with "pusher:" or "pusher_internal:" are reserved');
  }
  return event;
}

export function validateSocketId(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length > MAX_SOCKET_ID_LENGTH || !SOCKET_ID.test(value)) {
    throw new HeraldValidationError(name, 'must look like "1234.5678" (two integers joined by a dot)');
  }
  return value;
}

export function optionalSocketId(value: unknown, name: string): string | undefined {
  return value === undefined || value === null ? undefined : validateSocketId(value, name);
}

/** User ids (sign-in, send-to-user, terminate): non-empty, at most 200 characters, no control characters. */
export function validateUserId(value: unknown, name: string): string {
  const userId = requireString(value, name, MAX_USER_ID_LENGTH);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(userId)) throw new HeraldValidationError(name, 'must not contain control characters');
  return userId;
}

export type TriggerInfoAttribute = 'subscription_count' | 'user_count';
export type ChannelInfoAttribute = TriggerInfoAttribute | 'cache';

/** Comma-separated attribute list such as `subscription_count,user_count`; checks names and duplicates. */
export function validateInfo<T extends string>(value: unknown, name: string, allowed: readonly T[]): T[] | undefined {
  if (value === undefined || value === null) return undefined;
  const list = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value : undefined;
  if (!list || list.length === 0 || list.length > allowed.length) {
    throw new HeraldValidationError(name, `must be a comma-separated list of ${allowed.join(', ')}`);
  }
  const seen = new Set<T>();
  for (const item of list) {
    if (typeof item !== 'string' || !(allowed as readonly string[]).includes(item)) {
      throw new HeraldValidationError(name, `unknown attribute "${String(item)}"; allowed: ${allowed.join(', ')}`);
    }
    if (seen.has(item as T)) throw new HeraldValidationError(name, `attribute "${item}" is listed twice`);
    seen.add(item as T);
  }
  return [...seen];
}

/** Event data: strings are sent as-is, everything else is JSON-encoded (like the official SDK). */
export function serializeEventData(value: unknown, name: string): string {
  if (value === undefined) throw new HeraldValidationError(name, 'is required');
  if (typeof value === 'string') return value;
  return stringifyJson(value, name);
}

export function stringifyJson(value: unknown, name: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new HeraldValidationError(name, `cannot be encoded as JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (text === undefined) throw new HeraldValidationError(name, 'cannot be encoded as JSON');
  return text;
}

export function isEncryptedChannel(channel: string): boolean {
  return channel.startsWith('private-encrypted-');
}

export function isPresenceChannel(channel: string): boolean {
  return channel.startsWith('presence-');
}

export function isCacheChannel(channel: string): boolean {
  return /^(private-encrypted-|private-|presence-)?cache-/.test(channel);
}

/** API paths given to customGet/customPost/createSignedQueryString. */
export function validateApiPath(value: unknown, name: string): string {
  const path = requireString(value, name, 2048);
  if (!path.startsWith('/')) throw new HeraldValidationError(name, 'must start with "/"');
  if (/[?#\s]/.test(path)) throw new HeraldValidationError(name, 'must not contain "?", "#" or whitespace; pass query parameters in params');
  return path;
}
