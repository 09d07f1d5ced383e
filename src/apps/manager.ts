/**
 * App management shared by the admin API and the `herald apps` CLI: validation, generated
 * credentials, partial updates, secret rotation, and the rule that apps defined in configuration
 * (config file, HERALD_APP_*) are read-only here.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { appLimitsSchema, appSchema, type App, type AppConfig } from './app.js';
import { AppStore, AppStoreError, type StoredApp } from './store.js';

/** Where an app is defined. */
export type AppSource = 'config' | 'store';

/** An app as the admin API shows it (secrets included: the admin token grants full control). */
export type AppView = AppConfig & { source: AppSource; createdAt?: string; updatedAt?: string };

/** As listed: no secrets (extra credentials reduced to their keys). */
export type AppSummary = Omit<AppView, 'secret' | 'extraCredentials'> & { extraCredentials: Array<{ key: string }> };

export interface RotateOptions {
  /** Also issue a new key (default false: clients keep their key). */
  newKey?: boolean;
  /** Keep accepting the previous key/secret pair until it is dropped (default true). */
  keepPrevious?: boolean;
}

/** Previous key/secret pairs kept during rotations; the oldest are dropped beyond this. */
export const MAX_EXTRA_CREDENTIALS = 5;
const MAX_NAME_LENGTH = 200;
const MAX_WEBHOOKS = 20;
const MAX_WEBHOOK_HEADERS = 20;

const NESTED_KEYS: Record<string, readonly string[]> = {
  limits: Object.keys(appLimitsSchema.shape),
  quotas: ['dailyMessages', 'maxConnections'],
  userAuthentication: ['required', 'timeoutMs'],
};
const TOP_KEYS = Object.keys(appSchema.shape);

export function generateKey(): string {
  return randomBytes(10).toString('hex');
}

export function generateSecret(): string {
  return randomBytes(16).toString('hex');
}

/** Pusher-style numeric app id. */
export function generateId(): string {
  return String(randomInt(1_000_000, 10_000_000));
}

export interface AppManagerOptions {
  store: AppStore;
  /** Apps defined in configuration on this node: never changed here, and their ids/keys are reserved. */
  configApps: readonly App[];
  /** Called after every successful change so the local registry updates at once. */
  onChanged?: (id: string, stored: StoredApp | undefined) => void | Promise<void>;
}

export class AppManager {
  constructor(private readonly options: AppManagerOptions) {}

  get store(): AppStore {
    return this.options.store;
  }

  private configApp(id: string): App | undefined {
    return this.options.configApps.find((a) => a.id === id);
  }

  async list(): Promise<AppSummary[]> {
    const configIds = new Set(this.options.configApps.map((a) => a.id));
    const stored = (await this.options.store.list()).filter((s) => !configIds.has(s.config.id));
    return [...this.options.configApps.map(configView), ...stored.map(storedView)].map(summarize);
  }

  async get(id: string): Promise<AppView> {
    const config = this.configApp(id);
    if (config) return configView(config);
    const stored = await this.options.store.get(id);
    if (!stored) throw new AppStoreError('not_found', `No app with id "${id}"`);
    return storedView(stored);
  }

  async create(input: unknown): Promise<AppView> {
    const body = requireObject(input);
    checkUnknownFields(body);
    const generatedId = body.id === undefined;
    for (let attempt = 0; ; attempt++) {
      const candidate = { ...body, id: body.id ?? generateId(), key: body.key ?? generateKey(), secret: body.secret ?? generateSecret() };
      const config = this.validate(candidate);
      try {
        const stored = await this.options.store.create(config);
        await this.options.onChanged?.(stored.config.id, stored);
        return storedView(stored);
      } catch (err) {
        // A generated id that happens to exist: draw another one.
        const idClash = err instanceof AppStoreError && err.kind === 'conflict' && err.message.startsWith('An app with id');
        if (!(generatedId && idClash && attempt < 5)) throw err;
      }
    }
  }

  /** JSON merge patch (RFC 7386): objects merge, arrays replace, null resets a field to its default. */
  async update(id: string, patch: unknown): Promise<AppView> {
    const body = requireObject(patch);
    checkUnknownFields(body, true);
    if (body.id !== undefined && body.id !== id) throw new AppStoreError('invalid', 'id cannot be changed');
    this.assertWritable(id);
    const stored = await this.options.store.update(id, (current) => this.validate(mergePatch(current, body)));
    await this.options.onChanged?.(id, stored);
    return storedView(stored);
  }

