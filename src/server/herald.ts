/**
 * Composes a running Herald: config → apps → broker → engine → HTTP/WebSocket server → modules
 * (started in the order their declared needs give, src/platform/module-graph.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { App } from '../apps/app.js';
import { MemoryAppRegistry, type AppRegistry } from '../apps/registry.js';
import { ChannelsEngine } from '../channels/engine.js';
import type { HeraldConfig } from '../config/schema.js';
import { registerHttpApi } from '../http-api/routes.js';
import { CloseCode } from '../protocol/errors.js';
import type { Broker } from '../scaling/broker.js';
import { createScaling } from '../scaling/create.js';
import { memoryScaling, type Scaling } from '../scaling/scaling.js';
import { sendJson } from '../platform/http-context.js';
import { createLogger, type Logger } from '../platform/logger.js';
import type { ValidEvent } from '../http-api/publish.js';
import type { CoreContext, HeraldHooks, HeraldModule } from '../core/module.js';
import { planStart, ServiceRegistry } from '../platform/module-graph.js';
import { defaultModules } from './modules.js';
import { Router, type RouteMatch } from '../platform/router.js';
import { LeanHttpFront } from '../platform/http1/front.js';
import { handleHttp, handleLean, type DispatchDeps } from './http-dispatch.js';
import { LeanResponseWriter } from './lean-writer.js';
import { loadTlsMaterial, reloadTls, type TlsFiles } from './tls.js';
import { WebSocketGateway } from '../transports/websocket/gateway.js';
import { SocketBytes } from '../platform/socket-bytes.js';
import { TokenBuckets } from '../platform/token-buckets.js';
import type { WebSocket } from 'ws';

export interface StartOptions {
  config: HeraldConfig;
  apps: App[];
  logger?: Logger;
  /** Replaces the default module list (tests). */
  modules?: HeraldModule[];
  /** Replaces the broker chosen by config (tests, scaling). */
  broker?: Broker;
  /** Replaces every scaling backend chosen by config (e.g. the IPC backends of a worker). */
  scaling?: Scaling;
  /** The per-app API rate limit (a worker's counts for its whole node). */
  apiRateLimiter?: TokenBuckets;
  /** Replaces the app registry (the app store provides its own). */
  registry?: AppRegistry;
  /**
   * Id of the development app added because nothing was configured. It is withdrawn as soon as any
   * real app exists (e.g. created with `herald apps create`), so its public credentials never
   * coexist with production apps.
   */
  developmentAppId?: string;
  /**
   * Open the port only once the dependencies are connected. Workers of a node do: node:cluster
   * hands a listening worker its share of connections at once, and a replaced worker must not
   * answer 503 while the others serve. A standalone node listens first so probes see /ready 503.
   */
  listenAfterStart?: boolean;
}

export interface Herald {
  port: number;
  url: string;
  config: HeraldConfig;
  engine: ChannelsEngine;
  apps: AppRegistry;
  router: Router;
  logger: Logger;
  /** Every module's services by key (tests and the composition root read them here). */
  services: ServiceRegistry;
  hooks: HeraldHooks;
  server: Server;
  /** The lean request path's counters; undefined when it is off (TLS, HERALD_LEAN_HTTP=false). */
  leanHttp: { served: number; handedOff: number } | undefined;
  /** Graceful stop: refuse new work, tell clients to reconnect (4200), drain, close. */
  close(): Promise<void>;
  /** True once close() has begun (readiness fails while draining). */
  draining: boolean;
  /**
   * Re-reads the TLS certificate and key (SIGHUP) for new connections; open ones are kept.
   * Returns false when TLS is not configured; throws TlsError (old pair kept) when the files are bad.
   */
  reloadTls(): boolean;
}

export async function startHerald(options: StartOptions): Promise<Herald> {
  // Checked before anything connects: a missing service or a cycle fails start at once.
  const modules = planStart(options.modules ?? defaultModules());
  const core = await createCore(options);
  const state: NodeState = { draining: false, starting: true };
  registerCoreRoutes(core, state);
  const gateway = createGateway(core);
  const http = createHttpServer(core, gateway, state);
  const services = new ServiceRegistry();
  if (!options.listenAfterStart) {
    await listen(http.server, core.config);
    core.logger.info({ port: (http.server.address() as AddressInfo).port }, 'listening; connecting to dependencies before serving');
  }
  const started = await startDependencies(core, http.server, modules, services);
  core.engine.start();
  if (options.listenAfterStart) await listen(http.server, core.config);
  state.starting = false;
  services.allStarted();
  for (const hook of core.hooks.started) hook();
  if (options.developmentAppId && core.apps instanceof MemoryAppRegistry) {
    withdrawDevelopmentApp(core.apps, options.developmentAppId, core.logger);
  }
  return heraldHandle(core, http, gateway, state, services, started);
}

