/**
 * Typed Channels server client: the 14 methods of the integration seed, each taking one parameter
 * object. Requests and signatures are byte-compatible with the official `pusher` SDK (spec B, D),
 * so it works against Pusher and Herald alike. fetch + Web Crypto only: no Node-only APIs.
 */
import { resolveChannelsConfig, type ChannelsConfig, type ProviderConfiguration, type ResolvedChannelsConfig } from './config.js';
import { bytesToBase64 } from './encoding.js';
import { encryptEventData, channelSharedSecret } from './encryption.js';
import { HeraldConfigurationError, HeraldValidationError } from './errors.js';
import { channelAuth, encodePathSegment, HmacSigner, signQuery, userAuth, type QueryParams } from './signing.js';
import { LIBRARY_HEADER, Transport } from './transport.js';
import type * as T from './types.js';
import {
  MAX_BATCH_EVENTS,
  MAX_CHANNELS_PER_TRIGGER,
  isCacheChannel,
  isEncryptedChannel,
  isPresenceChannel,
  optionalSocketId,
  requireObject,
  requireString,
  serializeEventData,
  stringifyJson,
  validateApiPath,
  validateChannelName,
  validateEventName,
  validateInfo,
  validateSocketId,
  validateUserId,
} from './validation.js';
import { validateWebhook, type ValidateWebhookParams, type WebhookValidationResult } from './webhook.js';

const TRIGGER_INFO = ['subscription_count', 'user_count'] as const;
const CHANNEL_INFO = ['subscription_count', 'user_count', 'cache'] as const;
const MAX_WATCHLIST = 100;
const MAX_RAW_BODY_CHARS = 10 * 1024 * 1024;

export class ChannelsClient {
  /** Public parts of the resolved configuration (no secret, no master key). */
  readonly appId: string;
  readonly key: string;
  readonly baseUrl: string;
  readonly #config: ResolvedChannelsConfig;
  readonly #signer: HmacSigner;
  readonly #transport: Transport;
  readonly #clock: () => number;

