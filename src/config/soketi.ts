/**
 * Soketi's app format → Herald's app fields, for `herald apps import --from-soketi` and the
 * SOKETI_DEFAULT_APP_* variables. Pure: returns the fields and a note for everything that has no
 * exact equivalent. Soketi spells fields in camelCase (`maxConnections`) or snake_case
 * (`max_connections`); -1 means unlimited there, 0 here.
 */
import { WEBHOOK_EVENT_TYPES } from '../apps/app.js';

export interface MappedApp {
  /** Herald app fields (validate with appSchema). */
  app: Record<string, unknown>;
  /** What could not be carried over exactly, in words for the user. */
  notes: string[];
}

type Raw = Record<string, unknown>;

const snake = (camel: string) => camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Soketi's fields this mapping reads (camelCase; the snake_case spelling is accepted too). */
const KNOWN = [
  'id', 'key', 'secret', 'enabled', 'enableClientMessages', 'enableUserAuthentication', 'maxConnections',
  'maxClientEventsPerSecond', 'maxBackendEventsPerSecond', 'maxReadRequestsPerSecond', 'maxPresenceMembersPerChannel',
  'maxPresenceMemberSizeInKb', 'maxChannelNameLength', 'maxEventChannelsAtOnce', 'maxEventNameLength',
  'maxEventPayloadInKb', 'maxEventBatchSize', 'webhooks',
] as const;

/** Reads a field in either spelling; null (SQL drivers) counts as absent. */
function field(raw: Raw, name: string): unknown {
  const value = raw[name] ?? raw[snake(name)] ?? raw[name[0]!.toUpperCase() + name.slice(1)];
  return value === null ? undefined : value;
}

function toNumber(value: unknown, name: string): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new Error(`${name}: expected a number, got ${JSON.stringify(value)}`);
  return n;
}

function toBool(value: unknown, name: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'string' && /^(true|1|yes|on)$/i.test(value)) return true;
  if (typeof value === 'string' && /^(false|0|no|off)$/i.test(value)) return false;
  throw new Error(`${name}: expected true or false, got ${JSON.stringify(value)}`);
}

function mapWebhook(raw: unknown, where: string, notes: string[]): Raw | undefined {
  if (!isObject(raw)) {
    notes.push(`${where}: not an object, skipped`);
    return undefined;
  }
  if (raw.lambda_function !== undefined || raw.lambda !== undefined) {
    notes.push(`${where}: AWS Lambda webhooks have no equivalent (Herald POSTs to a URL); skipped`);
    return undefined;
  }
  if (typeof raw.url !== 'string') {
    notes.push(`${where}: no url, skipped`);
    return undefined;
  }
  const hook: Raw = { url: raw.url };
  const types = raw.event_types ?? raw.eventTypes;
  if (Array.isArray(types)) {
    const known = types.filter((t): t is (typeof WEBHOOK_EVENT_TYPES)[number] => (WEBHOOK_EVENT_TYPES as readonly unknown[]).includes(t));
    const unknown = types.filter((t) => !known.includes(t as never));
    if (unknown.length > 0) notes.push(`${where}: event types ${unknown.map((t) => JSON.stringify(t)).join(', ')} do not exist in Herald; left out`);
    if (known.length === 0) {
      notes.push(`${where}: no event type left, skipped`);
      return undefined;
    }
    hook.events = known;
  }
  if (isObject(raw.headers)) hook.headers = Object.fromEntries(Object.entries(raw.headers).map(([k, v]) => [k, String(v)]));
  const filter = isObject(raw.filter) ? raw.filter : {};
  if (typeof filter.channel_name_starts_with === 'string' && filter.channel_name_starts_with) hook.channelPrefix = filter.channel_name_starts_with;
  if (typeof filter.channel_name_ends_with === 'string' && filter.channel_name_ends_with) {
    notes.push(`${where}: filter.channel_name_ends_with "${filter.channel_name_ends_with}" has no equivalent (only a prefix filter): this endpoint now gets the events of every channel`);
  }
  for (const extra of Object.keys(raw)) {
    if (!['url', 'event_types', 'eventTypes', 'headers', 'filter'].includes(extra)) notes.push(`${where}.${extra}: no equivalent, ignored`);
  }
  return hook;
}