/** The parts every module shares, before any of them starts. */
interface Core extends Omit<CoreContext, 'server'> {
  scaling: Scaling;
}

/** `starting`: listening, but dependencies (broker, cluster state, store) not connected yet. */
interface NodeState {
  draining: boolean;
  starting: boolean;
}

interface HttpServer {
  server: Server;
  /** Set when TLS is configured (SIGHUP reloads its certificate). */
  https: { server: HttpsServer; files: TlsFiles } | undefined;
  /** The lean request path, unless TLS is on or HERALD_LEAN_HTTP=false. */
  lean: LeanHttpFront<RouteMatch & { lean: true }> | undefined;
}

async function createCore(options: StartOptions): Promise<Core> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.logLevel);
  const apps = options.registry ?? new MemoryAppRegistry(options.apps);
  const hooks: HeraldHooks = { beforePublish: [], admitConnection: [], apiCall: [], readiness: [], started: [], drain: [], httpRequest: [], upgrade: [] };
  // HERALD_BROKER: memory (one node), redis or nats (messages and shared state; docs/scaling.md).
  const scaling = options.scaling ?? (options.broker ? { ...memoryScaling(), broker: options.broker } : await createScaling(config, logger));
  const engine = new ChannelsEngine({
    apps,
    scaling,
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
  const apiRateLimiter = options.apiRateLimiter ?? new TokenBuckets();
  return { config, logger, apps, hooks, scaling, broker: scaling.broker, engine, router: new Router(), apiRateLimiter, socketBytes: new SocketBytes() };
}

/** The Pusher HTTP API, /health and /ready. */
function registerCoreRoutes(core: Core, state: NodeState): void {
  const { router, hooks, broker } = core;
  registerHttpApi(router, {
    rateLimiter: core.apiRateLimiter,
    engine: core.engine,
    apps: core.apps,
    beforePublish: (app, events) => runPublishHooks(hooks.beforePublish, 0, app, events),
    onApiCall: (app, route) => {
      for (const hook of hooks.apiCall) hook(app, route);
    },
  });
  router.addLean('GET', '/health', (ctx) => sendJson(ctx.res, 200, { status: 'ok' }));
  router.addLean('GET', '/ready', async (ctx) => {
    const problems: string[] = [];
    // While starting, the modules' checks would wait for the very connections start-up retries.
    if (state.starting) return sendJson(ctx.res, 503, { status: 'not ready', problems: ['starting: waiting for dependencies (PostgreSQL, Redis or NATS)'] });
    if (state.draining) problems.push('draining');
    if (!broker.healthy()) problems.push(`broker ${broker.name} unavailable`);
    for (const check of hooks.readiness) {
      const problem = await check();
      if (problem) problems.push(problem);
    }
    sendJson(ctx.res, problems.length ? 503 : 200, problems.length ? { status: 'not ready', problems } : { status: 'ready' });
  });
}

function createGateway({ engine, config, logger, socketBytes }: Core): WebSocketGateway {
  const gateway = new WebSocketGateway(engine, {
    wsPath: config.wsPath,
    maxFrameBytes: config.maxFrameBytes,
    maxBufferedBytes: config.maxBufferedBytes,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    onSendPathFailure: (err) => logger.error({ err: err.message }, 'native send path failed; WebSocket sends use JavaScript from now on'),
    socketBytes,
  });
  logger.info({ sendPath: gateway.sendPath.name, reason: gateway.sendPath.reason }, `WebSocket send path: ${gateway.sendPath.name}`);
  return gateway;
}

/** The HTTP(S) server: requests to the router, upgrades to the gateway or a module. Not listening yet. */
function createHttpServer(core: Core, gateway: WebSocketGateway, state: NodeState): HttpServer {
  const { config, router, hooks } = core;
  const dispatch: DispatchDeps = { logger: core.logger, hooks };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    if (state.starting && !PROBE_PATHS.has((req.url ?? '').split('?')[0]!)) return refuseWhileStarting(res);
    handleHttp(req, res, router, config.maxBodyBytes, dispatch);
  };
  const tlsFiles: TlsFiles | undefined = config.tlsCert && config.tlsKey ? { certPath: config.tlsCert, keyPath: config.tlsKey } : undefined;
  // Node checks headersTimeout only every connectionsCheckingInterval (30 s by default), which
  // would let a slow handshake live up to 30 s past its limit: check at a quarter of the limit.
  const serverOptions = { keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS, connectionsCheckingInterval: checkingInterval(config) };
  const httpsServer = tlsFiles ? createHttpsServer({ ...loadTlsMaterial(tlsFiles), ...serverOptions }, onRequest) : undefined;
  // https.Server has every http.Server method modules use (on('upgrade'), close…), so one type serves both.
  const server: Server = httpsServer ?? createServer(serverOptions, onRequest);
  // A client that opens a socket and dribbles its headers must not hold it forever (slowloris).
  server.headersTimeout = config.handshakeTimeoutMs;
  server.requestTimeout = Math.max(config.handshakeTimeoutMs, 30_000);
  // Installed before any module adds its own 'connection' listener (it replaces Node's).
  const lean = !httpsServer && config.leanHttp ? createLeanFront(server, core, state, dispatch) : undefined;
  core.socketBytes.track(server);
  server.on('upgrade', (req, socket, head) => {
    const path = (req.url ?? '').split('?')[0]!;
    if (state.draining || state.starting) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    if (gateway.handles(path)) return gateway.handleUpgrade(req, socket, head);
    for (const handler of hooks.upgrade) if (handler(req, socket, head, path)) return;
    // Accept and close with 4005 so Pusher clients see "Path not found" rather than a hang.
    gateway.handleUpgrade(req, socket, head);
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return void socket.destroy();
    // Requests that never reach the router (docs/hardening.md) still get a JSON error body.
    const [status, message] =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? ['408 Request Timeout', requestTimeoutMessage(server)]
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? ['431 Request Header Fields Too Large', 'Request line and headers together must stay under 16 KB']
          : ['400 Bad Request', 'Malformed HTTP request'];
    socket.end(closingJsonResponse(status, message));
  });
  return { server, https: httpsServer && tlsFiles ? { server: httpsServer, files: tlsFiles } : undefined, lean };
}

