/**
 * Where `herald apps` sends its work: straight to the store (PostgreSQL, or the embedded store
 * when no Herald holds it), or to a running Herald's admin API (required for an embedded store
 * in use, since PGlite allows one process at a time).
 */
import { AdminApiClient } from './admin-client.js';
import { CliError } from './command.js';
import type { App } from '../apps/app.js';
import { AppManager, type AppSummary, type AppView, type RotateOptions } from '../apps/manager.js';
import { AppStore, AppStoreError } from '../apps/store.js';
import { UsageStore, utcDay, type DailyUsage } from '../apps/usage-store.js';
import { openCliStore, type CliStore } from './cli-store.js';

export interface AppsBackend {
  /** Where the commands go, for messages ("admin API at …", "embedded store in …"). */
  readonly description: string;
  list(): Promise<AppSummary[]>;
  show(id: string): Promise<AppView>;
  create(body: Record<string, unknown>): Promise<AppView>;
  update(id: string, patch: Record<string, unknown>): Promise<AppView>;
  rotate(id: string, options: RotateOptions): Promise<AppView>;
  remove(id: string): Promise<void>;
  stats(id: string): Promise<unknown>;
  usage(id: string, range: { from?: string; to?: string; days?: string }): Promise<unknown>;
  close(): Promise<void>;
}

/** Talks to a running Herald's /admin API. */
export class HttpAppsBackend implements AppsBackend {
  private readonly client: AdminApiClient;

  constructor(url: string, token: string) {
    this.client = new AdminApiClient(url, token);
  }

  get description(): string {
    return this.client.description;
  }

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.client.call<T>(method, path, body);
  }

  async list() {
    return (await this.call<{ apps: AppSummary[] }>('GET', '/admin/apps')).apps;
  }
  show(id: string) {
    return this.call<AppView>('GET', `/admin/apps/${encodeURIComponent(id)}`);
  }
  create(body: Record<string, unknown>) {
    return this.call<AppView>('POST', '/admin/apps', body);
  }
  update(id: string, patch: Record<string, unknown>) {
    return this.call<AppView>('PATCH', `/admin/apps/${encodeURIComponent(id)}`, patch);
  }
  rotate(id: string, options: RotateOptions) {
    return this.call<AppView>('POST', `/admin/apps/${encodeURIComponent(id)}/rotate-secret`, options);
  }
  async remove(id: string) {
    await this.call('DELETE', `/admin/apps/${encodeURIComponent(id)}`);
  }
  stats(id: string) {
    return this.call('GET', `/admin/apps/${encodeURIComponent(id)}/stats`);
  }
  usage(id: string, range: { from?: string; to?: string; days?: string }) {
    const query = new URLSearchParams(Object.entries(range).filter((e): e is [string, string] => e[1] !== undefined));
    const qs = query.toString();
    return this.call('GET', `/admin/apps/${encodeURIComponent(id)}/usage${qs ? `?${qs}` : ''}`);
  }
  async close() {}
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Works on the store directly (PostgreSQL, or an embedded store no Herald is using). */
export class DirectAppsBackend implements AppsBackend {
  private readonly manager: AppManager;

  private constructor(
    private readonly store: CliStore,
    configApps: readonly App[],
  ) {
    this.manager = new AppManager({ store: new AppStore(store.db), configApps });
  }

  get description(): string {
    return this.store.description;
  }

  static async open(options: { databaseUrl?: string; dataDir: string; configApps: readonly App[] }): Promise<DirectAppsBackend> {
    return new DirectAppsBackend(await openCliStore(options), options.configApps);
  }

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof AppStoreError) throw new CliError(err.message);
      throw err;
    }
  }

  list() {
    return this.run(() => this.manager.list());
  }
  show(id: string) {
    return this.run(() => this.manager.get(id));
  }
  create(body: Record<string, unknown>) {
    return this.run(() => this.manager.create(body));
  }
  update(id: string, patch: Record<string, unknown>) {
    return this.run(() => this.manager.update(id, patch));
  }
  rotate(id: string, options: RotateOptions) {
    return this.run(() => this.manager.rotateSecret(id, options));
  }
  async remove(id: string) {
    await this.run(async () => {
      await this.manager.delete(id);
      await new UsageStore(this.store.db).deleteApp(id);
    });
  }
  async stats(): Promise<unknown> {
    throw new CliError('Live stats come from a running Herald: add --url <http://host:port> and --admin-token (or HERALD_URL / HERALD_ADMIN_TOKEN)');
  }
  async usage(id: string, range: { from?: string; to?: string; days?: string }): Promise<unknown> {
    const to = range.to ?? utcDay();
    const days = range.days === undefined ? 30 : Number(range.days);
    if (!Number.isInteger(days) || days < 1 || days > 400) throw new CliError('--days must be a whole number from 1 to 400', 2);
    const from = range.from ?? utcDay(Date.parse(`${to}T00:00:00Z`) - (days - 1) * 86_400_000);
    if (!DAY.test(from) || !DAY.test(to)) throw new CliError('--from / --to must be dates as YYYY-MM-DD', 2);
    await this.show(id);
    const history: DailyUsage[] = await new UsageStore(this.store.db).history(id, from, to);
    return { appId: id, from, to, days: history, note: 'stored totals (a running Herald adds what it has not flushed yet)' };
  }
  close() {
    return this.store.close();
  }
}
