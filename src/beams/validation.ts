/**
 * Input rules shared by the Beams APIs (spec F.1, F.4, G): interest names, user ids, publish bodies
 * and device tokens. Failures throw BeamsError with the kind and title Beams uses.
 */
import { BeamsError, badRequest, unprocessable } from './errors.js';

export const PLATFORMS = ['apns', 'fcm', 'web'] as const;
export type Platform = (typeof PLATFORMS)[number];

export const LIMITS = {
  nameLength: 164,
  interestsPerPublish: 100,
  usersPerPublish: 1000,
  interestsPerDevice: 5000,
  devicesPerUserPerPlatform: 100,
  interestsBodyBytes: 10 * 1024,
  usersBodyBytes: 200 * 1024,
  deviceBodyBytes: 16 * 1024,
  /** PUT …/interests carries up to 5000 names of 164 characters. */
  interestsSetBodyBytes: 1024 * 1024,
  tokenLength: 4096,
  metadataKeys: 32,
  metadataValueLength: 512,
  webTtlMaxSeconds: 2_419_200,
} as const;

const INTEREST_NAME = /^[A-Za-z0-9_\-=@,.;]+$/;
const INSTANCE_ID = /^[A-Za-z0-9_-]{1,100}$/;

export function isPlatform(value: string): value is Platform {
  return (PLATFORMS as readonly string[]).includes(value);
}

export function isValidInstanceId(value: string): boolean {
  return INSTANCE_ID.test(value);
}

export function isValidInterest(value: unknown): value is string {
  return typeof value === 'string' && value.length <= LIMITS.nameLength && INTEREST_NAME.test(value);
}

/** User ids: 1–164 bytes of UTF-8 (the Node SDK checks characters; bytes is the stricter rule). */
export function isValidUserId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && Buffer.byteLength(value, 'utf8') <= LIMITS.nameLength;
}

export function interestError(value: unknown): string {
  return `Interest name ${JSON.stringify(String(value).slice(0, 200))} is not valid: up to ${LIMITS.nameLength} characters of ASCII letters, digits or one of _-=@,.;`;
}

export interface PublishRequest {
  kind: 'interests' | 'users';
  targets: string[];
  payload: PublishPayload;
}

