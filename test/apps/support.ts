/** Shared helpers for the app store tests: backends, admin calls, unique ids, pusher-js waits. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { appsModule } from '../../src/app-store/module.js';
import { storageModule } from '../../src/app-store/database-module.js';
import { startTestHerald, type TestHerald, type TestHeraldOptions } from '../helpers/herald.js';
import { PusherJs } from '../helpers/pusher-js.js';
import { withTimeout } from '../helpers/wait.js';

export const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export type Backend = 'embedded' | 'postgres';

let pgUp: Promise<string | undefined> | undefined;

/** Undefined when the test PostgreSQL answers, else why not (tests on it are skipped with it). */
function postgresProblem(): Promise<string | undefined> {
  pgUp ??= (async () => {
    // Generous timeout: test files start together and the machine is busy compiling them.
    const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 15_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return undefined;
    } catch (err) {
      return (err as Error).message;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return pgUp;
}

export async function postgresAvailable(): Promise<boolean> {
  const problem = await postgresProblem();
  if (problem) PG_SKIP_MESSAGE = `PostgreSQL not reachable at ${PG_URL} (${problem})`;
  return problem === undefined;
}

export let PG_SKIP_MESSAGE = `PostgreSQL not reachable at ${PG_URL}`;

/** A unique id/key fragment so rows never collide between tests or parallel runs on one database. */
export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

export function tempDataDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'herald-apps-test-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface AppsHeraldOptions extends TestHeraldOptions {
  backend: Backend;
  /** Embedded: reuse this data directory (restarts). */
  dataDir?: string;
  adminToken?: string | null;
  flushIntervalMs?: number;
  reloadIntervalMs?: number;
  createStoreAfterMs?: number;
}

/** App ids this test process put in the shared PostgreSQL database (removed by cleanupPostgres). */
const createdIds = new Set<string>();

export function rememberApp(id: string): void {
  createdIds.add(id);
}

/** Removes this file's apps and usage rows from the shared database (call in a top-level after()). */
export async function cleanupPostgres(): Promise<void> {
  if (createdIds.size === 0 || !(await postgresAvailable())) return;
  const client = new pg.Client({ connectionString: PG_URL });
  try {
    await client.connect();
    const ids = [...createdIds];
    await client.query('DELETE FROM herald_apps WHERE id = ANY($1::text[])', [ids]);
    await client.query('DELETE FROM herald_app_usage WHERE app_id = ANY($1::text[])', [ids]);
  } catch {
    /* best effort: ids are unique anyway */
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A test Herald with storage + apps modules only, on the chosen backend. */
export function startAppsHerald(options: AppsHeraldOptions): Promise<TestHerald> {
  const { backend, dataDir, adminToken, flushIntervalMs, reloadIntervalMs, createStoreAfterMs, ...rest } = options;
  const configId = unique('cfg');
  rememberApp(configId);
  return startTestHerald({
    ...rest,
    app: { id: configId, key: unique('cfgkey'), secret: 'config-app-secret', ...rest.app },
    config: {
      ...(backend === 'postgres' ? { databaseUrl: PG_URL } : {}),
      ...(dataDir ? { dataDir } : {}),
      ...(adminToken === null ? {} : { adminToken: adminToken ?? ADMIN_TOKEN }),
      ...rest.config,
    },
    modules: rest.modules ?? (() => [storageModule(), appsModule({ flushIntervalMs: flushIntervalMs ?? 60_000, reloadIntervalMs, createStoreAfterMs })]),
  });
}

export interface AdminResponse<T = any> {
  status: number;
  body: T;
}

export async function admin<T = any>(h: TestHerald, method: string, path: string, body?: unknown, token: string | null = ADMIN_TOKEN): Promise<AdminResponse<T>> {
  const res = await fetch(`${h.httpUrl}${path}`, {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const parsed = text ? JSON.parse(text) : undefined;
  if (method === 'POST' && path === '/admin/apps' && res.status === 201) rememberApp(parsed.id);
  return { status: res.status, body: parsed };
}

/** A stock pusher-js client for any app key on this Herald. */
export function clientFor(h: TestHerald, key: string): PusherJs {
  return new PusherJs(key, { cluster: 'local', wsHost: '127.0.0.1', wsPort: h.port, forceTLS: false, enabledTransports: ['ws'] });
}

/** Resolves when the client is connected; rejects if it fails or gives up. */
export function connected(client: PusherJs, ms = 5000): Promise<void> {
  return withTimeout(
    new Promise<void>((resolve, reject) => {
      if (client.connection.state === 'connected') return resolve();
      const onState = ({ current }: { current: string }) => {
        if (current === 'connected') {
          client.connection.unbind('state_change', onState);
          resolve();
        } else if (current === 'failed') {
          reject(new Error('pusher-js connection failed'));
        }
      };
      client.connection.bind('state_change', onState);
    }),
    ms,
    'pusher-js to connect',
  );
}

/** Resolves with the close code of the first pusher:error/close pusher-js reports. */
export function refusedCode(client: PusherJs, ms = 5000): Promise<number> {
  return withTimeout(
    new Promise<number>((resolve) => {
      client.connection.bind('error', (err: { data?: { code?: number } }) => {
        if (typeof err?.data?.code === 'number') resolve(err.data.code);
      });
    }),
    ms,
    'pusher-js to report a refusal',
  );
}
