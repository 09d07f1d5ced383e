/**
 * What `proxy` and `keepAlive` mean on each runtime. Standard fetch has neither option, so each
 * runtime's own extension is used, and anything that cannot be honoured is reported (an error for
 * `proxy`, a warning for `keepAlive: false`), never silently ignored. Details: docs/sdk.md.
 *
 * | runtime | proxy                                   | keepAlive: false                         |
 * |---------|-----------------------------------------|------------------------------------------|
 * | Node    | undici `ProxyAgent` (`undici` is a dependency) | undici `Agent({pipelining: 0})`, else warn |
 * | Deno    | `Deno.createHttpClient({proxy})`        | `Deno.createHttpClient({poolMaxIdlePerHost: 0})` |
 * | Bun     | fetch `proxy` option                    | fetch `keepalive: false`                 |
 * | edge    | not possible → configuration error      | platform-managed → warning               |
 *
 * `keepAlive: true` (or unset) is every runtime's default: fetch pools connections.
 */
import { HeraldConfigurationError } from './errors.js';

export type RuntimeName = 'node' | 'deno' | 'bun' | 'edge';

/** The minimal Response surface the SDK reads. */
export interface FetchResponseLike {
  status: number;
  text(): Promise<string>;
}

/** A fetch-compatible function (global fetch, undici's fetch, a test double, a proxying wrapper…). */
export type FetchLike = (url: string, init: Record<string, unknown>) => Promise<FetchResponseLike>;

interface RuntimeGlobals {
  Deno?: { version?: { deno?: string }; createHttpClient?: (options: Record<string, unknown>) => unknown };
  Bun?: unknown;
  EdgeRuntime?: unknown;
  navigator?: { userAgent?: string };
  process?: { versions?: Record<string, string | undefined> };
}

export function detectRuntime(): RuntimeName {
  const g = globalThis as unknown as RuntimeGlobals;
  if (typeof g.Deno?.version?.deno === 'string') return 'deno';
  if (g.Bun !== undefined || typeof g.process?.versions?.bun === 'string') return 'bun';
  // Checked before Node: Cloudflare's nodejs_compat and Vercel Edge both fake `process.versions.node`.
  if (g.EdgeRuntime !== undefined || g.navigator?.userAgent === 'Cloudflare-Workers') return 'edge';
  if (typeof g.process?.versions?.node === 'string') return 'node';
  return 'edge';
}

export interface ConnectionSettings {
  proxy: string | undefined;
  keepAlive: boolean | undefined;
  runtime: RuntimeName;
  warn: (message: string) => void;
}

/** How requests are sent: which fetch, plus extra init fields for the runtime. */
export interface ResolvedConnection {
  fetch: FetchLike;
  init: Record<string, unknown>;
}

/** Synchronous checks, run at construction. */
export function checkConnectionSettings(settings: ConnectionSettings, customFetch: boolean): void {
  if (customFetch) {
    if (settings.proxy !== undefined || settings.keepAlive === false) {
      settings.warn('herald/sdk: a custom fetch was given, so proxy and keepAlive are left to that fetch');
    }
    return;
  }
  if (settings.proxy !== undefined && settings.runtime === 'edge') {
    throw new HeraldConfigurationError('proxy', 'this runtime (browser/edge worker) has no way to route fetch through a proxy; remove it or pass a custom fetch');
  }
  if (settings.keepAlive === false && settings.runtime === 'edge') {
    settings.warn('herald/sdk: keepAlive: false has no effect on this runtime; the platform manages connections');
  }
}

/** Loads an optional module by a computed name so bundlers and type checkers leave it alone. */
async function importOptional(name: string): Promise<Record<string, unknown> | undefined> {
  try {
    return (await import(/* @vite-ignore */ /* webpackIgnore: true */ name)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

type Constructor = new (options: Record<string, unknown>) => unknown;

/** Works out the fetch and init extras once per client (lazily, at the first request). */
export async function resolveConnection(settings: ConnectionSettings, customFetch: FetchLike | undefined): Promise<ResolvedConnection> {
  const globalFetch = globalThis.fetch as unknown as FetchLike | undefined;
  if (customFetch) return { fetch: customFetch, init: {} };
  if (!globalFetch) throw new HeraldConfigurationError('runtime', 'globalThis.fetch is missing; use Node 20+, Deno, Bun or an edge runtime, or pass a custom fetch');
  const { proxy, keepAlive, runtime } = settings;
  const wantsNoReuse = keepAlive === false;
  if (proxy === undefined && !wantsNoReuse) return { fetch: globalFetch, init: {} };

  switch (runtime) {
    case 'bun': {
      const init: Record<string, unknown> = {};
      if (proxy !== undefined) init.proxy = proxy;
      if (wantsNoReuse) init.keepalive = false;
      return { fetch: globalFetch, init };
    }
    case 'deno': {
      const deno = (globalThis as unknown as RuntimeGlobals).Deno;
      if (typeof deno?.createHttpClient !== 'function') {
        throw new HeraldConfigurationError(proxy !== undefined ? 'proxy' : 'keepAlive', 'needs Deno.createHttpClient (Deno 2, or Deno 1.x with --unstable-net)');
      }
      const options: Record<string, unknown> = {};
      if (proxy !== undefined) options.proxy = { url: proxy };
      if (wantsNoReuse) options.poolMaxIdlePerHost = 0;
      return { fetch: globalFetch, init: { client: deno.createHttpClient(options) } };
    }
    case 'node': {
      // Node's fetch is undici, but undici's Agent classes are only reachable through the npm package.
      const undici = await importOptional('undici');
      const undiciFetch = undici?.fetch as FetchLike | undefined;
      if (!undici || typeof undiciFetch !== 'function') {
        if (proxy !== undefined) {
          throw new HeraldConfigurationError('proxy', 'on Node.js the proxy option needs the "undici" package (npm install undici), or pass a custom fetch in the client options');
        }
        settings.warn('herald/sdk: keepAlive: false needs the "undici" package on Node.js; connections will be reused');
        return { fetch: globalFetch, init: {} };
      }
      if (proxy !== undefined) {
        if (wantsNoReuse) settings.warn('herald/sdk: keepAlive: false is not applied together with proxy on Node.js');
        const ProxyAgent = undici.ProxyAgent as Constructor;
        return { fetch: undiciFetch, init: { dispatcher: new ProxyAgent({ uri: proxy }) } };
      }
      const Agent = undici.Agent as Constructor;
      // pipelining: 0 makes undici close each connection after its response.
      return { fetch: undiciFetch, init: { dispatcher: new Agent({ pipelining: 0 }) } };
    }
    default:
      // Edge: proxy was refused at construction; keepAlive: false was warned about.
      return { fetch: globalFetch, init: {} };
  }
}
