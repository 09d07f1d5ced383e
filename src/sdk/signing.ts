/**
 * Pusher request and socket signing (spec A.8, B.1, D.2) on Web Crypto, so it runs unchanged on
 * Node 20+, Deno, Bun and edge runtimes. Output matches the official `pusher` SDK byte for byte.
 */
import { bytesToHex, utf8Bytes } from './encoding.js';
import { HeraldConfigurationError, HeraldValidationError } from './errors.js';
import { md5Hex } from './md5.js';

/** Web Crypto, or a configuration error naming the runtimes that have it. */
export function subtleCrypto(): SubtleCrypto {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) {
    throw new HeraldConfigurationError('runtime', 'globalThis.crypto.subtle (Web Crypto) is required; use Node 20+, Deno, Bun or an edge runtime');
  }
  return subtle;
}

/** HMAC-SHA256 of `message` (UTF-8) keyed with `key` (UTF-8 string or raw bytes). */
export async function hmacSha256(key: string | Uint8Array, message: string | Uint8Array): Promise<Uint8Array> {
  const subtle = subtleCrypto();
  const cryptoKey = await subtle.importKey('raw', toBuffer(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await subtle.sign('HMAC', cryptoKey, toBuffer(message)));
}

export async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtleCrypto().digest('SHA-256', toBuffer(data)));
}

