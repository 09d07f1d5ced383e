/**
 * Allowed origins per app (docs/apps.md#allowed-origins): which browser pages may open connections
 * with the app's key. Pure functions, no I/O: the WebSocket handshake calls `originRefusal`, and
 * so can any other client transport (HTTP fallbacks) with the request's `Origin` header.
 *
 * An entry is one of
 *   `*`                          any origin (same as an empty list)
 *   `https://app.example.com`    exactly this origin (scheme, host and port; default ports optional)
 *   `app.example.com`            this host name, any scheme and port
 *   `*.example.com`              any subdomain of example.com (not example.com itself)
 *   `null`                       the opaque origin browsers send from file:// pages and sandboxes
 *
 * Requests without an `Origin` header are not from a browser page (server-side pusher-js, mobile
 * apps, curl) and are always let through: the check stops other web sites from using the key in
 * their visitors' browsers, which is the only place an Origin cannot be forged.
 */
import { CloseCode } from '../protocol/errors.js';

/** At most this many entries per app, each at most MAX_ORIGIN_LENGTH characters. */
export const MAX_ALLOWED_ORIGINS = 100;
export const MAX_ORIGIN_LENGTH = 300;

/** The Pusher code a refused origin gets: 4009 "connection is unauthorized" (as Reverb does). */
export const ORIGIN_REFUSAL = { code: CloseCode.Unauthorized, reason: 'Origin not allowed' } as const;

const HOST = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*';
const HOST_ENTRY = new RegExp(`^(?:\\*\\.)?${HOST}$`);
const ORIGIN_ENTRY = new RegExp(`^[a-z][a-z0-9+.-]*://(?:${HOST}|\\[[0-9a-f:.]+\\])(?::\\d{1,5})?$`);

/** Why an entry is not valid, or undefined when it is (used by the app schema). */
export function invalidOriginEntry(entry: string): string | undefined {
  const value = entry.trim().toLowerCase();
  if (value === '*' || value === 'null') return undefined;
  if (value.length === 0 || value.length > MAX_ORIGIN_LENGTH) return `must be 1–${MAX_ORIGIN_LENGTH} characters`;
  if (HOST_ENTRY.test(value)) return undefined;
  if (ORIGIN_ENTRY.test(value.replace(/\/$/, ''))) return undefined;
  return 'must be *, null, an origin like https://app.example.com, a host like app.example.com or *.example.com';
}

interface Matcher {
  any: boolean;
  origins: Set<string>;
  hosts: Set<string>;
  suffixes: string[];
}

/** Compiled once per list: app objects (and their arrays) are replaced, never mutated, on change. */
const compiled = new WeakMap<readonly string[], Matcher>();

function compile(entries: readonly string[]): Matcher {
  let matcher = compiled.get(entries);
  if (matcher) return matcher;
  matcher = { any: entries.length === 0, origins: new Set(), hosts: new Set(), suffixes: [] };
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase().replace(/\/$/, '');
    if (entry === '*') matcher.any = true;
    else if (entry === 'null') matcher.origins.add('null');
    else if (entry.includes('://')) matcher.origins.add(normalizeOrigin(entry) ?? entry);
    else if (entry.startsWith('*.')) matcher.suffixes.push(entry.slice(1));
    else matcher.hosts.add(entry);
  }
  compiled.set(entries, matcher);
  return matcher;
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443' };

/** `scheme://host[:port]` lower-cased with the scheme's default port dropped; undefined if unparsable. */
function normalizeOrigin(origin: string): string | undefined {
  try {
    const url = new URL(origin);
    const port = url.port && url.port !== DEFAULT_PORTS[url.protocol] ? `:${url.port}` : '';
    return `${url.protocol}//${url.hostname}${port}`;
  } catch {
    return undefined;
  }
}

/** True when a page with this `Origin` header may connect to an app with this list. */
export function originAllowed(allowedOrigins: readonly string[], origin: string | undefined): boolean {
  // The common case (no list, or not a browser) costs no lookup.
  if (allowedOrigins.length === 0 || origin === undefined) return true;
  const matcher = compile(allowedOrigins);
  if (matcher.any) return true;
  const value = origin.trim().toLowerCase();
  if (value === 'null') return matcher.origins.has('null');
  const normalized = normalizeOrigin(value);
  if (!normalized) return false;
  if (matcher.origins.has(normalized)) return true;
  const host = new URL(normalized).hostname;
  if (matcher.hosts.has(host)) return true;
  return matcher.suffixes.some((suffix) => host.endsWith(suffix));
}

/**
 * The refusal for a connection attempt (the app looked up by the key in the request, the request's
 * Origin header), or undefined to let the usual handshake checks run. Unknown keys are left to them.
 */
export function originRefusal(
  app: { allowedOrigins: readonly string[] } | undefined,
  origin: string | string[] | undefined,
): typeof ORIGIN_REFUSAL | undefined {
  if (!app) return undefined;
  const value = Array.isArray(origin) ? origin[0] : origin;
  return originAllowed(app.allowedOrigins, value) ? undefined : ORIGIN_REFUSAL;
}