const KEEP_ALIVE_TIMEOUT_MS = 65_000;

function checkingInterval(config: HeraldConfig): number {
  return Math.max(250, Math.min(5000, config.handshakeTimeoutMs / 4));
}

function requestTimeoutMessage(server: Server): string {
  return `Request timed out: headers must arrive within ${server.headersTimeout} ms, the whole request within ${server.requestTimeout} ms`;
}

function closingJsonResponse(status: string, message: string): string {
  const body = JSON.stringify({ error: message });
  return `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/**
 * The lean request path (platform/http1) in front of Node's server: plain requests to lean routes
 * (the Pusher HTTP API, /health) once the node serves; everything else, and everything while
 * starting, goes to Node's server as before.
 */
function createLeanFront(server: Server, core: Core, state: NodeState, dispatch: DispatchDeps): LeanHttpFront<RouteMatch & { lean: true }> {
  const { config, router } = core;
  return new LeanHttpFront<RouteMatch & { lean: true }>(server, {
    route: (head) => {
      if (state.starting) return undefined;
      const q = head.url.indexOf('?');
      const match = router.match(head.method, q < 0 ? head.url : head.url.slice(0, q));
      return match !== undefined && match !== 'method' && match.lean ? match : undefined;
    },
    serve: (match, req, res, body) => handleLean(match, req, res, body, dispatch),
    maxBodyBytes: config.maxBodyBytes,
    headersTimeoutMs: server.headersTimeout,
    requestTimeoutMs: server.requestTimeout,
    keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS,
    checkIntervalMs: checkingInterval(config),
    timeoutResponse: () => closingJsonResponse('408 Request Timeout', requestTimeoutMessage(server)),
    openWriter: (socket) => new LeanResponseWriter(socket),
  });
}

function listen(server: Server, config: HeraldConfig): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Connects the broker and the cluster state, then starts the modules in plan order, each with the
 * core and the services it declared. On a failure, undoes what started and rethrows.
 */
async function startDependencies(core: Core, server: Server, modules: HeraldModule[], services: ServiceRegistry): Promise<HeraldModule[]> {
  const { scaling, broker } = core;
  const coreContext: CoreContext = { ...withoutScaling(core), server };
  const started: HeraldModule[] = [];
  try {
    await broker.start();
    await scaling.node.start();
    for (const module of modules) {
      await module.start({ ...coreContext, ...services.accessFor(module) });
      started.push(module);
    }
  } catch (err) {
    for (const m of started.reverse()) await m.stop?.();
    await scaling.node.stop().catch(() => undefined);
    await broker.stop().catch(() => undefined);
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    throw err;
  }
  return started;
}

function withoutScaling({ scaling: _, ...core }: Core): Omit<CoreContext, 'server'> {
  return core;
}

function heraldHandle(core: Core, http: HttpServer, gateway: WebSocketGateway, state: NodeState, services: ServiceRegistry, started: HeraldModule[]): Herald {
  const { config, engine, logger } = core;
  const { server } = http;
  const port = (server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  let closing: Promise<void> | undefined;
  return {
    port,
    url: `${http.https ? 'https' : 'http'}://${host}:${port}`,
    config,
    engine,
    apps: core.apps,
    router: core.router,
    logger,
    services,
    hooks: core.hooks,
    server,
    leanHttp: http.lean?.stats,
    get draining() {
      return state.draining;
    },
    reloadTls() {
      if (!http.https) return false;
      reloadTls(http.https.server, http.https.files);
      return true;
    },
    close() {
      closing ??= shutDown(core, http, gateway, state, started);
      return closing;
    },
  };
}

