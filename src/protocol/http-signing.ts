/** Pusher HTTP API request signing, auth_version 1.0 (spec B.1). Pure: no I/O. */
import { hexMatchesDigest, hmacSha256Binary, hmacSha256Hex, md5Binary, type Credentials } from './signatures.js';

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
  | { ok: false; message: string };

/** `METHOD\npath\ncanonical_query` with lower-cased sorted keys and raw values. */
export function stringToSign(method: string, path: string, query: ReadonlyArray<readonly [string, string]>): string {
  // Hand-rolled (no filter/map/sort chain): this runs for every API request, and queries are short.
  const keys: string[] = [];
  const values: string[] = [];
  for (const [rawKey, value] of query) {
    if (rawKey === 'auth_signature') continue;
    const key = rawKey.toLowerCase();
    // Insertion sort, stable like Array#sort: equal keys keep their received order.
    let i = keys.length;
    keys.push(key);
    values.push(value);
    while (i > 0 && keys[i - 1]! > key) {
      keys[i] = keys[i - 1]!;
      values[i] = values[i - 1]!;
      i--;
    }
    keys[i] = key;
    values[i] = value;
  }
  let canonical = '';
  for (let i = 0; i < keys.length; i++) canonical += (i === 0 ? '' : '&') + keys[i] + '=' + values[i];
  return `${method.toUpperCase()}\n${path}\n${canonical}`;
}

export function signRequest(secret: string, method: string, path: string, query: ReadonlyArray<readonly [string, string]>): string {
  return hmacSha256Hex(secret, stringToSign(method, path, query));
}

/**
 * Verifies auth_key, auth_version (required, 1.0), auth_timestamp (±600 s), auth_signature and
 * body_md5. `credentials` are the app's key/secret pairs (more than one while rotating).
 */
export function verifySignedRequest(
  req: SignedRequest,
  credentials: readonly Credentials[],
  nowSeconds: number,
  windowSeconds = TIMESTAMP_WINDOW_SECONDS,
): SignatureCheck {
  const check = verifySignedQuery(req, credentials, nowSeconds, windowSeconds);
  if (!check.ok) return check;
  const problem = bodyMd5Problem(req);
  return problem === undefined ? check : fail(problem);
}

/**
 * Everything verifySignedRequest checks but the body. The signature covers body_md5, not the body,
 * so this runs before the body is read: a request nobody signed is refused without buffering and
 * hashing up to a megabyte of body first.
 */
export function verifySignedQuery(
  req: Omit<SignedRequest, 'body'>,
  credentials: readonly Credentials[],
  nowSeconds: number,
  windowSeconds = TIMESTAMP_WINDOW_SECONDS,
): SignatureCheck {
  let authKey: string | undefined;
  let authTimestamp: string | undefined;
  let authVersion: string | undefined;
  let authSignature: string | undefined;
  // One pass over the query; the first occurrence of a parameter wins.
  for (const [k, v] of req.query) {
    if (k === 'auth_key') authKey ??= v;
    else if (k === 'auth_timestamp') authTimestamp ??= v;
    else if (k === 'auth_version') authVersion ??= v;
    else if (k === 'auth_signature') authSignature ??= v;
  }

  if (!authKey || !authTimestamp || !authSignature) {
    return fail('Missing authentication parameters: auth_key, auth_timestamp and auth_signature are required');
  }
  // Required like the other auth parameters (spec B.1; every Pusher SDK sends it): a request that
  // omits it was not signed under the 1.0 scheme as far as we can tell.
  if (authVersion === undefined) return fail('Missing authentication parameter auth_version (1.0)');
  if (authVersion !== '1.0') return fail('Version not supported');
  // While a secret is rotated one key has several secrets: any of them may have signed.
  let candidates: Credentials[] | undefined;
  // App keys are public (every client page holds one): a plain compare reveals nothing.
  for (const c of credentials) if (c.key === authKey) (candidates ??= []).push(c);
  if (candidates === undefined) return fail(`Unknown auth_key ${authKey}`);
  if (!/^\d{1,12}$/.test(authTimestamp)) return fail('auth_timestamp must be a Unix time in seconds');
  const timestamp = Number(authTimestamp);
  if (Math.abs(nowSeconds - timestamp) >= windowSeconds) {
    return fail(
      `Timestamp expired: Given timestamp (${timestamp}) not within ${windowSeconds}s of server time (${Math.floor(nowSeconds)})`,
    );
  }
  const signed = stringToSign(req.method, req.path, req.query);
  let credential: Credentials | undefined;
  for (const c of candidates) if (hexMatchesDigest(authSignature, hmacSha256Binary(c.secret, signed)) && !credential) credential = c;
  if (!credential) {
    return fail(
      `Invalid signature: you should have sent HmacSHA256Hex(${JSON.stringify(signed)}, your_secret_key), but you sent "${authSignature}"`,
    );
  }
  return { ok: true, credentials: credential };
}

/** The body against the query's body_md5 (the first one): undefined when it matches or there is no body. */
export function bodyMd5Problem(req: Pick<SignedRequest, 'query' | 'body'>): string | undefined {
  if (req.body.length === 0) return undefined;
  let bodyMd5: string | undefined;
  for (const [k, v] of req.query) if (k === 'body_md5') bodyMd5 ??= v;
  if (bodyMd5 === undefined) return 'body_md5 is required when the request has a body';
  if (!hexMatchesDigest(bodyMd5, md5Binary(req.body))) return 'body_md5 does not match the request body';
  return undefined;
}

function fail(message: string): SignatureCheck {
  return { ok: false, message };
}
