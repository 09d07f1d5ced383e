/**
 * Channels client configuration: the 11 parameters of the integration seed (appId, key, secret,
 * cluster, useTLS, host, port, encryptionMasterKeyBase64, proxy, timeout, keepAlive), given either
 * as a plain object or in the seed's `{provider, configuration: [{name, value}]}` form.
 * Everything is validated up front so a bad value fails at construction, not at the first request.
 */
import { base64ToBytes } from './encoding.js';
import { HeraldConfigurationError } from './errors.js';

interface ChannelsConfigBase {
  /** Application id; goes into `/apps/{appId}`. */
  appId: string | number;
  /** Application key (public; sent as `auth_key` and in `auth` strings). */
  key: string;
  /** Application secret (HMAC key). Never sent, never logged. */
  secret: string;
  /** `true` → https, default `false` → http (like the official SDK). */
  useTLS?: boolean;
  /** Port; omitted or 0 → the scheme's default port. */
  port?: number;
  /** Base64 of exactly 32 bytes; enables end-to-end encryption for `private-encrypted-` channels. */
  encryptionMasterKeyBase64?: string;
  /** HTTP(S) proxy URL, e.g. `http://proxy.internal:3128` (runtime-dependent, see docs/sdk.md). */
  proxy?: string;
  /** Request timeout in milliseconds; omitted or 0 → no timeout. */
  timeout?: number;
  /** Connection reuse (runtime-dependent, see docs/sdk.md). */
  keepAlive?: boolean;
}

/**
 * `cluster` builds Pusher's hosted address `api-{cluster}.pusher.com`; `host` (a bare host name,
 * e.g. Herald's) overrides it. At least one of the two is required.
 */
export type ChannelsConfig =
  | (ChannelsConfigBase & { cluster: string; host?: string })
  | (ChannelsConfigBase & { cluster?: string; host: string });

/** The integration seed's configuration form. */
export interface ProviderConfiguration {
  provider: string;
  configuration: ReadonlyArray<{ name: string; value: unknown }>;
}

export interface ResolvedChannelsConfig {
  appId: string;
  key: string;
  secret: string;
  scheme: 'http' | 'https';
  host: string;
  port: number | undefined;
  /** `{scheme}://{host}[:{port}]`, no trailing slash. */
  baseUrl: string;
  masterKey: Uint8Array | undefined;
  proxy: string | undefined;
  timeoutMs: number | undefined;
  keepAlive: boolean | undefined;
}

const PARAMETER_NAMES = [
  'appId', 'key', 'secret', 'cluster', 'useTLS', 'host', 'port',
  'encryptionMasterKeyBase64', 'proxy', 'timeout', 'keepAlive',
] as const;
type ParameterName = (typeof PARAMETER_NAMES)[number];

/** Hints for options of the official `pusher` SDK that this SDK does not take. */
const FOREIGN_OPTION_HINTS: Record<string, string> = {
  agent: 'is a Node-only option of the official SDK; use keepAlive/proxy, or pass a custom fetch in the client options',
  encrypted: 'was renamed to useTLS',
  encryptionMasterKey: 'is deprecated; pass encryptionMasterKeyBase64 (base64 of the 32-byte key)',
  scheme: 'is not supported; use useTLS',
};

export const MAX_TIMEOUT_MS = 2_147_483_647; // setTimeout's maximum delay

export function isProviderConfiguration(value: unknown): value is ProviderConfiguration {
  return !!value && typeof value === 'object' && 'configuration' in value && 'provider' in value;
}

/** Converts the seed's `{provider, configuration}` form to a plain object (values still unchecked). */
export function fromProviderConfiguration(input: ProviderConfiguration, acceptedProviders: readonly string[]): Record<string, unknown> {
  if (typeof input.provider !== 'string' || !acceptedProviders.some((p) => p.toLowerCase() === input.provider.toLowerCase())) {
    throw new HeraldConfigurationError('provider', `must be one of ${acceptedProviders.map((p) => `"${p}"`).join(', ')}`);
  }
  if (!Array.isArray(input.configuration) || input.configuration.length > 100) {
    throw new HeraldConfigurationError('configuration', 'must be an array of at most 100 {name, value} entries');
  }
  const out: Record<string, unknown> = {};
  for (const [index, entry] of input.configuration.entries()) {
    if (!entry || typeof entry !== 'object' || typeof entry.name !== 'string') {
      throw new HeraldConfigurationError(`configuration[${index}]`, 'must be an object with a string "name" and a "value"');
    }
    if (Object.prototype.hasOwnProperty.call(out, entry.name)) {
      throw new HeraldConfigurationError(entry.name, 'is given more than once');
    }
    out[entry.name] = entry.value;
  }
  return out;
}

