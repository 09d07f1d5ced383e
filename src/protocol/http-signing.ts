/** Pusher HTTP API request signing, auth_version 1.0 (spec B.1). Pure: no I/O. */
import { hmacSha256Hex, md5Hex, safeEqual, type Credentials } from './signatures.js';

export const TIMESTAMP_WINDOW_SECONDS = 600;

export interface SignedRequest {
  method: string;
  /** Raw request path without the query string, e.g. `/apps/3/events`. */
  path: string;
  /** Decoded query parameters in their received order. */
  query: ReadonlyArray<readonly [string, string]>;
  body: Uint8Array;
}

export type SignatureCheck =
  | { ok: true; credentials: Credentials }
  | { ok: false; status: 401; message: string };

/** `METHOD\npath\ncanonical_query` with lower-cased sorted keys and raw values. */
export function stringToSign(method: string, path: string, query: ReadonlyArray<readonly [string, string]>): string {
  const params = query
    .filter(([k]) => k !== 'auth_signature')
    .map(([k, v]) => [k.toLowerCase(), v] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${method.toUpperCase()}\n${path}\n${params.map(([k, v]) => `${k}=${v}`).join('&')}`;
}

export function signRequest(secret: string, method: string, path: string, query: ReadonlyArray<readonly [string, string]>): string {
  return hmacSha256Hex(secret, stringToSign(method, path, query));
}

/**
 * Verifies auth_key, auth_version, auth_timestamp (±600 s), body_md5 and auth_signature.
 * `credentials` are the app's key/secret pairs (more than one while rotating).
 */
export function verifySignedRequest(
  req: SignedRequest,
  credentials: readonly Credentials[],
  nowSeconds: number,
  windowSeconds = TIMESTAMP_WINDOW_SECONDS,
): SignatureCheck {
  const get = (name: string) => {
    for (const [k, v] of req.query) if (k === name) return v;
    return undefined;
  };
  const authKey = get('auth_key');
  const authTimestamp = get('auth_timestamp');
  const authVersion = get('auth_version');
  const authSignature = get('auth_signature');
  const bodyMd5 = get('body_md5');
  const fail = (message: string): SignatureCheck => ({ ok: false, status: 401, message });

  if (!authKey || !authTimestamp || !authSignature) {
    return fail('Missing authentication parameters: auth_key, auth_timestamp and auth_signature are required');
  }
  if (authVersion !== undefined && authVersion !== '1.0') return fail('Version not supported');
  // While a secret is rotated one key has several secrets: any of them may have signed.
  const candidates = credentials.filter((c) => safeEqual(c.key, authKey));
  if (candidates.length === 0) return fail(`Unknown auth_key ${authKey}`);
  if (!/^\d{1,12}$/.test(authTimestamp)) return fail('auth_timestamp must be a Unix time in seconds');
  const timestamp = Number(authTimestamp);
  if (Math.abs(nowSeconds - timestamp) >= windowSeconds) {
    return fail(
      `Timestamp expired: Given timestamp (${timestamp}) not within ${windowSeconds}s of server time (${Math.floor(nowSeconds)})`,
    );
  }
  if (req.body.length > 0) {
    if (bodyMd5 === undefined) return fail('body_md5 is required when the request has a body');
    if (!safeEqual(bodyMd5.toLowerCase(), md5Hex(req.body))) return fail('body_md5 does not match the request body');
  }
  const signed = stringToSign(req.method, req.path, req.query);
  const given = authSignature.toLowerCase();
  const credential = candidates.find((c) => safeEqual(given, hmacSha256Hex(c.secret, signed)));
  if (!credential) {
    return fail(
      `Invalid signature: you should have sent HmacSHA256Hex(${JSON.stringify(signed)}, your_secret_key), but you sent "${authSignature}"`,
    );
  }
  return { ok: true, credentials: credential };
}
