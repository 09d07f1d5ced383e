/**
 * Typed Beams (push notifications) server client (spec F): publish to interests or users, delete a
 * user, and mint the HS256 JWT the web SDK needs for `setUserId`. Compatible with Pusher Beams and
 * Herald's Beams API; fetch + Web Crypto only.
 */
import { fromProviderConfiguration, isProviderConfiguration, MAX_TIMEOUT_MS, readBoolean, readInteger, readString, rejectUnknownNames, type ProviderConfiguration } from './config.js';
import { bytesToBase64Url, utf8Bytes } from './encoding.js';
import { BeamsHttpError, HeraldConfigurationError, HeraldValidationError } from './errors.js';
import type { FetchLike } from './runtime.js';
import { hmacSha256 } from './signing.js';
import { LIBRARY_HEADER, Transport } from './transport.js';
import { requireObject, stringifyJson } from './validation.js';

export interface BeamsConfig {
  instanceId: string;
  secretKey: string;
  /**
   * Origin (and optional path prefix) of the Beams API, e.g. Herald's `http://127.0.0.1:6001`.
   * Default `https://{instanceId}.pushnotifications.pusher.com`.
   */
  baseUrl?: string;
  /** Request timeout in milliseconds; omitted or 0 → none. */
  timeout?: number;
  keepAlive?: boolean;
  proxy?: string;
}

export interface BeamsClientOptions {
  fetch?: FetchLike;
  /** Milliseconds since the epoch, for JWT `iat`. Default `Date.now`. */
  clock?: () => number;
  onWarning?: (message: string) => void;
}

/** Gateway payloads are passed through unchanged (spec F.1); see docs/sdk.md for their fields. */
export interface PublishPayload {
  apns?: Record<string, unknown>;
  fcm?: Record<string, unknown>;
  web?: { time_to_live?: number; notification?: Record<string, unknown>; data?: Record<string, unknown>; [field: string]: unknown };
  [field: string]: unknown;
}

export interface PublishToInterestsParams extends PublishPayload {
  /** 1–100 interest names, each ≤164 characters of `A-Z a-z 0-9 _ - = @ , . ;`. */
  interests: readonly string[];
  webhookUrl?: string;
}

export interface PublishToUsersParams extends PublishPayload {
  /** 1–1000 user ids, each 1–164 bytes of UTF-8. */
  users: readonly string[];
}

export interface PublishResult {
  publishId: string;
}

export const MAX_INTERESTS_PER_PUBLISH = 100;
export const MAX_USERS_PER_PUBLISH = 1000;
export const MAX_BEAMS_NAME_LENGTH = 164;
export const MAX_INTERESTS_BODY_BYTES = 10 * 1024;
export const MAX_USERS_BODY_BYTES = 200 * 1024;
export const TOKEN_TTL_SECONDS = 24 * 60 * 60;

const INTEREST_NAME = /^[A-Za-z0-9_\-=@,.;]+$/;
const CONFIG_NAMES = ['instanceId', 'secretKey', 'baseUrl', 'timeout', 'keepAlive', 'proxy'] as const;

export class BeamsClient {
  readonly instanceId: string;
  readonly baseUrl: string;
  readonly #secretKey: string;
  readonly #transport: Transport;
  readonly #clock: () => number;

