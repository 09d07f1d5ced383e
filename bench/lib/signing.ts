/**
 * Client-side signing for the benchmark, written against the wire spec rather than imported from
 * src/ so the load generator stays an independent check of the server (and can bench other
 * Pusher-compatible servers with `--target`).
 *
 * - HTTP API requests: auth_version 1.0 (spec B.1).
 * - Channel subscriptions: `key:HMAC(socket_id:channel[:channel_data])` (spec A.8).
 */
import { createHash, createHmac } from 'node:crypto';

export interface AppCredentials {
  id: string;
  key: string;
  secret: string;
}

/** Query parameters of a signed API request, `auth_signature` last (as the official SDK sends it). */
export function signedQuery(
  credentials: AppCredentials,
  method: string,
  path: string,
  body: string,
  timestampSeconds: number = Math.floor(Date.now() / 1000),
  extraParams: Record<string, string> = {},
): string {
  const params: Record<string, string> = {
    ...extraParams,
    auth_key: credentials.key,
    auth_timestamp: String(timestampSeconds),
    auth_version: '1.0',
  };
  if (body.length > 0) params.body_md5 = createHash('md5').update(body).digest('hex');
  // Keys lower-cased and sorted by byte order, raw (un-escaped) values.
  const canonical = Object.keys(params)
    .map((key) => [key.toLowerCase(), params[key]] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
  const stringToSign = `${method.toUpperCase()}\n${path}\n${canonical}`;
  const signature = createHmac('sha256', credentials.secret).update(stringToSign).digest('hex');
  return `${canonical}&auth_signature=${signature}`;
}

/** `auth` value for a private or presence subscription. */
export function channelAuth(credentials: Pick<AppCredentials, 'key' | 'secret'>, socketId: string, channel: string, channelData?: string): string {
  const toSign = channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`;
  return `${credentials.key}:${createHmac('sha256', credentials.secret).update(toSign).digest('hex')}`;
}
