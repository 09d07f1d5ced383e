/**
 * Webhook validation with the official SDK's `pusher.webhook(req).isValid(extraTokens)` semantics
 * (spec C.4): the body counts only when `content-type` is exactly `application/json` and parses as
 * JSON; it is authentic when `x-pusher-key` equals one token's key and `x-pusher-signature` equals
 * HMAC-SHA256(that token's secret, raw body) (constant-time compare).
 *
 * Deliberate leniency: header names are matched case-insensitively (the official SDK needs
 * lower-case keys) and a fetch `Headers` object is accepted.
 */
import { bytesToHex, constantTimeEqual, utf8Bytes } from './encoding.js';
import { HeraldValidationError } from './errors.js';
import { hmacSha256 } from './signing.js';

export const MAX_WEBHOOK_BODY_BYTES = 10 * 1024 * 1024;
export const MAX_ADDITIONAL_TOKENS = 100;

export interface WebhookToken {
  key: string;
  secret: string;
}

export type WebhookHeaders =
  | Readonly<Record<string, string | readonly string[] | undefined>>
  | { get(name: string): string | null };

export interface ValidateWebhookParams {
  /** Request headers (any case, or a fetch `Headers`). */
  headers: WebhookHeaders;
  /** The raw request body exactly as received (string or bytes); do not re-serialize parsed JSON. */
  rawBody: string | Uint8Array;
  /** Extra `{key, secret}` pairs to accept, e.g. during a secret rotation. */
  additionalTokens?: readonly WebhookToken[];
}

/** One webhook event (spec C.2); `name` decides which other fields are present. */
export interface WebhookEvent {
  name: 'channel_occupied' | 'channel_vacated' | 'member_added' | 'member_removed' | 'client_event' | 'cache_miss' | 'subscription_count' | (string & {});
  channel?: string;
  user_id?: string;
  event?: string;
  data?: string;
  socket_id?: string;
  subscription_count?: number;
  [field: string]: unknown;
}

export interface WebhookPayload {
  time_ms: number;
  events: WebhookEvent[];
}

export type WebhookValidationResult =
  | {
      valid: true;
      /** Key of the token that matched. */
      key: string;
      /** The parsed body as sent (Pusher and Herald always send an object; other JSON is passed through). */
      data: WebhookPayload;
      events: WebhookEvent[];
      /** `new Date(time_ms)`. */
      time: Date;
    }
  | {
      valid: false;
      /** `content_type`: not exactly application/json; `body`: not JSON; `signature`: no token matched. */
      reason: 'content_type' | 'body' | 'signature';
      message: string;
    };

function readHeader(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  const record = headers as Readonly<Record<string, string | readonly string[] | undefined>>;
  let value = record[name];
  if (value === undefined) {
    const match = Object.keys(record).find((key) => key.toLowerCase() === name);
    value = match === undefined ? undefined : record[match];
  }
  if (Array.isArray(value)) return value.length === 1 ? value[0] : undefined;
  return typeof value === 'string' ? value : undefined;
}

export async function validateWebhook(primary: WebhookToken, params: ValidateWebhookParams): Promise<WebhookValidationResult> {
  if (!params || typeof params !== 'object') throw new HeraldValidationError('params', 'must be an object {headers, rawBody, additionalTokens?}');
  const { headers, rawBody, additionalTokens } = params;
  if (!headers || typeof headers !== 'object') throw new HeraldValidationError('headers', 'must be an object of request headers');
  if (typeof rawBody !== 'string' && !(rawBody instanceof Uint8Array)) {
    throw new HeraldValidationError('rawBody', 'must be the raw body as a string or Uint8Array');
  }
  const bodyBytes = typeof rawBody === 'string' ? utf8Bytes(rawBody) : rawBody;
  if (bodyBytes.length > MAX_WEBHOOK_BODY_BYTES) {
    throw new HeraldValidationError('rawBody', `larger than ${MAX_WEBHOOK_BODY_BYTES} bytes`);
  }
  const tokens = [primary, ...checkTokens(additionalTokens)];

  if (readHeader(headers, 'content-type') !== 'application/json') {
    return { valid: false, reason: 'content_type', message: 'content-type must be exactly "application/json"' };
  }
  let data: unknown;
  try {
    data = JSON.parse(typeof rawBody === 'string' ? rawBody : new TextDecoder().decode(rawBody));
  } catch {
    return { valid: false, reason: 'body', message: 'body is not valid JSON' };
  }

  const key = readHeader(headers, 'x-pusher-key');
  const signature = readHeader(headers, 'x-pusher-signature');
  let matchedKey: string | undefined;
  if (key !== undefined && signature !== undefined) {
    for (const token of tokens) {
      if (token.key !== key) continue;
      const expected = bytesToHex(await hmacSha256(token.secret, bodyBytes));
      // Every token with this key is checked, so timing does not reveal which one matched.
      if (constantTimeEqual(expected, signature) && matchedKey === undefined) matchedKey = token.key;
    }
  }
  if (matchedKey === undefined) {
    return { valid: false, reason: 'signature', message: 'x-pusher-key / x-pusher-signature do not match any token' };
  }
  // Like the official SDK, any JSON value counts as a body; events/time are derived defensively.
  const payload = data as WebhookPayload;
  const events = Array.isArray(payload?.events) ? payload.events : [];
  return { valid: true, key: matchedKey, data: payload, events, time: new Date(payload?.time_ms) };
}

function checkTokens(tokens: unknown): WebhookToken[] {
  if (tokens === undefined || tokens === null) return [];
  if (!Array.isArray(tokens)) throw new HeraldValidationError('additionalTokens', 'must be an array of {key, secret}');
  if (tokens.length > MAX_ADDITIONAL_TOKENS) throw new HeraldValidationError('additionalTokens', `at most ${MAX_ADDITIONAL_TOKENS} tokens`);
  return tokens.map((token, index) => {
    if (!token || typeof token !== 'object' || typeof token.key !== 'string' || token.key === '' || typeof token.secret !== 'string' || token.secret === '') {
      throw new HeraldValidationError(`additionalTokens[${index}]`, 'must be {key: non-empty string, secret: non-empty string}');
    }
    return { key: token.key, secret: token.secret };
  });
}