  /** @throws HeraldConfigurationError when the configuration is invalid. */
  constructor(config: BeamsConfig | ProviderConfiguration, options: BeamsClientOptions = {}) {
    if (!config || typeof config !== 'object') throw new HeraldConfigurationError('config', 'must be an object {instanceId, secretKey, baseUrl?}');
    const raw = isProviderConfiguration(config)
      ? fromProviderConfiguration(config, ['PusherBeams', 'Beams', 'HeraldBeams'])
      : { ...(config as unknown as Record<string, unknown>) };
    rejectUnknownNames(raw, CONFIG_NAMES);
    const instanceId = readString(raw, 'instanceId', true, 128)!;
    if (!/^[A-Za-z0-9_.~-]+$/.test(instanceId)) throw new HeraldConfigurationError('instanceId', 'must contain only A-Z a-z 0-9 _ . ~ -');
    this.instanceId = instanceId;
    this.#secretKey = readString(raw, 'secretKey', true, 1024)!;
    this.baseUrl = resolveBaseUrl(readString(raw, 'baseUrl', false, 2048), instanceId);
    const timeout = readInteger(raw, 'timeout', 0, MAX_TIMEOUT_MS);
    const proxy = readString(raw, 'proxy', false, 2048);
    if (proxy !== undefined && !/^https?:\/\/[^\s]+$/.test(proxy)) throw new HeraldConfigurationError('proxy', 'must be an http:// or https:// URL');
    if (options.clock !== undefined && typeof options.clock !== 'function') throw new HeraldConfigurationError('clock', 'must be a function returning milliseconds');
    this.#clock = options.clock ?? Date.now;
    this.#transport = new Transport({
      proxy,
      keepAlive: readBoolean(raw, 'keepAlive'),
      timeoutMs: timeout === 0 ? undefined : timeout,
      fetch: options.fetch,
      warn: options.onWarning ?? ((message) => console.warn(message)),
    });
  }

  /** Sends a notification to every device subscribed to any of the interests. */
  async publishToInterests(params: PublishToInterestsParams): Promise<PublishResult> {
    const p = requireObject(params, 'params');
    const interests = checkNames(p.interests, 'interests', MAX_INTERESTS_PER_PUBLISH, (name, at) => {
      if (name.length > MAX_BEAMS_NAME_LENGTH) throw new HeraldValidationError(at, `must be at most ${MAX_BEAMS_NAME_LENGTH} characters`);
      if (!INTEREST_NAME.test(name)) throw new HeraldValidationError(at, 'may contain only A-Z a-z 0-9 _ - = @ , . ;');
    });
    if (p.webhookUrl !== undefined && (typeof p.webhookUrl !== 'string' || !/^https?:\/\/\S+$/.test(p.webhookUrl))) {
      throw new HeraldValidationError('webhookUrl', 'must be an http(s) URL');
    }
    return this.#publish('interests', p, 'interests', interests, MAX_INTERESTS_BODY_BYTES);
  }

  /** Sends a notification to every device of the given (authenticated) users. */
  async publishToUsers(params: PublishToUsersParams): Promise<PublishResult> {
    const p = requireObject(params, 'params');
    const users = checkNames(p.users, 'users', MAX_USERS_PER_PUBLISH, checkUserIdBytes);
    return this.#publish('users', p, 'users', users, MAX_USERS_BODY_BYTES);
  }

  /** Deletes a user and all their devices from the instance. */
  async deleteUser(params: { userId: string }): Promise<void> {
    const p = requireObject(params, 'params');
    const userId = checkUserId(p.userId, 'userId');
    await this.#transport.sendJson(
      {
        method: 'DELETE',
        url: `${this.baseUrl}/customer_api/v1/instances/${encodeURIComponent(this.instanceId)}/users/${encodeURIComponent(userId)}`,
        headers: this.#headers(false),
      },
      (details) => new BeamsHttpError(details),
    );
  }

  /**
   * Beams auth token for `userId` (what your beams-auth endpoint returns to the web SDK): an HS256
   * JWT with `iat`, `exp` = iat + 24 h, `iss` = `https://{instanceId}.pushnotifications.pusher.com`
   * (also when pointing at Herald, as the official SDK does) and `sub` = userId.
   */
  async generateToken(params: { userId: string }): Promise<{ token: string }> {
    const p = requireObject(params, 'params');
    const userId = checkUserId(p.userId, 'userId');
    const now = this.#clock();
    if (typeof now !== 'number' || !Number.isFinite(now) || now < 0) throw new HeraldConfigurationError('clock', 'returned something other than milliseconds since the epoch');
    const iat = Math.floor(now / 1000);
    const header = bytesToBase64Url(utf8Bytes(JSON.stringify({ alg: 'HS256', typ: 'JWT' })));
    const claims = bytesToBase64Url(
      utf8Bytes(JSON.stringify({ iat, exp: iat + TOKEN_TTL_SECONDS, iss: `https://${this.instanceId}.pushnotifications.pusher.com`, sub: userId })),
    );
    const signature = bytesToBase64Url(await hmacSha256(this.#secretKey, `${header}.${claims}`));
    return { token: `${header}.${claims}.${signature}` };
  }

  async #publish(kind: 'interests' | 'users', p: Record<string, unknown>, listName: string, list: string[], maxBytes: number): Promise<PublishResult> {
    const payload: Record<string, unknown> = {};
    // Caller's fields in their order, then the target list last (the official SDK's body layout).
    for (const [field, value] of Object.entries(p)) {
      if (field !== listName && value !== undefined) payload[field] = value;
    }
    checkPayload(payload);
    payload[listName] = list;
    const body = stringifyJson(payload, 'params');
    if (utf8Bytes(body).length > maxBytes) throw new HeraldValidationError('params', `the request body must be at most ${maxBytes} bytes`);
    const result = await this.#transport.sendJson<PublishResult>(
      {
        method: 'POST',
        url: `${this.baseUrl}/publish_api/v1/instances/${encodeURIComponent(this.instanceId)}/publishes/${kind}`,
        headers: this.#headers(true),
        body,
      },
      (details) => new BeamsHttpError(details),
    );
    return result;
  }

  #headers(withBody: boolean): Record<string, string> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      authorization: `Bearer ${this.#secretKey}`,
      'x-pusher-library': LIBRARY_HEADER,
    };
    if (withBody) headers['content-type'] = 'application/json';
    return headers;
  }
}

