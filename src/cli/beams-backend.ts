/**
 * Where `herald beams` sends its work: a running Herald's admin API (/admin/beams/instances), or
 * the store directly (PostgreSQL, or an embedded store no Herald is using — PGlite allows one
 * process at a time, so the data directory is locked while the CLI uses it).
 */
import { AdminApiClient } from './admin-client.js';
import { CliError } from './command.js';
import { openCliStore, type CliStore } from './cli-store.js';
import { describeInstance, InstanceConflictError, InstanceStore, type InstanceInput } from '../beams/instances.js';
import '../beams/migrations.js';
import { SettingsError } from '../beams/settings.js';
import { DeviceStore } from '../beams/store.js';

export type InstanceView = Record<string, unknown> & { id: string; secretKey: string };

export interface BeamsBackend {
  readonly description: string;
  list(): Promise<InstanceView[]>;
  show(id: string): Promise<InstanceView>;
  create(input: InstanceInput): Promise<InstanceView>;
  update(id: string, patch: InstanceInput): Promise<InstanceView>;
  rotateSecret(id: string): Promise<{ id: string; secretKey: string }>;
  remove(id: string): Promise<void>;
  close(): Promise<void>;
}

export class HttpBeamsBackend implements BeamsBackend {
  private readonly client: AdminApiClient;

  constructor(url: string, token: string) {
    this.client = new AdminApiClient(url, token);
  }

  get description(): string {
    return this.client.description;
  }

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.client.call<T>(method, `/admin/beams/instances${path}`, body);
  }

  async list() {
    return (await this.call<{ instances: InstanceView[] }>('GET', '')).instances;
  }
  show(id: string) {
    return this.call<InstanceView>('GET', `/${encodeURIComponent(id)}`);
  }
  create(input: InstanceInput) {
    return this.call<InstanceView>('POST', '', input);
  }
  update(id: string, patch: InstanceInput) {
    return this.call<InstanceView>('PATCH', `/${encodeURIComponent(id)}`, patch);
  }
  rotateSecret(id: string) {
    return this.call<{ id: string; secretKey: string }>('POST', `/${encodeURIComponent(id)}/rotate-secret`);
  }
  async remove(id: string) {
    await this.call('DELETE', `/${encodeURIComponent(id)}`);
  }
  async close() {}
}

export class DirectBeamsBackend implements BeamsBackend {
  private readonly instances: InstanceStore;
  private readonly devices: DeviceStore;

  private constructor(private readonly store: CliStore) {
    this.instances = new InstanceStore(async () => store.db);
    this.devices = new DeviceStore(async () => store.db);
  }

  get description(): string {
    return this.store.description;
  }

  static async open(options: { databaseUrl?: string; dataDir: string }): Promise<DirectBeamsBackend> {
    return new DirectBeamsBackend(await openCliStore(options));
  }

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof SettingsError || err instanceof InstanceConflictError) throw new CliError(err.message);
      throw err;
    }
  }

  private async view(id: string): Promise<InstanceView> {
    const instance = await this.instances.get(id);
    if (!instance) throw new CliError(`Beams instance ${id} not found`);
    return { ...describeInstance(instance), devices: await this.devices.countByPlatform(id) } as unknown as InstanceView;
  }

  async list() {
    return (await this.instances.list()).map((i) => describeInstance(i) as unknown as InstanceView);
  }
  show(id: string) {
    return this.view(id);
  }
  create(input: InstanceInput) {
    return this.run(async () => describeInstance(await this.instances.create(input)) as unknown as InstanceView);
  }
  update(id: string, patch: InstanceInput) {
    return this.run(async () => {
      if (!(await this.instances.update(id, patch))) throw new CliError(`Beams instance ${id} not found`);
      return this.view(id);
    });
  }
  async rotateSecret(id: string) {
    const updated = await this.instances.update(id, { rotateSecret: true });
    if (!updated) throw new CliError(`Beams instance ${id} not found`);
    return { id, secretKey: updated.secretKey };
  }
  async remove(id: string) {
    if (!(await this.instances.delete(id))) throw new CliError(`Beams instance ${id} not found`);
  }
  close() {
    return this.store.close();
  }
}
