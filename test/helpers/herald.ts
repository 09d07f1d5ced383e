/** Starts an in-process Herald on a random port with a known app, plus stock clients pointed at it. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Pusher from 'pusher';
import { PusherJs, type PusherJsOptions } from './pusher-js.js';
import { appSchema, toApp, type AppInput } from '../../src/apps/app.js';
import { configSchema, type HeraldConfigInput } from '../../src/config/schema.js';
import { startHerald, type Herald } from '../../src/server/herald.js';
import type { HeraldModule } from '../../src/core/module.js';
import { createLogger } from '../../src/platform/logger.js';
import { startWorkersNode, testWorkers } from './workers-herald.js';

export interface TestHerald {
  port: number;
  app: { id: string; key: string; secret: string };
  httpUrl: string;
  wsUrl: string;
  herald: Herald;
  /** Every worker's Herald (HERALD_TEST_WORKERS > 1), else just `herald`. */
  heralds: Herald[];
  pusherClient(options?: Record<string, unknown>): PusherJs;
  pusherServer(options?: Record<string, unknown>): Pusher;
  stop(): Promise<void>;
}

export interface TestHeraldOptions {
  app?: Partial<AppInput>;
  apps?: AppInput[];
  config?: Partial<HeraldConfigInput>;
  /**
   * Replaces the default modules. A function makes a fresh list per Herald, which a node of
   * several workers (HERALD_TEST_WORKERS) needs: module instances hold their Herald's state.
   */
  modules?: HeraldModule[] | (() => HeraldModule[]);
}

let counter = 0;

export async function startTestHerald(options: TestHeraldOptions = {}): Promise<TestHerald> {
  counter++;
  const app = { id: `test-app-${counter}`, key: `test-key-${counter}`, secret: `test-secret-${counter}-xyz` };
  // Each test Herald gets its own data directory: PGlite must never be shared between processes.
  const dataDir = options.config?.dataDir ?? mkdtempSync(join(tmpdir(), 'herald-test-'));
  const config = configSchema.parse({ host: '127.0.0.1', port: 0, logLevel: 'silent', ...options.config, dataDir });
  const apps = [toApp(appSchema.parse({ ...app, ...options.app })), ...(options.apps ?? []).map((a) => toApp(appSchema.parse(a)))];
  const logger = createLogger(process.env.HERALD_TEST_LOG ?? 'silent', false);
  // HERALD_TEST_WORKERS=2: the same tests against a node of 2 workers (test/helpers/workers-herald.ts).
  const workers = config.broker === 'memory' ? testWorkers() : 1;
  const modules = typeof options.modules === 'function' ? options.modules : options.modules && (() => options.modules as HeraldModule[]);
  const node = workers > 1 ? await startWorkersNode(workers, config, apps, logger, modules) : undefined;
  const herald = node ? node.heralds[0]! : await startHerald({ config, apps, logger, modules: modules?.() });
  const clients: PusherJs[] = [];
  const port = node ? node.port : herald.port;
  return {
    port,
    app: { id: apps[0]!.id, key: apps[0]!.key, secret: apps[0]!.secret },
    httpUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    herald,
    heralds: node ? node.heralds : [herald],
    pusherClient(extra = {}) {
      const client = new PusherJs(apps[0]!.key, {
        cluster: 'local',
        wsHost: '127.0.0.1',
        wsPort: port,
        forceTLS: false,
        enabledTransports: ['ws'],
        ...extra,
      } as PusherJsOptions);
      clients.push(client);
      return client;
    },
    pusherServer(extra = {}) {
      return new Pusher({ appId: apps[0]!.id, key: apps[0]!.key, secret: apps[0]!.secret, host: '127.0.0.1', port: String(port), useTLS: false, ...extra } as Pusher.Options);
    },
    async stop() {
      for (const c of clients) c.disconnect();
      await (node ? node.stop() : herald.close());
      if (!options.config?.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