function resolveBaseUrl(value: string | undefined, instanceId: string): string {
  if (value === undefined) {
    if (!/^[A-Za-z0-9-]+$/.test(instanceId)) {
      throw new HeraldConfigurationError('instanceId', 'must be a valid host name label to use the hosted Beams service (or set baseUrl)');
    }
    return `https://${instanceId}.pushnotifications.pusher.com`;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new HeraldConfigurationError('baseUrl', 'must be an absolute URL such as "http://127.0.0.1:6001"');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new HeraldConfigurationError('baseUrl', 'must use http:// or https://');
  if (url.search || url.hash || url.username || url.password) throw new HeraldConfigurationError('baseUrl', 'must not contain a query, fragment or credentials');
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function checkNames(value: unknown, name: string, max: number, checkOne: (item: string, at: string) => void): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > max) {
    throw new HeraldValidationError(name, `must be an array of 1–${max} strings`);
  }
  return value.map((item, index) => {
    const at = `${name}[${index}]`;
    if (typeof item !== 'string' || item === '') throw new HeraldValidationError(at, 'must be a non-empty string');
    checkOne(item, at);
    return item;
  });
}

function checkUserIdBytes(userId: string, at: string): void {
  if (utf8Bytes(userId).length > MAX_BEAMS_NAME_LENGTH) throw new HeraldValidationError(at, `must be at most ${MAX_BEAMS_NAME_LENGTH} bytes of UTF-8`);
}

function checkUserId(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw new HeraldValidationError(name, 'must be a non-empty string');
  checkUserIdBytes(value, name);
  return value;
}

function checkPayload(payload: Record<string, unknown>): void {
  if (payload.apns === undefined && payload.fcm === undefined && payload.web === undefined) {
    throw new HeraldValidationError('params', 'at least one of apns, fcm or web is required');
  }
  for (const gateway of ['apns', 'fcm', 'web'] as const) {
    if (payload[gateway] !== undefined) requireObject(payload[gateway], gateway);
  }
  const web = payload.web as Record<string, unknown> | undefined;
  if (web?.data !== undefined) {
    const data = requireObject(web.data, 'web.data');
    if (Object.prototype.hasOwnProperty.call(data, 'pusher')) throw new HeraldValidationError('web.data', 'must not contain the reserved key "pusher"');
  }
}