export function resolveChannelsConfig(input: ChannelsConfig | ProviderConfiguration): ResolvedChannelsConfig {
  if (!input || typeof input !== 'object') {
    throw new HeraldConfigurationError('config', 'must be an object ({appId, key, secret, cluster|host, ...}) or {provider, configuration}');
  }
  const raw: Record<string, unknown> = isProviderConfiguration(input)
    ? fromProviderConfiguration(input, ['Pusher', 'Herald'])
    : { ...(input as unknown as Record<string, unknown>) };
  rejectUnknownNames(raw, PARAMETER_NAMES);

  const appId = readAppId(raw.appId);
  const key = readString(raw, 'key', true, 256)!;
  if (/[:\s]/.test(key)) throw new HeraldConfigurationError('key', 'must not contain ":" or whitespace');
  const secret = readString(raw, 'secret', true, 1024)!;
  const cluster = readString(raw, 'cluster', false, 63);
  const host = readString(raw, 'host', false, 255);
  const useTLS = readBoolean(raw, 'useTLS') ?? false;
  const port = readInteger(raw, 'port', 0, 65535);
  const timeout = readInteger(raw, 'timeout', 0, MAX_TIMEOUT_MS);
  const keepAlive = readBoolean(raw, 'keepAlive');
  const proxy = readProxy(raw.proxy);
  const masterKey = readMasterKey(raw.encryptionMasterKeyBase64);

  if (cluster !== undefined && !/^[A-Za-z0-9-]+$/.test(cluster)) {
    throw new HeraldConfigurationError('cluster', 'must contain only letters, digits and "-" (e.g. "eu", "us2", "ap1")');
  }
  let resolvedHost: string;
  if (host !== undefined) {
    resolvedHost = checkHost(host);
  } else if (cluster !== undefined) {
    resolvedHost = `api-${cluster}.pusher.com`;
  } else {
    throw new HeraldConfigurationError('cluster', 'is required (or set host to point the client at Herald)');
  }

  const scheme = useTLS ? 'https' : 'http';
  const effectivePort = port === 0 ? undefined : port;
  return {
    appId,
    key,
    secret,
    scheme,
    host: resolvedHost,
    port: effectivePort,
    baseUrl: `${scheme}://${resolvedHost}${effectivePort === undefined ? '' : `:${effectivePort}`}`,
    masterKey,
    proxy,
    timeoutMs: timeout === 0 ? undefined : timeout,
    keepAlive,
  };
}

export function rejectUnknownNames(raw: Record<string, unknown>, known: readonly string[]): void {
  for (const name of Object.keys(raw)) {
    if (known.includes(name)) continue;
    const hint = FOREIGN_OPTION_HINTS[name];
    throw new HeraldConfigurationError(name, hint ?? `is not a known parameter; expected one of ${known.join(', ')}`);
  }
}

function isUnset(value: unknown): boolean {
  return value === undefined || value === null;
}

/** Reads a string; empty strings count as "not set" for optional parameters (common in integration forms). */
export function readString(raw: Record<string, unknown>, name: string, required: boolean, maxLength: number): string | undefined {
  const value = raw[name];
  if (isUnset(value) || (!required && value === '')) {
    if (required) throw new HeraldConfigurationError(name, 'is required');
    return undefined;
  }
  if (typeof value !== 'string' || value.length === 0) throw new HeraldConfigurationError(name, 'must be a non-empty string');
  if (value.length > maxLength) throw new HeraldConfigurationError(name, `must be at most ${maxLength} characters`);
  return value;
}

/** Booleans; the strings "true"/"false" are accepted because integration forms often carry strings. */
export function readBoolean(raw: Record<string, unknown>, name: string): boolean | undefined {
  const value = raw[name];
  if (isUnset(value) || value === '') return undefined;
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new HeraldConfigurationError(name, 'must be a boolean');
}

/** Integers in [min, max]; decimal digit strings are accepted for the same reason as booleans. */
export function readInteger(raw: Record<string, unknown>, name: string, min: number, max: number): number | undefined {
  const value = raw[name];
  if (isUnset(value) || value === '') return undefined;
  const number = typeof value === 'string' && /^\d{1,10}$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < min || number > max) {
    throw new HeraldConfigurationError(name, `must be an integer from ${min} to ${max}`);
  }
  return number;
}

function readAppId(value: unknown): string {
  if (isUnset(value) || value === '') throw new HeraldConfigurationError('appId', 'is required');
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new HeraldConfigurationError('appId', 'must be a non-negative integer or a string');
    return String(value);
  }
  if (typeof value !== 'string' || !/^[A-Za-z0-9_.~-]{1,64}$/.test(value)) {
    throw new HeraldConfigurationError('appId', 'must be 1–64 characters of A-Z a-z 0-9 _ . ~ -');
  }
  return value;
}

function checkHost(host: string): string {
  if (host.includes('://') || host.includes('/')) {
    throw new HeraldConfigurationError('host', 'must be a bare host name such as "realtime.example.com"; use useTLS for https and port for the port');
  }
  if (/^\[[0-9A-Fa-f:.]+\]$/.test(host)) return host;
  if (host.includes(':')) {
    throw new HeraldConfigurationError('host', 'must not contain a port (use the port parameter); write IPv6 addresses in brackets, e.g. "[::1]"');
  }
  if (!/^[A-Za-z0-9.-]+$/.test(host)) throw new HeraldConfigurationError('host', 'must contain only letters, digits, "." and "-"');
  return host;
}

function readProxy(value: unknown): string | undefined {
  if (isUnset(value) || value === '') return undefined;
  if (typeof value !== 'string' || value.length > 2048) throw new HeraldConfigurationError('proxy', 'must be a URL string');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new HeraldConfigurationError('proxy', 'must be an absolute URL such as "http://proxy.internal:3128"');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HeraldConfigurationError('proxy', 'must use http:// or https://');
  }
  return value;
}

function readMasterKey(value: unknown): Uint8Array | undefined {
  if (isUnset(value) || value === '') return undefined;
  if (typeof value !== 'string') throw new HeraldConfigurationError('encryptionMasterKeyBase64', 'must be a base64 string');
  const bytes = base64ToBytes(value);
  // The key itself is never echoed: error messages may end up in logs.
  if (!bytes) throw new HeraldConfigurationError('encryptionMasterKeyBase64', 'must be valid standard base64 (A-Z a-z 0-9 + / with = padding)');
  if (bytes.length !== 32) {
    throw new HeraldConfigurationError('encryptionMasterKeyBase64', `must decode to 32 bytes, but it decodes to ${bytes.length} bytes`);
  }
  return bytes;
}