  /** Issues a new secret (and optionally key); the previous pair keeps working unless dropped. */
  async rotateSecret(id: string, options: RotateOptions = {}): Promise<AppView> {
    this.assertWritable(id);
    const stored = await this.options.store.update(id, (current) => {
      const previous = options.keepPrevious === false ? [] : [{ key: current.key, secret: current.secret }, ...current.extraCredentials];
      return this.validate({
        ...current,
        key: options.newKey ? generateKey() : current.key,
        secret: generateSecret(),
        extraCredentials: previous.slice(0, MAX_EXTRA_CREDENTIALS),
      });
    });
    await this.options.onChanged?.(id, stored);
    return storedView(stored);
  }

  async delete(id: string): Promise<void> {
    this.assertWritable(id);
    await this.options.store.delete(id);
    await this.options.onChanged?.(id, undefined);
  }

  private assertWritable(id: string): void {
    if (this.configApp(id)) {
      throw new AppStoreError(
        'read_only',
        `App "${id}" is defined in configuration (config file or HERALD_APP_* variables); change it there and restart`,
      );
    }
  }

  /** Full validation: schema, size limits, and no id/key shared with a configured app. */
  private validate(candidate: Record<string, unknown>): AppConfig {
    const parsed = appSchema.safeParse(candidate);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(app)'}: ${i.message}`);
      throw new AppStoreError('invalid', `Invalid app: ${issues.join('; ')}`);
    }
    const app = parsed.data;
    if ((app.name?.length ?? 0) > MAX_NAME_LENGTH) throw new AppStoreError('invalid', `name: at most ${MAX_NAME_LENGTH} characters`);
    if (app.webhooks.length > MAX_WEBHOOKS) throw new AppStoreError('invalid', `webhooks: at most ${MAX_WEBHOOKS} endpoints`);
    if (app.webhooks.some((w) => Object.keys(w.headers ?? {}).length > MAX_WEBHOOK_HEADERS)) {
      throw new AppStoreError('invalid', `webhooks: at most ${MAX_WEBHOOK_HEADERS} headers per endpoint`);
    }
    if (app.extraCredentials.length > MAX_EXTRA_CREDENTIALS) {
      throw new AppStoreError('invalid', `extraCredentials: at most ${MAX_EXTRA_CREDENTIALS} previous key/secret pairs`);
    }
    const keys = new Set([app.key, ...app.extraCredentials.map((c) => c.key)]);
    for (const configured of this.options.configApps) {
      if (configured.id === app.id) throw new AppStoreError('conflict', `An app with id "${app.id}" is defined in configuration`);
      const clash = configured.credentials.find((c) => keys.has(c.key));
      if (clash) throw new AppStoreError('conflict', `Key "${clash.key}" is already used by app "${configured.id}" (configuration)`);
    }
    return app;
  }
}

function configView(app: App): AppView {
  const { credentials: _credentials, ...config } = app;
  return { ...config, source: 'config' };
}

function storedView(stored: StoredApp): AppView {
  return { ...stored.config, source: 'store', createdAt: stored.createdAt, updatedAt: stored.updatedAt };
}

function summarize(view: AppView): AppSummary {
  const { secret: _secret, extraCredentials, ...rest } = view;
  return { ...rest, extraCredentials: extraCredentials.map((c) => ({ key: c.key })) };
}

function requireObject(input: unknown): Record<string, unknown> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new AppStoreError('invalid', 'The request body must be a JSON object of app fields');
  }
  return input as Record<string, unknown>;
}

/** Refuses misspelt fields instead of silently ignoring them. */
function checkUnknownFields(body: Record<string, unknown>, allowNull = false): void {
  for (const [key, value] of Object.entries(body)) {
    if (!TOP_KEYS.includes(key)) throw new AppStoreError('invalid', `Unknown app field "${key.slice(0, 64)}"`);
    const nested = NESTED_KEYS[key];
    if (nested && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const inner of Object.keys(value)) {
        if (!nested.includes(inner)) throw new AppStoreError('invalid', `Unknown field "${key}.${inner.slice(0, 64)}"`);
      }
    }
    if (value === null && !allowNull) throw new AppStoreError('invalid', `${key}: null is only meaningful in updates`);
  }
}

function mergePatch(target: unknown, patch: unknown): Record<string, unknown> {
  const out: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    if (value === null) delete out[key];
    else if (typeof value === 'object' && !Array.isArray(value)) out[key] = mergePatch(out[key], value);
    else out[key] = value;
  }
  return out;
}