/** Graceful stop: refuse new work, tell clients to reconnect (4200), drain, stop the modules, close. */
async function shutDown(core: Core, http: HttpServer, gateway: WebSocketGateway, state: NodeState, started: HeraldModule[]): Promise<void> {
  const { server, lean } = http;
  const { config, engine, logger, hooks, scaling, broker } = core;
  state.draining = true;
  engine.stop();
  server.close();
  // Node's close() ends its idle keep-alive connections; the lean path's are ended the same way.
  lean?.closeIdle();
  const deadlineAt = Date.now() + Math.max(100, config.shutdownTimeoutMs);
  // 1. Tell clients to reconnect elsewhere (4200) and let them finish the close handshake
  //    (terminating at once would lose the close frame: clients would see 1006 and back off).
  const socketsClosed = allClosed(gateway.connections);
  gateway.closeAll(CloseCode.ReconnectImmediately, 'Server shutting down, reconnect');
  await Promise.race([socketsClosed, delay((deadlineAt - Date.now()) / 2)]);
  gateway.terminateAll();
  await Promise.race([socketsClosed, delay(deadlineAt - Date.now())]);
  // 2. Flush what the closes produced (webhooks, outbox) with what is left of the budget.
  await Promise.race([
    (async () => {
      for (const drain of hooks.drain) await drain().catch((err) => logger.error({ err }, 'drain failed'));
    })(),
    delay(deadlineAt - Date.now()),
  ]);
  // Leave the cluster state before the modules stop: whatever this node's sockets still held
  // is removed at once, broadcast to the other nodes and seen by the observers (webhooks).
  await scaling.node.stop().catch((err: unknown) => logger.error({ err }, 'leaving the cluster state failed'));
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
  lean?.closeAll();
}

/** Runs the beforePublish hooks in order; synchronous unless a hook returns a promise. */
function runPublishHooks(list: HeraldHooks['beforePublish'], from: number, app: App, events: ValidEvent[]): void | Promise<void> {
  for (let i = from; i < list.length; i++) {
    const pending = list[i]!(app, events);
    if (pending) return pending.then(() => runPublishHooks(list, i + 1, app, events));
  }
}

/** Resolves once every socket has emitted 'close' (the engine has then disconnected it). */
function allClosed(sockets: Iterable<WebSocket>): Promise<void> {
  const pending = [...sockets].filter((ws) => ws.readyState !== ws.CLOSED).map((ws) => new Promise<void>((resolve) => ws.once('close', () => resolve())));
  return Promise.all(pending).then(() => undefined);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)).unref());
}

function withdrawDevelopmentApp(registry: MemoryAppRegistry, devId: string, logger: Logger): void {
  const check = () => {
    if (!registry.byId(devId) || !registry.list().some((a) => a.id !== devId)) return false;
    registry.remove(devId);
    logger.warn({ appId: devId }, 'development app withdrawn: real apps are configured');
    return true;
  };
  if (check()) return;
  const unsubscribe = registry.onChange((id) => {
    if (id !== devId && check()) unsubscribe();
  });
}

/** Liveness and readiness answer during start-up; everything else waits for the dependencies. */
const PROBE_PATHS = new Set(['/health', '/ready']);

function refuseWhileStarting(res: ServerResponse): void {
  // `description` too: the Beams server SDK rejects an error body without both fields as unparsable.
  const body = JSON.stringify({
    error: 'Herald is starting: waiting for its dependencies (PostgreSQL, Redis or NATS); see /ready',
    description: 'Not serving until its dependencies are reachable; retry after Retry-After seconds',
  });
  res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1', 'content-length': Buffer.byteLength(body) }).end(body);
}
