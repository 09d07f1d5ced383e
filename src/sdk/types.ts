/** Parameter and result types of the Channels client (one parameter object per method, as in the seed). */
import type { QueryParams } from './signing.js';
import type { ChannelInfoAttribute, TriggerInfoAttribute } from './validation.js';

/** `"subscription_count"`, `"user_count"` or both, comma-separated (an array is accepted too). */
export type TriggerInfo = string | readonly TriggerInfoAttribute[];

export interface TriggerEventParams {
  /** Channel name: at most 200 characters of `A-Z a-z 0-9 _ - = @ , . ;`. */
  channel: string;
  /** Event name: at most 200 characters, not starting with `pusher:`. */
  event: string;
  /** Payload: strings are sent as-is, anything else JSON-encoded. */
  data: unknown;
  /** Socket id (`1234.5678`) that should not receive the event. */
  socketId?: string;
  /** Ask for counts in the response. */
  info?: TriggerInfo;
}

export interface TriggerMultipleChannelsParams {
  /** 1–100 channel names. */
  channels: readonly string[];
  event: string;
  data: unknown;
  socketId?: string;
  info?: TriggerInfo;
}

export interface BatchEvent {
  channel: string;
  /** Event name (`name` is accepted as an alias, the official SDK's spelling). */
  event?: string;
  name?: string;
  data: unknown;
  /** Socket id to exclude (`socket_id` accepted as an alias). */
  socketId?: string;
  socket_id?: string;
  info?: TriggerInfo;
}

export interface TriggerBatchParams {
  /** 1–10 events. */
  events: readonly BatchEvent[];
}

export interface SendToUserParams {
  userId: string;
  event: string;
  data: unknown;
}

export interface ChannelCounts {
  subscription_count?: number;
  user_count?: number;
}

/** `{}` unless `info` was requested; then one entry per channel. */
export interface TriggerResult {
  channels?: Record<string, ChannelCounts>;
}

/** `{}` unless some event had `info`; then `batch[i]` belongs to `events[i]`. */
export interface TriggerBatchResult {
  batch?: ChannelCounts[];
}

export interface ListChannelsParams {
  /** Only channels whose name starts with this prefix. */
  filterByPrefix?: string;
  /** `"user_count"`; only allowed when filterByPrefix starts with `presence-`. */
  info?: string | readonly 'user_count'[];
}

export interface ListChannelsResult {
  channels: Record<string, { user_count?: number }>;
}

export interface GetChannelParams {
  channelName: string;
  /** `subscription_count`, `user_count` (presence only), `cache` (cache channels only); comma-separated. */
  info?: string | readonly ChannelInfoAttribute[];
}

export interface ChannelInfo {
  occupied: boolean;
  subscription_count?: number;
  user_count?: number;
  cache?: { data: string; ttl: number; event?: string } | null;
}

export interface GetChannelUsersParams {
  /** A `presence-` channel. */
  channelName: string;
}

export interface ChannelUsersResult {
  users: Array<{ id: string | number }>;
}

/** User data for sign-in; `id` is required, the rest is passed through to pusher-js. */
export interface UserData {
  id: string;
  name?: string;
  email?: string;
  avatar?: string;
  user_info?: Record<string, unknown>;
  /** User ids whose online status this user watches (at most 100). */
  watchlist?: readonly string[];
  [field: string]: unknown;
}

export interface AuthenticateUserParams {
  socketId: string;
  userData: UserData;
}

export interface UserAuthentication {
  auth: string;
  user_data: string;
}

export interface PresenceChannelData {
  /** The member's user id (a number is accepted, as pusher-js does). */
  user_id: string | number;
  user_info?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface AuthorizeChannelParams {
  socketId: string;
  /** A `private-`, `private-encrypted-` or `presence-` channel. */
  channel: string;
  /**
   * Presence channels: the member to admit. Omit it for a connection that signed in
   * (authenticateUser): the server then admits the signed-in user. Refused for other channels.
   */
  channelData?: PresenceChannelData;
}

export interface ChannelAuthorization {
  channel_data?: string;
  auth: string;
  /** Base64 per-channel key for `private-encrypted-` channels. */
  shared_secret?: string;
}

export interface TerminateUserConnectionsParams {
  userId: string;
}

export interface CreateSignedQueryStringParams {
  /** GET, POST, PUT, PATCH or DELETE (any case). */
  method: string;
  /** Full path, signed as given, e.g. `/apps/123/events`. */
  path: string;
  /** Raw request body; its MD5 is included when non-empty. */
  body?: string;
  params?: QueryParams;
}

export interface CustomGetParams {
  /** Path below `/apps/{appId}`, e.g. `/channels`. */
  path: string;
  params?: QueryParams;
}

export interface CustomPostParams {
  /** Path below `/apps/{appId}`, e.g. `/events`. */
  path: string;
  params?: QueryParams;
  /** JSON-encoded before sending; omit for an empty body. */
  body?: unknown;
}

/** Advanced options that are not part of the seed's configuration. */
export interface ClientOptions {
  /** fetch to use instead of `globalThis.fetch` (then proxy/keepAlive are that fetch's job). */
  fetch?: import('./runtime.js').FetchLike;
  /** Milliseconds since the epoch; used for `auth_timestamp` (tests pin it). Default `Date.now`. */
  clock?: () => number;
  /** Where runtime warnings go (e.g. keepAlive that cannot be applied). Default `console.warn`. */
  onWarning?: (message: string) => void;
}
