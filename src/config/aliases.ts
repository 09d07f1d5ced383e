/**
 * Environment variables of the servers people migrate from, accepted for the default app so an
 * existing `.env` keeps working: Laravel's PUSHER_APP_* (Pusher and Soketi setups), REVERB_APP_*
 * (Laravel Reverb) and Soketi's SOKETI_DEFAULT_APP_*. They sit below every Herald setting: when a
 * HERALD_* variable, a flag or the config file sets the same thing, Herald's wins, with a warning.
 */
import { fromSoketiApp } from './soketi.js';

export interface AliasLayer {
  /** Config values (`{ app: {...} }`), lowest precedence. */
  layer: Record<string, unknown>;
  /** Dotted config path → the variable it came from. */
  origin: Map<string, string>;
  /** For the start-up log: which variables were used, which ignored. */
  notices: string[];
  warnings: string[];
}

/** Simple families: variable → app field. Checked after Soketi's, in this order. */
const SIMPLE_FAMILIES: Array<{ vars: Record<string, 'id' | 'key' | 'secret'>; ignored: string[] }> = [
  { vars: { REVERB_APP_ID: 'id', REVERB_APP_KEY: 'key', REVERB_APP_SECRET: 'secret' }, ignored: [] },
  // PUSHER_APP_CLUSTER names a Pusher region; Herald has none (clients still send one: pusher-js requires it).
  { vars: { PUSHER_APP_ID: 'id', PUSHER_APP_KEY: 'key', PUSHER_APP_SECRET: 'secret' }, ignored: ['PUSHER_APP_CLUSTER'] },
];

/** SOKETI_DEFAULT_APP_<suffix> → the Soketi app field it sets. */
const SOKETI_VARS: Record<string, string> = {
  ID: 'id',
  KEY: 'key',
  SECRET: 'secret',
  ENABLED: 'enabled',
  ENABLE_CLIENT_MESSAGES: 'enableClientMessages',
  USER_AUTHENTICATION: 'enableUserAuthentication',
  MAX_CONNS: 'maxConnections',
  MAX_CLIENT_EVENTS_PER_SEC: 'maxClientEventsPerSecond',
  MAX_BACKEND_EVENTS_PER_SEC: 'maxBackendEventsPerSecond',
  MAX_READ_REQ_PER_SEC: 'maxReadRequestsPerSecond',
  WEBHOOKS: 'webhooks',
};

function flatten(value: Record<string, unknown>, prefix: string, out: Map<string, unknown>): void {
  for (const [k, v] of Object.entries(value)) {
    const path = `${prefix}.${k}`;
    if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, path, out);
    else out.set(path, v);
  }
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
  node[parts.at(-1)!] = value;
}

/** Reads the alias variables; throws an Error naming the variable for a value of the wrong type. */
export function aliasLayer(env: Record<string, string | undefined>): AliasLayer {
  const result: AliasLayer = { layer: {}, origin: new Map(), notices: [], warnings: [] };
  const set = (path: string, value: unknown, variable: string) => {
    const earlier = result.origin.get(path);
    if (earlier) {
      result.warnings.push(`${variable} is ignored: ${earlier} sets the default app's ${path.slice(4)} too`);
      return;
    }
    result.origin.set(path, variable);
    setPath(result.layer, path, value);
  };

  const soketi: Record<string, unknown> = {};
  const soketiVars: Record<string, string> = {};
  for (const [suffix, name] of Object.entries(SOKETI_VARS)) {
    const raw = env[`SOKETI_DEFAULT_APP_${suffix}`];
    if (raw === undefined || raw === '') continue;
    soketi[name] = raw;
    soketiVars[name] = `SOKETI_DEFAULT_APP_${suffix}`;
  }
  if (Object.keys(soketi).length > 0) {
    let mapped;
    try {
      mapped = fromSoketiApp(soketi);
    } catch (err) {
      const name = (err as Error).message.split(':')[0]!;
      throw new Error(`${soketiVars[name] ?? 'SOKETI_DEFAULT_APP_*'}: ${(err as Error).message.slice(name.length + 2)}`);
    }
    const fields = new Map<string, unknown>();
    flatten(mapped.app, 'app', fields);
    for (const [path, value] of fields) set(path, value, path === 'app.clientEvents' && !soketiVars.enableClientMessages ? 'SOKETI_DEFAULT_APP_* (Soketi default: client events off)' : (soketiVarFor(path, soketiVars) ?? 'SOKETI_DEFAULT_APP_*'));
    result.notices.push(`default app from ${Object.values(soketiVars).join(', ')}`);
    result.warnings.push(...mapped.notes.map((note) => `SOKETI_DEFAULT_APP_*: ${note}`));
  }

  for (const family of SIMPLE_FAMILIES) {
    const used: string[] = [];
    for (const [variable, fieldName] of Object.entries(family.vars)) {
      const raw = env[variable];
      if (raw === undefined || raw === '') continue;
      set(`app.${fieldName}`, raw, variable);
      used.push(variable);
    }
    if (used.length === 0) continue;
    const ignored = family.ignored.filter((v) => env[v]);
    result.notices.push(`default app from ${used.join(', ')}${ignored.length ? ` (${ignored.join(', ')} ignored: Herald has no clusters)` : ''}`);
  }
  return result;
}

/** The SOKETI_DEFAULT_APP_* variable behind a mapped path, for messages. */
function soketiVarFor(path: string, vars: Record<string, string>): string | undefined {
  const byPath: Record<string, string> = {
    'app.id': 'id',
    'app.key': 'key',
    'app.secret': 'secret',
    'app.enabled': 'enabled',
    'app.clientEvents': 'enableClientMessages',
    'app.userAuthentication.required': 'enableUserAuthentication',
    'app.limits.maxConnections': 'maxConnections',
    'app.limits.clientEventsPerSecond': 'maxClientEventsPerSecond',
    'app.limits.apiRequestsPerSecond': 'maxBackendEventsPerSecond',
  };
  const name = byPath[path] ?? (path.startsWith('app.webhooks') ? 'webhooks' : undefined);
  return name ? vars[name] : undefined;
}

/** Paths a layer sets (for spotting a Herald setting that overrides an alias). */
export function pathsOf(layer: Record<string, unknown>): Set<string> {
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries(layer)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, k, out);
    else out.set(k, v);
  }
  return new Set(out.keys());
}