  /** @throws HeraldConfigurationError when the configuration is invalid. */
  constructor(config: ChannelsConfig | ProviderConfiguration, options: T.ClientOptions = {}) {
    this.#config = resolveChannelsConfig(config);
    this.appId = this.#config.appId;
    this.key = this.#config.key;
    this.baseUrl = this.#config.baseUrl;
    this.#signer = new HmacSigner(this.#config.secret);
    if (options.clock !== undefined && typeof options.clock !== 'function') throw new HeraldConfigurationError('clock', 'must be a function returning milliseconds');
    if (options.fetch !== undefined && typeof options.fetch !== 'function') throw new HeraldConfigurationError('fetch', 'must be a fetch-compatible function');
    this.#clock = options.clock ?? Date.now;
    this.#transport = new Transport({
      proxy: this.#config.proxy,
      keepAlive: this.#config.keepAlive,
      timeoutMs: this.#config.timeoutMs,
      fetch: options.fetch,
      warn: options.onWarning ?? ((message) => console.warn(message)),
    });
  }

  // ---- Events -------------------------------------------------------------------------------

  /** Publishes one event to one channel (encrypted automatically for `private-encrypted-` channels). */
  async triggerEvent(params: T.TriggerEventParams): Promise<T.TriggerResult> {
    const p = requireObject(params, 'params');
    const channel = validateChannelName(p.channel, 'channel');
    return this.#trigger([channel], p, 'data');
  }

  /** Publishes one event to 1–100 channels (none of them encrypted, unless it is the only one). */
  async triggerMultipleChannels(params: T.TriggerMultipleChannelsParams): Promise<T.TriggerResult> {
    const p = requireObject(params, 'params');
    if (!Array.isArray(p.channels) || p.channels.length === 0 || p.channels.length > MAX_CHANNELS_PER_TRIGGER) {
      throw new HeraldValidationError('channels', `must be an array of 1–${MAX_CHANNELS_PER_TRIGGER} channel names`);
    }
    const channels = p.channels.map((channel, index) => validateChannelName(channel, `channels[${index}]`));
    return this.#trigger(channels, p, 'data');
  }

  /** Publishes 1–10 events, each to its own channel, in one request. */
  async triggerBatch(params: T.TriggerBatchParams): Promise<T.TriggerBatchResult> {
    const p = requireObject(params, 'params');
    if (!Array.isArray(p.events) || p.events.length === 0 || p.events.length > MAX_BATCH_EVENTS) {
      throw new HeraldValidationError('events', `must be an array of 1–${MAX_BATCH_EVENTS} events`);
    }
    const batch: Array<Record<string, string>> = [];
    for (const [index, raw] of p.events.entries()) {
      const at = `events[${index}]`;
      const item = requireObject(raw, at);
      const channel = validateChannelName(item.channel, `${at}.channel`);
      const name = validateEventName(pickAlias(item, 'event', 'name', at), `${at}.event`);
      const socketId = optionalSocketId(pickAlias(item, 'socketId', 'socket_id', at), `${at}.socketId`);
      const info = validateInfo(item.info, `${at}.info`, TRIGGER_INFO);
      const data = await this.#eventData(channel, item.data, `${at}.data`);
      const entry: Record<string, string> = { channel, name, data };
      if (socketId !== undefined) entry.socket_id = socketId;
      if (info !== undefined) entry.info = info.join(',');
      batch.push(entry);
    }
    return this.#request<T.TriggerBatchResult>('POST', '/batch_events', { body: { batch } });
  }

  /** Sends an event to every connection signed in as `userId` (channel `#server-to-user-{userId}`). */
  async sendToUser(params: T.SendToUserParams): Promise<T.TriggerResult> {
    const p = requireObject(params, 'params');
    const userId = validateUserId(p.userId, 'userId');
    const name = validateEventName(p.event, 'event');
    const data = serializeEventData(p.data, 'data');
    return this.#request<T.TriggerResult>('POST', '/events', { body: { name, data, channels: [`#server-to-user-${userId}`] } });
  }

  // ---- Channels -----------------------------------------------------------------------------

  /** Lists occupied channels, optionally filtered by prefix; `info: "user_count"` needs a `presence-` prefix. */
  async listChannels(params: T.ListChannelsParams = {}): Promise<T.ListChannelsResult> {
    const p = requireObject(params ?? {}, 'params');
    let prefix: string | undefined;
    if (p.filterByPrefix !== undefined && p.filterByPrefix !== null) {
      prefix = requireString(p.filterByPrefix, 'filterByPrefix', 200);
      if (!/^[A-Za-z0-9_\-=@,.;]+$/.test(prefix)) throw new HeraldValidationError('filterByPrefix', 'contains characters that cannot appear in channel names');
    }
    const info = validateInfo(p.info, 'info', ['user_count'] as const);
    if (info && !prefix?.startsWith('presence-')) {
      throw new HeraldValidationError('info', '"user_count" is only available when filterByPrefix starts with "presence-"');
    }
    const query: Record<string, string> = {};
    if (prefix !== undefined) query.filter_by_prefix = prefix;
    if (info !== undefined) query.info = info.join(',');
    return this.#request<T.ListChannelsResult>('GET', '/channels', { params: query });
  }

  /** State of one channel: `occupied` plus the requested counts. */
  async getChannel(params: T.GetChannelParams): Promise<T.ChannelInfo> {
    const p = requireObject(params, 'params');
    const channel = validateChannelName(p.channelName, 'channelName');
    const info = validateInfo(p.info, 'info', CHANNEL_INFO);
    if (info?.includes('user_count') && !isPresenceChannel(channel)) {
      throw new HeraldValidationError('info', '"user_count" is only available for presence- channels');
    }
    if (info?.includes('cache') && !isCacheChannel(channel)) {
      throw new HeraldValidationError('info', '"cache" is only available for cache channels');
    }
    return this.#request<T.ChannelInfo>('GET', `/channels/${encodePathSegment(channel)}`, {
      params: info === undefined ? undefined : { info: info.join(',') },
    });
  }

  /** Members of a presence channel. */
  async getChannelUsers(params: T.GetChannelUsersParams): Promise<T.ChannelUsersResult> {
    const p = requireObject(params, 'params');
    const channel = validateChannelName(p.channelName, 'channelName');
    if (!isPresenceChannel(channel)) throw new HeraldValidationError('channelName', 'must be a presence- channel');
    return this.#request<T.ChannelUsersResult>('GET', `/channels/${encodePathSegment(channel)}/users`, {});
  }

  // ---- Authentication (local, nothing is sent) ------------------------------------------------

  /** Response body for pusher-js's user-authentication endpoint (`signin()`). */
  async authenticateUser(params: T.AuthenticateUserParams): Promise<T.UserAuthentication> {
    const p = requireObject(params, 'params');
    const socketId = validateSocketId(p.socketId, 'socketId');
    const userData = requireObject(p.userData, 'userData');
    validateUserId(userData.id, 'userData.id');
    for (const field of ['name', 'email', 'avatar'] as const) {
      if (userData[field] !== undefined && typeof userData[field] !== 'string') throw new HeraldValidationError(`userData.${field}`, 'must be a string');
    }
    if (userData.user_info !== undefined) requireObject(userData.user_info, 'userData.user_info');
    if (userData.watchlist !== undefined) {
      const list = userData.watchlist;
      if (!Array.isArray(list) || list.length > MAX_WATCHLIST || list.some((id) => typeof id !== 'string' || id === '')) {
        throw new HeraldValidationError('userData.watchlist', `must be an array of at most ${MAX_WATCHLIST} non-empty user ids`);
      }
    }
    const serialized = stringifyJson(userData, 'userData');
    return { auth: await userAuth(this.#config.key, this.#signer, socketId, serialized), user_data: serialized };
  }

  /** Response body for pusher-js's channel-authorization endpoint (private, presence, encrypted channels). */
  async authorizeChannel(params: T.AuthorizeChannelParams): Promise<T.ChannelAuthorization> {
    const p = requireObject(params, 'params');
    const socketId = validateSocketId(p.socketId, 'socketId');
    const channel = validateChannelName(p.channel, 'channel');
    if (!channel.startsWith('private-') && !isPresenceChannel(channel)) {
      throw new HeraldValidationError('channel', 'only private-, private-encrypted- and presence- channels need authorization');
    }
    let channelData: string | undefined;
    const hasChannelData = p.channelData !== undefined && p.channelData !== null;
    if (hasChannelData && !isPresenceChannel(channel)) throw new HeraldValidationError('channelData', 'is only used for presence- channels');
    // Presence without channelData is pusher-js ≥ 7.4's flow for a signed-in connection: the
    // signature covers `{socket_id}:{channel}` and the server takes the member from the sign-in,
    // exactly what the official SDK's authorizeChannel(socketId, channel) returns (spec A.3).
    if (hasChannelData) {
      const data = requireObject(p.channelData, 'channelData');
      const userId = data.user_id;
      const validId = (typeof userId === 'string' && userId !== '' && userId.length <= 200) || (typeof userId === 'number' && Number.isFinite(userId));
      if (!validId) throw new HeraldValidationError('channelData.user_id', 'must be a non-empty string (at most 200 characters) or a number');
      if (data.user_info !== undefined) requireObject(data.user_info, 'channelData.user_info');
      channelData = stringifyJson(data, 'channelData');
    }
    const auth = await channelAuth(this.#config.key, this.#signer, socketId, channel, channelData);
    // Same key order as the official SDK: channel_data, auth, shared_secret.
    const result: T.ChannelAuthorization = channelData === undefined ? { auth } : { channel_data: channelData, auth };
    if (isEncryptedChannel(channel)) {
      result.shared_secret = bytesToBase64(await channelSharedSecret(channel, this.#requireMasterKey()));
    }
    return result;
  }

  // ---- Users --------------------------------------------------------------------------------

  /** Disconnects every connection signed in as `userId`. */
  async terminateUserConnections(params: T.TerminateUserConnectionsParams): Promise<Record<string, never>> {
    const p = requireObject(params, 'params');
    const userId = validateUserId(p.userId, 'userId');
    return this.#request('POST', `/users/${encodePathSegment(userId)}/terminate_connections`, { body: {} });
  }

  // ---- Webhooks -----------------------------------------------------------------------------

  /** Checks a received webhook against this app's key/secret and any `additionalTokens`. Never throws for a bad webhook. */
  async validateWebhook(params: ValidateWebhookParams): Promise<WebhookValidationResult> {
    return validateWebhook({ key: this.#config.key, secret: this.#config.secret }, params);
  }

  // ---- Utilities ----------------------------------------------------------------------------

  /** Signed query string (`auth_key=…&…&auth_signature=…`) for a request you send yourself. */
  async createSignedQueryString(params: T.CreateSignedQueryStringParams): Promise<string> {
    const p = requireObject(params, 'params');
    const method = requireString(p.method, 'method', 10);
    if (!/^[A-Za-z]+$/.test(method)) throw new HeraldValidationError('method', 'must be an HTTP method such as GET or POST');
    const path = validateApiPath(p.path, 'path');
    if (p.body !== undefined && p.body !== null && typeof p.body !== 'string') {
      throw new HeraldValidationError('body', 'must be the raw body string (JSON-encode objects first)');
    }
    const body = (p.body ?? undefined) as string | undefined;
    if (body !== undefined && body.length > MAX_RAW_BODY_CHARS) throw new HeraldValidationError('body', `longer than ${MAX_RAW_BODY_CHARS} characters`);
    const signed = await signQuery({
      key: this.#config.key,
      signer: this.#signer,
      method,
      path,
      body,
      params: p.params as QueryParams | undefined,
      timestampSeconds: this.#nowSeconds(),
    });
    return signed.queryString;
  }

  /** Signed GET to `/apps/{appId}{path}`; resolves with the parsed JSON body. */
  async customGet<R = unknown>(params: T.CustomGetParams): Promise<R> {
    const p = requireObject(params, 'params');
    return this.#request<R>('GET', validateApiPath(p.path, 'path'), { params: p.params as QueryParams | undefined });
  }

  /** Signed POST to `/apps/{appId}{path}` with `body` JSON-encoded; resolves with the parsed JSON body. */
  async customPost<R = unknown>(params: T.CustomPostParams): Promise<R> {
    const p = requireObject(params, 'params');
    const path = validateApiPath(p.path, 'path');
    if (p.body !== undefined) stringifyJson(p.body, 'body');
    return this.#request<R>('POST', path, { params: p.params as QueryParams | undefined, body: p.body });
  }

  // ---- Internals ----------------------------------------------------------------------------

  async #trigger(channels: string[], p: Record<string, unknown>, dataName: string): Promise<T.TriggerResult> {
    const name = validateEventName(p.event, 'event');
    const socketId = optionalSocketId(p.socketId, 'socketId');
    const info = validateInfo(p.info, 'info', TRIGGER_INFO);
    if (channels.length > 1 && channels.some(isEncryptedChannel)) {
      throw new HeraldValidationError('channels', 'an event for a private-encrypted- channel must be sent to that channel alone');
    }
    // Past the check above an encrypted channel is the only one, so its key decides the data.
    const encrypted = channels.find(isEncryptedChannel);
    const data = encrypted === undefined ? serializeEventData(p.data, dataName) : await this.#eventData(encrypted, p.data, dataName);
    // Same body key order as the official SDK: name, data, channels, then socket_id / info.
    const body: Record<string, unknown> = { name, data, channels };
    if (socketId !== undefined) body.socket_id = socketId;
    if (info !== undefined) body.info = info.join(',');
    return this.#request<T.TriggerResult>('POST', '/events', { body });
  }

  async #eventData(channel: string, data: unknown, name: string): Promise<string> {
    if (!isEncryptedChannel(channel)) return serializeEventData(data, name);
    if (data === undefined) throw new HeraldValidationError(name, 'is required');
    return encryptEventData(channel, stringifyJson(data, name), this.#requireMasterKey());
  }

  #requireMasterKey(): Uint8Array {
    if (!this.#config.masterKey) {
      throw new HeraldConfigurationError('encryptionMasterKeyBase64', 'is required for private-encrypted- channels');
    }
    return this.#config.masterKey;
  }

  #nowSeconds(): number {
    const now = this.#clock();
    if (typeof now !== 'number' || !Number.isFinite(now) || now < 0) throw new HeraldConfigurationError('clock', 'returned something other than milliseconds since the epoch');
    return Math.floor(now / 1000);
  }

  async #request<R>(method: 'GET' | 'POST', subPath: string, options: { params?: QueryParams; body?: unknown }): Promise<R> {
    const path = `/apps/${this.#config.appId}${subPath}`;
    // Like the official SDK: a falsy body means "no body" (no body_md5, no content-type).
    const body = options.body ? JSON.stringify(options.body) : undefined;
    const signed = await signQuery({
      key: this.#config.key,
      signer: this.#signer,
      method,
      path,
      body,
      params: options.params,
      timestampSeconds: this.#nowSeconds(),
    });
    const headers: Record<string, string> = { 'x-pusher-library': LIBRARY_HEADER };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return this.#transport.sendJson<R>({ method, url: `${this.#config.baseUrl}${path}?${signed.queryString}`, headers, body });
  }
}

/** Reads `primary` or its alias; both set to different values is an error. */
function pickAlias(item: Record<string, unknown>, primary: string, alias: string, at: string): unknown {
  const a = item[primary];
  const b = item[alias];
  if (a !== undefined && b !== undefined && a !== b) {
    throw new HeraldValidationError(`${at}.${primary}`, `"${primary}" and "${alias}" are both set to different values`);
  }
  return a ?? b;
}
