/**
 * How capabilities plug into a running Herald. Each capability (webhooks, app store, metrics,
 * Beams, GraphQL, console…) exports a HeraldModule, listed by the composition root
 * (src/server/modules.ts). A module gets the core every module shares (config, app registry,
 * engine, broker, router, logger, hooks, server) plus typed access to the services it declared
 * (src/platform/module-graph.ts). This file sits between the core parts it names and the
 * capabilities, so a capability never imports server/ (the composition root on top).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AppRegistry } from '../apps/registry.js';
import type { ChannelsEngine } from '../channels/engine.js';
import type { HeraldConfig } from '../config/schema.js';
import type { Broker } from '../scaling/broker.js';
import type { Logger } from '../platform/logger.js';
import type { ModuleDeclaration, ServiceAccess } from '../platform/module-graph.js';
import type { Router } from '../platform/router.js';
import type { SocketBytes } from '../platform/socket-bytes.js';
import type { TokenBuckets } from '../platform/token-buckets.js';
import type { App } from '../apps/app.js';
import type { ValidEvent } from '../http-api/publish.js';

/** Mutable hooks modules can fill in for one another (kept small on purpose). */
export interface HeraldHooks {
  /** HTTP publish admission (quotas); throw DomainError to refuse. */
  beforePublish: Array<(app: App, events: ValidEvent[]) => void | Promise<void>>;
  /** Connection admission (connection quotas); return a close code to refuse. */
  admitConnection: Array<(app: App, currentConnections: number) => { code: number; reason: string } | undefined>;
  /** Every authenticated Pusher API call. */
  apiCall: Array<(app: App, route: string) => void>;
  /** Readiness checks: each returns undefined when ready, else why not. */
  readiness: Array<() => string | undefined | Promise<string | undefined>>;
  /**
   * Run once every module has started and the node serves (the port is open from the start, so
   * 'listening' is no such signal): `later` services answer by then.
   */
  started: Array<() => void>;
  /** Run on graceful shutdown after sockets are closed (flush queues etc.). */
  drain: Array<() => Promise<void>>;
  /** Called with (method, route name, status, ms) for every HTTP request. */
  httpRequest: Array<(method: string, route: string, status: number, ms: number) => void>;
  /** WebSocket upgrades on paths other than /app/{key} (e.g. GraphQL); return true when handled. */
  upgrade: Array<(req: IncomingMessage, socket: Duplex, head: Buffer, path: string) => boolean>;
}

/** What every module gets, whatever it declared. */
export interface CoreContext {
  config: HeraldConfig;
  apps: AppRegistry;
  engine: ChannelsEngine;
  broker: Broker;
  router: Router;
  logger: Logger;
  hooks: HeraldHooks;
  /** The per-app HTTP API rate limit (a worker's counts for its whole node); console and GraphQL share it. */
  apiRateLimiter: TokenBuckets;
  /** The HTTP(S) server (available from start; not yet listening). */
  server: Server;
  /** Bytes read and written by the server's sockets (the metrics' network counters). */
  socketBytes: SocketBytes;
}

/** A module's start context: the core plus the services it declared (need/optional/later/provide). */
export type ModuleContext = CoreContext & ServiceAccess;

export interface HeraldModule extends ModuleDeclaration {
  start(ctx: ModuleContext): void | Promise<void>;
  stop?(): void | Promise<void>;
}