export interface PublishPayload {
  apns?: Record<string, unknown>;
  fcm?: Record<string, unknown>;
  web?: Record<string, unknown>;
  webhookUrl?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates a publish body (already parsed) for `/publishes/interests` or `/publishes/users`. */
export function validatePublish(kind: 'interests' | 'users', body: Record<string, unknown>): PublishRequest {
  const raw = body[kind];
  const max = kind === 'interests' ? LIMITS.interestsPerPublish : LIMITS.usersPerPublish;
  if (!Array.isArray(raw)) throw unprocessable(`'${kind}' must be an array of strings`);
  if (raw.length < 1) throw unprocessable(`Publish requests must target at least one ${kind === 'interests' ? 'interest' : 'user'}`);
  if (raw.length > max) throw unprocessable(`Number of ${kind} (${raw.length}) exceeds maximum of ${max}`);
  for (const target of raw) {
    if (kind === 'interests' && !isValidInterest(target)) throw unprocessable(interestError(target));
    if (kind === 'users' && !isValidUserId(target)) {
      throw unprocessable(`User id ${JSON.stringify(String(target).slice(0, 200))} is not valid: must be a string of 1-${LIMITS.nameLength} bytes`);
    }
  }
  const payload: PublishPayload = {};
  if (body.apns !== undefined) payload.apns = validateApns(body.apns);
  if (body.fcm !== undefined) payload.fcm = validateFcm(body.fcm);
  if (body.web !== undefined) payload.web = validateWeb(body.web);
  if (!payload.apns && !payload.fcm && !payload.web) throw unprocessable('Publish requests must contain at least one of apns, fcm or web');
  if (body.webhookUrl !== undefined) {
    if (typeof body.webhookUrl !== 'string' || !/^https?:\/\/\S+$/.test(body.webhookUrl) || body.webhookUrl.length > 2048) {
      throw unprocessable("'webhookUrl' must be an http(s) URL");
    }
    payload.webhookUrl = body.webhookUrl;
  }
  return { kind, targets: [...new Set(raw as string[])], payload };
}

function validateApns(value: unknown): Record<string, unknown> {
  if (!isObject(value)) throw unprocessable("'apns' must be an object");
  if (!isObject(value.aps)) throw unprocessable("'apns' must contain an 'aps' object");
  if (value.priority !== undefined && value.priority !== 5 && value.priority !== 10) throw unprocessable("'apns.priority' must be 5 or 10");
  if (value.expiration !== undefined && (!Number.isInteger(value.expiration) || (value.expiration as number) < 0)) {
    throw unprocessable("'apns.expiration' must be a UNIX time in seconds");
  }
  if (value.collapse_id !== undefined && (typeof value.collapse_id !== 'string' || Buffer.byteLength(value.collapse_id) > 64)) {
    throw unprocessable("'apns.collapse_id' must be a string of at most 64 bytes");
  }
  if (value.data !== undefined && !isObject(value.data)) throw unprocessable("'apns.data' must be an object");
  return value;
}

function validateFcm(value: unknown): Record<string, unknown> {
  if (!isObject(value)) throw unprocessable("'fcm' must be an object");
  if (value.notification !== undefined && !isObject(value.notification)) throw unprocessable("'fcm.notification' must be an object");
  if (value.data !== undefined && !isObject(value.data)) throw unprocessable("'fcm.data' must be an object");
  if (isObject(value.data) && 'pusher' in value.data) throw unprocessable("'fcm.data' cannot contain the key 'pusher'");
  if (value.priority !== undefined && value.priority !== 'normal' && value.priority !== 'high') throw unprocessable("'fcm.priority' must be 'normal' or 'high'");
  if (value.time_to_live !== undefined && (!Number.isInteger(value.time_to_live) || (value.time_to_live as number) < 0 || (value.time_to_live as number) > LIMITS.webTtlMaxSeconds)) {
    throw unprocessable(`'fcm.time_to_live' must be a whole number of seconds between 0 and ${LIMITS.webTtlMaxSeconds}`);
  }
  if (value.collapse_key !== undefined && typeof value.collapse_key !== 'string') throw unprocessable("'fcm.collapse_key' must be a string");
  return value;
}

function validateWeb(value: unknown): Record<string, unknown> {
  if (!isObject(value)) throw unprocessable("'web' must be an object");
  const ttl = value.time_to_live;
  if (ttl !== undefined && (!Number.isInteger(ttl) || (ttl as number) < 0 || (ttl as number) > LIMITS.webTtlMaxSeconds)) {
    throw unprocessable(`'web.time_to_live' must be a whole number of seconds between 0 and ${LIMITS.webTtlMaxSeconds}`);
  }
  if (value.notification !== undefined) {
    if (!isObject(value.notification)) throw unprocessable("'web.notification' must be an object");
    for (const field of ['title', 'body', 'icon', 'deep_link'] as const) {
      const v = value.notification[field];
      if (v !== undefined && typeof v !== 'string') throw unprocessable(`'web.notification.${field}' must be a string`);
    }
    const hide = value.notification.hide_notification_if_site_has_focus;
    if (hide !== undefined && typeof hide !== 'boolean') throw unprocessable("'web.notification.hide_notification_if_site_has_focus' must be a boolean");
  }
  if (value.data !== undefined) {
    if (!isObject(value.data)) throw unprocessable("'web.data' must be an object");
    if ('pusher' in value.data) throw unprocessable("'web.data' cannot contain the key 'pusher'");
  }
  return value;
}

/** A browser PushSubscription as the web SDK sends it: base64(JSON.stringify(subscription)). */
export interface WebSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export function decodeWebToken(token: string): WebSubscription {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
  } catch {
    throw badRequest('Web push token must be base64-encoded PushSubscription JSON');
  }
  if (!isObject(parsed) || typeof parsed.endpoint !== 'string' || !isObject(parsed.keys)) {
    throw badRequest('Web push token must contain an endpoint and keys');
  }
  const { p256dh, auth } = parsed.keys;
  if (typeof p256dh !== 'string' || Buffer.from(p256dh, 'base64url').length !== 65) throw badRequest('Web push token has an invalid p256dh key');
  if (typeof auth !== 'string' || Buffer.from(auth, 'base64url').length < 16) throw badRequest('Web push token has an invalid auth secret');
  let url: URL;
  try {
    url = new URL(parsed.endpoint);
  } catch {
    throw badRequest('Web push token endpoint is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw badRequest('Web push token endpoint must be an https URL');
  return { endpoint: parsed.endpoint, keys: { p256dh, auth } };
}

/** Checks a native device token's shape: APNs tokens are hex, FCM tokens printable ASCII. */
export function validateNativeToken(platform: 'apns' | 'fcm', token: unknown): string {
  if (typeof token !== 'string' || token.length === 0) throw badRequest(`Missing ${platform === 'apns' ? 'APNs' : 'FCM'} token`);
  if (token.length > LIMITS.tokenLength) throw badRequest('Device token is too long');
  if (platform === 'apns' && !/^[0-9a-fA-F]{32,400}$/.test(token)) throw new BeamsError('unauthorized', 'Unauthorized', 'Incorrect APNs token supplied');
  if (platform === 'fcm' && !/^[\x21-\x7e]+$/.test(token)) throw new BeamsError('unauthorized', 'Unauthorized', 'Incorrect FCM token supplied');
  return token;
}

/** Device metadata: a flat object of short strings (sdkVersion, iosVersion, androidVersion…). */
export function validateMetadata(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw badRequest('Device metadata must be an object');
  const entries = Object.entries(value);
  if (entries.length > LIMITS.metadataKeys) throw badRequest(`Device metadata may have at most ${LIMITS.metadataKeys} fields`);
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (k.length > 64) throw badRequest('Device metadata field names may be at most 64 characters');
    if (v === null || v === undefined) continue;
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw badRequest(`Device metadata field '${k}' must be a string`);
    const s = String(v);
    if (s.length > LIMITS.metadataValueLength) throw badRequest(`Device metadata field '${k}' is too long`);
    out[k] = s;
  }
  return out;
}