/** Web Crypto wants a BufferSource backed by a plain ArrayBuffer. */
function toBuffer(data: string | Uint8Array): ArrayBuffer {
  const bytes = typeof data === 'string' ? utf8Bytes(data) : data;
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** Signs strings with one secret; the imported CryptoKey is created once and reused. */
export class HmacSigner {
  readonly #secret: string;
  #key: Promise<CryptoKey> | undefined;

  constructor(secret: string) {
    this.#secret = secret;
  }

  /** Lowercase hex HMAC-SHA256, like `crypto.createHmac('sha256', secret).update(s).digest('hex')`. */
  async signHex(message: string): Promise<string> {
    const subtle = subtleCrypto();
    this.#key ??= subtle.importKey('raw', toBuffer(this.#secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const key = await this.#key;
    return bytesToHex(new Uint8Array(await subtle.sign('HMAC', key, toBuffer(message))));
  }
}

/** Query parameter values accepted by the REST helpers; arrays are joined with `,` like the official SDK. */
export type QueryValue = string | number | boolean | readonly (string | number | boolean)[];
export type QueryParams = Readonly<Record<string, QueryValue | undefined>>;

const RESERVED_QUERY_KEYS = new Set(['auth_key', 'auth_timestamp', 'auth_version', 'auth_signature', 'body_md5']);
const QUERY_KEY = /^[a-z0-9_.-]{1,64}$/;
export const MAX_QUERY_PARAMS = 50;
export const MAX_QUERY_VALUE_LENGTH = 4096;

export interface SignRequestInput {
  key: string;
  signer: HmacSigner;
  method: string;
  /** Full path that is signed as given, e.g. `/apps/3/events`. */
  path: string;
  /** Raw body; when non-empty its MD5 is added as `body_md5`. */
  body?: string;
  params?: QueryParams;
  timestampSeconds: number;
  /** Name used in validation errors (`params` for public methods). */
  paramsName?: string;
}

export interface SignedQuery {
  /** `METHOD\npath\ncanonical_query`, the exact bytes that were signed. */
  stringToSign: string;
  signature: string;
  /**
   * The query string to append after `?`. Values are percent-encoded only where a raw value would
   * change the meaning of the URL (`&`, `#`, `%`, `+`, space, non-ASCII…); for every other value
   * it is identical to the official SDK's output, which never encodes.
   */
  queryString: string;
}

/** Turns user params into `[key, value]` pairs after the checks the official SDK makes (and a few more). */
export function normalizeQueryParams(params: QueryParams | undefined, paramsName = 'params'): Array<[string, string]> {
  if (params === undefined || params === null) return [];
  if (typeof params !== 'object' || Array.isArray(params)) {
    throw new HeraldValidationError(paramsName, 'must be an object of query parameters');
  }
  const entries: Array<[string, string]> = [];
  for (const [key, raw] of Object.entries(params)) {
    if (raw === undefined) continue;
    if (RESERVED_QUERY_KEYS.has(key)) {
      throw new HeraldValidationError(`${paramsName}.${key}`, `${key} is set by the SDK and cannot be overridden`);
    }
    if (!QUERY_KEY.test(key)) {
      // The server lower-cases keys before checking the signature, so upper-case keys could never verify.
      throw new HeraldValidationError(`${paramsName}.${key}`, 'query parameter names must be 1–64 characters of a-z 0-9 _ . -');
    }
    const value = Array.isArray(raw) ? raw.map((item) => scalarToString(item, `${paramsName}.${key}`)).join(',') : scalarToString(raw, `${paramsName}.${key}`);
    if (value.length > MAX_QUERY_VALUE_LENGTH) {
      throw new HeraldValidationError(`${paramsName}.${key}`, `value longer than ${MAX_QUERY_VALUE_LENGTH} characters`);
    }
    entries.push([key, value]);
  }
  if (entries.length > MAX_QUERY_PARAMS) {
    throw new HeraldValidationError(paramsName, `at most ${MAX_QUERY_PARAMS} query parameters are allowed`);
  }
  return entries;
}

function scalarToString(value: unknown, name: string): string {
  if (typeof value === 'string') return value;
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') return String(value);
  throw new HeraldValidationError(name, 'query parameter values must be strings, finite numbers, booleans or arrays of those');
}

/** Builds the signed query exactly as `pusher` 5.x `createSignedQueryString` does (spec B.1). */
export async function signQuery(input: SignRequestInput): Promise<SignedQuery> {
  const pairs: Array<[string, string]> = [
    ['auth_key', input.key],
    ['auth_timestamp', String(input.timestampSeconds)],
    ['auth_version', '1.0'],
  ];
  if (input.body) pairs.push(['body_md5', md5Hex(input.body)]);
  // Reserved keys are refused by normalizeQueryParams, so user params never collide with auth_*.
  pairs.push(...normalizeQueryParams(input.params, input.paramsName));
  // Sort by key with plain code-unit comparison, the same comparator the official SDK uses.
  pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const canonical = pairs.map(([k, v]) => `${k}=${v}`).join('&');
  const stringToSign = [input.method.toUpperCase(), input.path, canonical].join('\n');
  const signature = await input.signer.signHex(stringToSign);
  const encoded = pairs.map(([k, v]) => `${encodeQueryComponent(k)}=${encodeQueryComponent(v)}`).join('&');
  return { stringToSign, signature, queryString: `${encoded}&auth_signature=${signature}` };
}

/**
 * Percent-encodes what would break a query string and keeps the characters the official SDK sends
 * raw in practice (`,` in info lists, `=@;:` from channel names, `/`), so URLs stay identical to it.
 */
export function encodeQueryComponent(value: string): string {
  return encodeURIComponent(value).replace(/%(2C|3A|40|3B|3D|2F|24)/gi, (match) => decodeURIComponent(match));
}

/**
 * Encodes one path segment: `/ ? # %`, spaces, controls and non-ASCII are escaped; everything RFC 3986
 * allows in a segment stays raw, so ids in the usual character set look exactly like the official SDK's.
 */
export function encodePathSegment(value: string): string {
  return encodeURIComponent(value).replace(/%(2C|3A|40|3B|3D|24|2B|26)/gi, (match) => decodeURIComponent(match));
}

/** `{key}:{hex}` auth for a private/presence channel (spec A.8). */
export async function channelAuth(key: string, signer: HmacSigner, socketId: string, channel: string, channelData?: string): Promise<string> {
  const parts = channelData === undefined ? [socketId, channel] : [socketId, channel, channelData];
  return `${key}:${await signer.signHex(parts.join(':'))}`;
}

/** `{key}:{hex}` auth for user sign-in (spec A.8). */
export async function userAuth(key: string, signer: HmacSigner, socketId: string, userData: string): Promise<string> {
  return `${key}:${await signer.signHex(`${socketId}::user::${userData}`)}`;
}