/** Maps one Soketi app. Throws (with the field name) only for values of the wrong type. */
export function fromSoketiApp(raw: Raw): MappedApp {
  const notes: string[] = [];
  const app: Raw = {};
  const limits: Raw = {};
  const get = (name: (typeof KNOWN)[number]) => field(raw, name);
  const num = (name: (typeof KNOWN)[number]) => {
    const value = get(name);
    return value === undefined ? undefined : toNumber(value, name);
  };
  /** Soketi's -1 (unlimited) → 0; Soketi's 0 (nothing allowed) has no equivalent. */
  const unlimitedIsZero = (name: (typeof KNOWN)[number], target: string) => {
    const n = num(name);
    if (n === undefined) return;
    if (n === 0) notes.push(`${name} 0 (none allowed) has no equivalent: Herald's 0 means unlimited; left unlimited`);
    limits[target] = n < 0 ? 0 : Math.floor(n);
  };
  const scaled = (name: (typeof KNOWN)[number], target: string, factor: number) => {
    const n = num(name);
    if (n !== undefined && n >= 0) limits[target] = Math.round(n * factor);
  };

  for (const name of ['id', 'key', 'secret'] as const) {
    const value = get(name);
    if (value !== undefined) app[name] = String(value);
  }
  if (get('enabled') !== undefined) app.enabled = toBool(get('enabled'), 'enabled');
  // Soketi's default is off; Herald's is on, so the import keeps Soketi's behaviour explicitly.
  app.clientEvents = get('enableClientMessages') === undefined ? false : toBool(get('enableClientMessages'), 'enableClientMessages');
  if (get('enableUserAuthentication') !== undefined) app.userAuthentication = { required: toBool(get('enableUserAuthentication'), 'enableUserAuthentication') };

  unlimitedIsZero('maxConnections', 'maxConnections');
  unlimitedIsZero('maxClientEventsPerSecond', 'clientEventsPerSecond');
  const backend = num('maxBackendEventsPerSecond');
  const reads = num('maxReadRequestsPerSecond');
  const limited = (n: number | undefined) => n !== undefined && n >= 0;
  if (limited(backend) && limited(reads)) {
    limits.apiRequestsPerSecond = Math.max(1, Math.floor(backend! + reads!));
    notes.push(
      `maxBackendEventsPerSecond ${backend} + maxReadRequestsPerSecond ${reads} → limits.apiRequestsPerSecond ${limits.apiRequestsPerSecond}: ` +
        'Herald has one budget of API requests per app and node (publishes and reads together; a batch counts once)',
    );
  } else if (limited(backend) || limited(reads)) {
    const name = limited(backend) ? 'maxBackendEventsPerSecond' : 'maxReadRequestsPerSecond';
    notes.push(`${name} has no exact equivalent (Herald limits all API requests of an app together: limits.apiRequestsPerSecond); not set`);
  }
  const plain = (name: (typeof KNOWN)[number], target: string) => {
    const n = num(name);
    if (n !== undefined && n >= 0) limits[target] = Math.floor(n);
  };
  plain('maxPresenceMembersPerChannel', 'maxPresenceMembers');
  scaled('maxPresenceMemberSizeInKb', 'maxPresenceUserInfoBytes', 1024);
  plain('maxChannelNameLength', 'maxChannelNameLength');
  plain('maxEventChannelsAtOnce', 'maxChannelsPerPublish');
  plain('maxEventNameLength', 'maxEventNameLength');
  scaled('maxEventPayloadInKb', 'maxPayloadBytes', 1024);
  plain('maxEventBatchSize', 'maxBatchSize');
  if (Object.keys(limits).length > 0) app.limits = limits;

  const webhooks = get('webhooks');
  if (webhooks !== undefined) {
    const list = typeof webhooks === 'string' ? (JSON.parse(webhooks) as unknown) : webhooks;
    if (!Array.isArray(list)) throw new Error('webhooks: expected a list');
    app.webhooks = list.map((hook, i) => mapWebhook(hook, `webhooks[${i}]`, notes)).filter(Boolean);
  }

  const known = new Set<string>(KNOWN.flatMap((k) => [k, snake(k), k[0]!.toUpperCase() + k.slice(1)]));
  for (const extra of Object.keys(raw)) if (!known.has(extra) && raw[extra] !== null) notes.push(`${extra}: no equivalent in Herald, ignored`);
  return { app, notes };
}

/** The app list of a Soketi configuration file: `appManager.array.apps`, nested or as one dotted key. */
export function soketiAppsOf(config: unknown): unknown[] {
  if (!isObject(config)) throw new Error('not a JSON object');
  const dotted = config['appManager.array.apps'];
  const manager = isObject(config.appManager) ? config.appManager : undefined;
  const nested = manager && isObject(manager.array) ? manager.array.apps : undefined;
  const apps = dotted ?? nested;
  if (apps === undefined) throw new Error('no appManager.array.apps list (the array app manager); apps kept in MySQL, PostgreSQL or DynamoDB are not in this file');
  if (!Array.isArray(apps)) throw new Error('appManager.array.apps is not a list');
  return apps;
}
