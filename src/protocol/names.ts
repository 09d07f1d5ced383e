/** Channel and event naming rules (spec A.11) and channel-type detection (A.10). */

export type ChannelKind = 'public' | 'private' | 'presence' | 'encrypted' | 'user';

export interface ChannelType {
  kind: ChannelKind;
  /** Cache channels keep their last event and replay it to new subscribers. */
  cache: boolean;
}

const CHANNEL_NAME = /^[A-Za-z0-9_\-=@,.;]+$/;
const SERVER_TO_USER = '#server-to-user-';
const SOCKET_ID = /^\d+\.\d+$/;

export function channelType(name: string): ChannelType {
  if (name.startsWith(SERVER_TO_USER)) return { kind: 'user', cache: false };
  if (name.startsWith('private-encrypted-')) {
    return { kind: 'encrypted', cache: name.startsWith('private-encrypted-cache-') };
  }
  if (name.startsWith('private-')) return { kind: 'private', cache: name.startsWith('private-cache-') };
  if (name.startsWith('presence-')) return { kind: 'presence', cache: name.startsWith('presence-cache-') };
  return { kind: 'public', cache: name.startsWith('cache-') };
}

export function isPresenceChannel(name: string): boolean {
  return name.startsWith('presence-');
}

/** Private, presence and encrypted channels need a signed `auth`. */
export function requiresAuth(name: string): boolean {
  const { kind } = channelType(name);
  return kind === 'private' || kind === 'presence' || kind === 'encrypted';
}

/** The user id a `#server-to-user-{id}` channel belongs to, or undefined. */
export function serverToUserId(name: string): string | undefined {
  return name.startsWith(SERVER_TO_USER) ? name.slice(SERVER_TO_USER.length) : undefined;
}

export function serverToUserChannel(userId: string): string {
  return SERVER_TO_USER + userId;
}

/**
 * Returns an error text when `name` is not a valid channel name, else undefined.
 * `allowUserChannels` admits the reserved `#server-to-user-{id}` form (HTTP publish, and
 * the automatic subscription pusher-js makes after sign-in).
 */
export function channelNameError(name: unknown, maxLength: number, allowUserChannels = false): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'Channel name must be a non-empty string';
  if (name.length > maxLength) return `Channel name too long (max ${maxLength} characters): ${name.slice(0, 40)}…`;
  const userId = serverToUserId(name);
  if (userId !== undefined) {
    if (!allowUserChannels) return `Invalid channel name ${name}: the # prefix is reserved`;
    return userId.length > 0 ? undefined : `Invalid channel name ${name}: missing user id`;
  }
  if (!CHANNEL_NAME.test(name)) return `Invalid channel name ${name}: only [A-Za-z0-9_-=@,.;] are allowed`;
  return undefined;
}

export function eventNameError(name: unknown, maxLength: number): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'Event name must be a non-empty string';
  if (name.length > maxLength) return `Event name too long (max ${maxLength} characters)`;
  return undefined;
}

export function isValidSocketId(id: unknown): id is string {
  return typeof id === 'string' && id.length <= 64 && SOCKET_ID.test(id);
}
