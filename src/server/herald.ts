/** Composes a running Herald: config → apps → broker → engine → HTTP/WebSocket server → modules. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App } from '../apps/app.js';
import { MemoryAppRegistry, type AppRegistry } from '../apps/registry.js';
import { ChannelsEngine } from '../channels/engine.js';
import type { HeraldConfig } from '../config/schema.js';
import { registerHttpApi } from '../http-api/routes.js';
import { CloseCode } from '../protocol/errors.js';
import type { Broker } from '../scaling/broker.js';
import { MemoryBroker } from '../scaling/memory-broker.js';
import { createContext, sendJson } from './http-context.js';
import { createLogger, type Logger } from './logger.js';
import type { HeraldHooks, HeraldModule, ModuleContext } from './module.js';
import { defaultModules } from './modules.js';
import { HttpError, Router } from './router.js';
import { WebSocketGateway } from './websocket.js';

export interface StartOptions {
  config: HeraldConfig;
  apps: App[];
  logger?: Logger;
  /** Replaces the default module list (tests). */
  modules?: HeraldModule[];
  /** Replaces the broker chosen by config (tests, scaling). */
  broker?: Broker;
  /** Replaces the app registry (the app store provides its own). */
  registry?: AppRegistry;
}

export interface Herald {
  port: number;
  url: string;
  config: HeraldConfig;
  engine: ChannelsEngine;
  apps: AppRegistry;
  router: Router;
  logger: Logger;
  services: Map<string, unknown>;
  hooks: HeraldHooks;
  server: Server;
  /** Graceful stop: refuse new work, tell clients to reconnect (4200), drain, close. */
  close(): Promise<void>;
  /** True once close() has begun (readiness fails while draining). */
  draining: boolean;
}

export async function startHerald(options: StartOptions): Promise<Herald> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.logLevel);
  const registry = options.registry ?? new MemoryAppRegistry(options.apps);
  const hooks: HeraldHooks = { beforePublish: [], admitConnection: [], apiCall: [], readiness: [], drain: [], httpRequest: [], upgrade: [] };
  const services = new Map<string, unknown>();
  const broker = options.broker ?? new MemoryBroker();
  const engine = new ChannelsEngine({
    apps: registry,
    broker,
    activityTimeout: config.activityTimeout,
    pongTimeout: config.pongTimeout,
    admit: (app, current) => {
      for (const admit of hooks.admitConnection) {
        const refusal = admit(app, current);
        if (refusal) return refusal;
      }
      return undefined;
    },
  });
  engine.onInternalError = (err) => logger.error({ err }, 'engine error');

  const router = new Router();
  registerHttpApi(router, {
    engine,
    apps: registry,
    beforePublish: async (app, events) => {
      for (const hook of hooks.beforePublish) await hook(app, events);
    },
    onApiCall: (app, route) => {
      for (const hook of hooks.apiCall) hook(app, route);
    },
  });

  const state = { draining: false };
  router.add('GET', '/health', (ctx) => sendJson(ctx.res, 200, { status: 'ok' }));
  router.add('GET', '/ready', async (ctx) => {
    const problems: string[] = [];
    if (state.draining) problems.push('draining');
    if (!broker.healthy()) problems.push(`broker ${broker.name} unavailable`);
    for (const check of hooks.readiness) {
      const problem = await check();
      if (problem) problems.push(problem);
    }
    sendJson(ctx.res, problems.length ? 503 : 200, problems.length ? { status: 'not ready', problems } : { status: 'ready' });
  });

  const gateway = new WebSocketGateway(engine, {
    wsPath: config.wsPath,
    maxFrameBytes: config.maxFrameBytes,
    maxBufferedBytes: config.maxBufferedBytes,
  });
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    void handleHttp(req, res, router, config.maxBodyBytes, logger, hooks);
  });
  server.on('upgrade', (req, socket, head) => {
    const path = (req.url ?? '').split('?')[0]!;
    if (state.draining) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    if (gateway.handles(path)) return gateway.handleUpgrade(req, socket, head);
    for (const handler of hooks.upgrade) if (handler(req, socket, head, path)) return;
    // Accept and close with 4005 so Pusher clients see "Path not found" rather than a hang.
    gateway.handleUpgrade(req, socket, head);
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  const modules = options.modules ?? defaultModules();
  const ctx: ModuleContext = { config, apps: registry, engine, broker, router, logger, hooks, services, server };
  const started: HeraldModule[] = [];
  try {
    await broker.start();
    for (const module of modules) {
      await module.start(ctx);
      started.push(module);
    }
  } catch (err) {
    for (const m of started.reverse()) await m.stop?.();
    await broker.stop().catch(() => undefined);
    throw err;
  }
  engine.start();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;

  let closing: Promise<void> | undefined;
  const herald: Herald = {
    port,
    url: `http://${host}:${port}`,
    config,
    engine,
    apps: registry,
    router,
    logger,
    services,
    hooks,
    server,
    get draining() {
      return state.draining;
    },
    close() {
      closing ??= (async () => {
        state.draining = true;
        engine.stop();
        server.close();
        gateway.closeAll(CloseCode.ReconnectImmediately, 'Server shutting down, reconnect');
        const deadline = new Promise<void>((r) => setTimeout(r, Math.max(100, config.shutdownTimeoutMs)).unref());
        await Promise.race([
          (async () => {
            for (const drain of hooks.drain) await drain().catch((err) => logger.error({ err }, 'drain failed'));
          })(),
          deadline,
        ]);
        for (const m of [...started].reverse()) {
          try {
            await m.stop?.();
          } catch (err) {
            logger.error({ err, module: m.name }, 'module stop failed');
          }
        }
        await broker.stop().catch(() => undefined);
        gateway.terminateAll();
        server.closeAllConnections();
      })();
      return closing;
    },
  };
  return herald;
}

const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'Access-Control-Allow-Headers': 'Content-Type, Authorization, X-Pusher-Library, X-Request-Id',
  'Access-Control-Max-Age': '600',
};

async function handleHttp(
  req: IncomingMessage,
  res: ServerResponse,
  router: Router,
  maxBodyBytes: number,
  logger: Logger,
  hooks: HeraldHooks,
): Promise<void> {
  const started = performance.now();
  let routeName = 'unmatched';
  for (const [k, v] of Object.entries(CORS_HEADERS)) res.setHeader(k, v);
  try {
    const ctx = createContext(req, res, maxBodyBytes);
    res.setHeader('X-Request-Id', ctx.requestId);
    if (ctx.method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    const match = router.match(ctx.method, ctx.path);
    if (match === 'method') throw new HttpError(405, `Method ${ctx.method} not allowed on ${ctx.path}`);
    if (!match) throw new HttpError(404, `Not found: ${ctx.method} ${ctx.path.slice(0, 200)}`);
    routeName = match.name;
    ctx.params = match.params;
    await match.handler(ctx);
    if (!res.headersSent) res.writeHead(204).end();
  } catch (err) {
    if (err instanceof HttpError) {
      sendJson(res, err.status, err.code ? { error: err.message, code: err.code } : { error: err.message });
    } else {
      logger.error({ err, url: req.url?.split('?')[0] }, 'HTTP handler failed');
      sendJson(res, 500, { error: 'Internal server error' });
    }
  } finally {
    const ms = performance.now() - started;
    for (const hook of hooks.httpRequest) {
      try {
        hook(req.method ?? 'GET', routeName, res.statusCode, ms);
      } catch {
        /* metrics must not break requests */
      }
    }
  }
}
