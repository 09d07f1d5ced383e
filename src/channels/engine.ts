/**
 * The Channels protocol engine: connections, channels, presence, client events, sign-in.
 * Pure logic behind two seams — ConnectionTransport (sockets) and Scaling (broker, control bus,
 * membership, user presence, cache, cluster node) — so it runs in a unit test without a socket.
 * There is one path: a single node uses the in-memory backends (the default), which answer
 * synchronously; Redis, NATS or IPC backends answer with promises and the same code awaits them.
 */
import type { App } from '../apps/app.js';
import type { AppRegistry } from '../apps/registry.js';
import { CloseCode } from '../protocol/errors.js';
import { checkHandshake } from '../protocol/handshake.js';
import { channelType } from '../protocol/names.js';
import { encodeConnectionEstablished, parseInboundFrame, PING_FRAME, PONG_FRAME } from '../protocol/messages.js';
import { eventFrame, type Broker, type ChannelEvent, type Control, type ModuleMessage } from '../scaling/broker.js';
import { systemClock, type Clock } from '../scaling/clock.js';
import type { ChannelCache, ClusterNode, Membership, UserPresence } from '../scaling/cluster-state.js';
import { isPromise, type MaybePromise } from '../scaling/maybe-promise.js';
import { memoryScaling, type Scaling } from '../scaling/scaling.js';
import { attachControl, pruneCountObservers } from './control.js';
import { clusterQueries, type ChannelQueries } from './queries.js';
import { AppState } from './app-state.js';
import { Connection } from './connection.js';
import type { EngineObserver, ObserverEvent } from './observer.js';
import { handleClientEvent } from './client-events.js';
import { subscribe, unsubscribe } from './subscriptions.js';
import { signIn, signOut } from './users.js';
import { armAuthorizationDeadline, closeIfUnauthorized } from './authorized-connections.js';
import { OutboundMessage, type ConnectionTransport } from './transport.js';

export interface EngineOptions {
  apps: AppRegistry;
  /** The cluster seams (scaling/create.ts). Default: in memory, one node. */
  scaling?: Scaling;
  /** Seconds of client silence before the server pings (also sent as activity_timeout). */
  activityTimeout: number;
  /** Seconds to wait for activity after a server ping before closing with 4201. */
  pongTimeout: number;
  /** Time, timers and randomness (tests pass a ManualClock). */
  clock?: Clock;
  /** Extra admission check at connect (connection quotas); returns a close code to refuse. */
  admit?: (app: App, currentConnections: number) => { code: number; reason: string } | undefined;
}

export interface ConnectRequest {
  /** The key from the path /app/{key}. */
  appKey: string;
  protocol: string | undefined;
  version?: string | undefined;
  client?: string | undefined;
  remoteAddress?: string;
}

export type ConnectResult = { ok: true; connection: Connection } | { ok: false; code: number; reason: string };

export interface PublishRequest {
  appId: string;
  channels: string[];
  event: string;
  data: string;
  excludeSocketId?: string;
}

export class ChannelsEngine {
  readonly apps: AppRegistry;
  readonly broker: Broker;
  readonly control: Control;
  readonly membership: Membership;
  readonly userPresence: UserPresence;
  readonly cache: ChannelCache;
  readonly node: ClusterNode;
  /** Cluster-wide channel state for the HTTP API (answered by the Membership and ChannelCache). */
  readonly queries: ChannelQueries;
  readonly activityTimeout: number;
  readonly pongTimeout: number;
  readonly clock: Clock;
  private readonly admit: EngineOptions['admit'];
  private readonly states = new Map<string, AppState>();
  private readonly observers: EngineObserver[] = [];
  private readonly moduleHandlers = new Map<string, (message: ModuleMessage) => void>();
  private readonly socketPrefix: number;
  private socketCounter: number;
  private sweepTimer: ReturnType<Clock['setInterval']> | undefined;

  constructor(options: EngineOptions) {
    this.apps = options.apps;
    this.clock = options.clock ?? systemClock;
    const scaling = options.scaling ?? memoryScaling(this.clock);
    this.broker = scaling.broker;
    this.control = scaling.control;
    this.membership = scaling.membership;
    this.userPresence = scaling.users;
    this.cache = scaling.cache;
    this.node = scaling.node;
    this.queries = clusterQueries(scaling);
    this.activityTimeout = options.activityTimeout;
    this.pongTimeout = options.pongTimeout;
    this.admit = options.admit;
    this.socketPrefix = 1 + Math.floor(this.clock.random() * (2 ** 31 - 2));
    this.socketCounter = 1 + Math.floor(this.clock.random() * 2 ** 20);
    this.broker.onEvent((event) => this.onEvent(event));
    this.apps.onChange((id, app) => this.onAppChanged(id, app));
    attachControl(this);
  }

  now(): number {
    return this.clock.now();
  }

  /** Starts the activity sweep (pings idle clients, closes unresponsive ones). */
  start(): void {
    const interval = Math.min(5000, Math.max(100, (Math.min(this.activityTimeout, this.pongTimeout) * 1000) / 4));
    this.sweepTimer = this.clock.setInterval(() => this.sweep(), interval);
  }

  stop(): void {
    this.clock.clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  observe(observer: EngineObserver): () => void {
    this.observers.push(observer);
    return () => {
      const i = this.observers.indexOf(observer);
      if (i >= 0) this.observers.splice(i, 1);
    };
  }

  /**
   * Receives the control messages of one capability module (`module`), sent by its peers on every
   * node (this one included) with `control.send({ type: 'module', … })`. One handler per module.
   */
  onModuleMessage(module: string, handler: (message: ModuleMessage) => void): () => void {
    this.moduleHandlers.set(module, handler);
    return () => {
      if (this.moduleHandlers.get(module) === handler) this.moduleHandlers.delete(module);
    };
  }

  /** Hands a module message to its module (control.ts); a handler that throws never breaks the bus. */
  deliverModuleMessage(message: ModuleMessage): void {
    try {
      this.moduleHandlers.get(message.module)?.(message);
    } catch {
      /* the module validates and logs its own messages */
    }
  }

  /** Reports to every observer; an observer that throws never breaks the engine. */
  emit<K extends ObserverEvent>(event: K, ...args: Parameters<NonNullable<EngineObserver[K]>>): void {
    for (const observer of this.observers) {
      const fn = observer[event] as ((...a: unknown[]) => void) | undefined;
      if (!fn) continue;
      try {
        fn.apply(observer, args);
      } catch {
        /* observers are best-effort */
      }
    }
  }

  state(appId: string): AppState | undefined {
    return this.states.get(appId);
  }

  stateFor(app: App): AppState {
    let state = this.states.get(app.id);
    if (!state) {
      state = new AppState(app);
      this.states.set(app.id, state);
    }
    return state;
  }

  // ---- connection lifecycle -------------------------------------------------------------

  /** Validates the handshake (spec A.1) and registers the connection, or says how to refuse it. */
  connect(request: ConnectRequest, transport: ConnectionTransport): ConnectResult {
    const refuse = (code: number, reason: string): ConnectResult => {
      this.emit('connectionRefused', request.appKey, code, reason);
      return { ok: false, code, reason };
    };
    const checked = checkHandshake(this.apps.byKey(request.appKey), request);
    if (!checked.ok) return refuse(checked.code, checked.reason);
    const app = checked.app;
    const state = this.stateFor(app);
    const max = app.limits.maxConnections;
    if (max > 0 && state.connections.size >= max) {
      return refuse(CloseCode.OverConnectionQuota, 'Application is over connection quota');
    }
    const denied = this.admit?.(app, state.connections.size);
    if (denied) return refuse(denied.code, denied.reason);

    const now = this.now();
    const socketId = `${this.socketPrefix}.${++this.socketCounter}`;
    const conn = new Connection(socketId, app, transport, request.remoteAddress, now);
    if (app.userAuthentication.required) armAuthorizationDeadline(this.clock, conn, now);
    state.connections.set(socketId, conn);
    conn.sendText(encodeConnectionEstablished(socketId, this.activityTimeout));
    this.emit('connectionOpened', app, { socketId, appId: app.id, remoteAddress: request.remoteAddress, transport: transport.kind ?? 'ws' });
    return { ok: true, connection: conn };
  }

  /** Called by the transport when the socket is gone (either side closed it). */
  disconnect(conn: Connection, code?: number): void {
    if (conn.closed) return;
    conn.closed = true;
    const state = this.states.get(conn.app.id);
    if (!state) return;
    for (const name of conn.subscriptions.keys()) unsubscribe(this, state, conn, name);
    if (conn.user) signOut(this, state, conn);
    state.connections.delete(conn.socketId);
    this.emit('connectionClosed', conn.app, { socketId: conn.socketId, appId: conn.app.id, remoteAddress: conn.remoteAddress, transport: conn.transport.kind ?? 'ws' }, code);
  }

  /** Handles one text frame from a client. Never throws. */
  receive(conn: Connection, text: string): void {
    if (conn.closed) return;
    conn.lastActivity = this.now();
    conn.pingSentAt = 0;
    if (conn.pending) {
      // An earlier frame is still being handled asynchronously: keep frame order.
      conn.pending = conn.pending.then(() => this.dispatch(conn, text));
      return;
    }
    const result = this.dispatch(conn, text);
    if (result) {
      conn.pending = result.finally(() => {
        if (conn.pending === result) conn.pending = undefined;
      });
    }
  }

  /** Any inbound traffic (also WebSocket-level pongs) counts as activity. */
  touch(conn: Connection): void {
    conn.lastActivity = this.now();
    conn.pingSentAt = 0;
  }

  private dispatch(conn: Connection, text: string): Promise<void> | void {
    const state = this.states.get(conn.app.id);
    if (!state || conn.closed) return;
    const limit = conn.app.limits.maxPayloadBytes + 4096;
    if (text.length > limit) {
      conn.sendError(`Message too large: ${text.length} bytes (limit ${limit})`, null);
      return;
    }
    const parsed = parseInboundFrame(text);
    if (!parsed.ok) {
      conn.sendError(`Invalid message: ${parsed.error}`, null);
      return;
    }
    const { frame } = parsed;
    try {
      switch (frame.event) {
        case 'pusher:ping':
          conn.send(PONG);
          return;
        case 'pusher:pong':
          return;
        case 'pusher:subscribe':
          return subscribe(this, state, conn, frame.data);
        case 'pusher:unsubscribe': {
          const channel = (frame.data as { channel?: unknown } | null)?.channel;
          if (typeof channel !== 'string') {
            conn.sendError('pusher:unsubscribe needs data.channel', null);
            return;
          }
          unsubscribe(this, state, conn, channel);
          return;
        }
        case 'pusher:signin':
          return signIn(this, state, conn, frame.data);
        default:
          if (frame.event.startsWith('client-')) {
            handleClientEvent(this, state, conn, frame);
            return;
          }
          conn.sendError(`Unsupported event ${frame.event.slice(0, 100)}: clients may send only pusher:subscribe, pusher:unsubscribe, pusher:ping, pusher:pong, pusher:signin and client- events`, null);
      }
    } catch (err) {
      conn.sendError(`Internal error handling ${frame.event.slice(0, 100)}`, null);
      this.reportError(err);
    }
  }

  onInternalError: (err: unknown) => void = () => undefined;
  /** Reports an error of an engine step to `onInternalError` (one shared function: no closure per use). */
  readonly reportError = (err: unknown): void => {
    try {
      this.onInternalError(err);
    } catch {
      /* logging must not throw */
    }
  };

  // ---- publishing -----------------------------------------------------------------------

  /**
   * Publishes an API event to every channel (through the broker, so every node delivers it).
   * Networked brokers: resolves once the broker accepted every message (see Broker.publish).
   */
  publish(request: PublishRequest): MaybePromise<void> {
    let accepted: Array<Promise<void>> | undefined;
    for (const channel of request.channels) {
      if (channelType(channel).cache) this.cacheEvent(request, channel);
      // No frame: a node serializes the event only if it has subscribers on the channel (eventFrame).
      const sent = this.broker.publish({
        appId: request.appId,
        channel,
        excludeSocketId: request.excludeSocketId,
        eventName: request.event,
        data: request.data,
        source: 'api',
      });
      if (isPromise(sent)) (accepted ??= []).push(sent);
    }
    if (accepted) return Promise.all(accepted).then(() => undefined);
  }

  /** The last event of a cache channel (written before the publish, so a subscriber that gets the event finds it cached). */
  private cacheEvent(request: PublishRequest, channel: string): void {
    const ttl = this.apps.byId(request.appId)?.cacheTtlSeconds;
    if (!ttl) return;
    try {
      const stored = this.cache.setCache(request.appId, channel, request.event, request.data, ttl);
      if (isPromise(stored)) stored.catch(this.reportError);
    } catch (err) {
      this.reportError(err);
    }
  }

  /** The fan-out hot path: one event from the broker to this node's subscribers of its channel. */
  private onEvent(event: ChannelEvent): void {
    const state = this.states.get(event.appId);
    const app = state?.app ?? this.apps.byId(event.appId);
    if (!app) return;
    const delivered = state ? this.deliverLocal(state, event) : 0;
    this.emit('published', app, event.channel, event.eventName, event.data, delivered, event.source);
  }

  /**
   * Writes the event's frame to every local subscriber but `excludeSocketId`; the frame is built
   * (once, for all of them) only when the channel has a local subscriber.
   */
  deliverLocal(state: AppState, event: ChannelEvent): number {
    const channel = state.channels.get(event.channel);
    if (!channel || channel.subscribers.size === 0) return 0;
    const message = new OutboundMessage(eventFrame(event));
    const excludeSocketId = event.excludeSocketId;
    let count = 0;
    for (const conn of channel.subscribers) {
      if (conn.socketId === excludeSocketId) continue;
      conn.send(message);
      count++;
    }
    return count;
  }

  // ---- local queries ---------------------------------------------------------------------
  // These read this node only (synchronous, cheap). For cluster-wide values use `queries`.

  subscriptionCount(appId: string, channel: string): number {
    return this.states.get(appId)?.channels.get(channel)?.subscribers.size ?? 0;
  }

  /** Distinct presence members with a local connection on the channel. */
  userCount(appId: string, channel: string): number {
    const ch = this.states.get(appId)?.channels.get(channel);
    if (!ch) return 0;
    const users = new Set<string>();
    for (const conn of ch.subscribers) {
      const userId = conn.subscriptions.get(channel)?.userId;
      if (userId !== undefined) users.add(userId);
    }
    return users.size;
  }

  /** Occupied channels, optionally filtered by prefix. */
  occupiedChannels(appId: string, prefix?: string): string[] {
    const state = this.states.get(appId);
    if (!state) return [];
    const out: string[] = [];
    for (const [name, channel] of state.channels) {
      if (channel.subscribers.size === 0) continue;
      if (prefix && !name.startsWith(prefix)) continue;
      if (name.startsWith('#')) continue;
      out.push(name);
    }
    return out;
  }

  connectionCount(appId?: string): number {
    if (appId !== undefined) return this.states.get(appId)?.connections.size ?? 0;
    let n = 0;
    for (const state of this.states.values()) n += state.connections.size;
    return n;
  }

  /** Closes every connection signed in as `userId`, on every node. */
  terminateUser(appId: string, userId: string): void {
    void this.control.send({ type: 'terminate-user', appId, userId });
  }

  /** Closes every local connection (graceful shutdown uses 4200 so clients reconnect elsewhere). */
  closeAll(code: number, reason: string): void {
    for (const state of this.states.values()) {
      for (const conn of [...state.connections.values()]) conn.close(code, reason);
    }
  }

  // ---- housekeeping ---------------------------------------------------------------------

  private sweep(): void {
    const now = this.now();
    const idleMs = this.activityTimeout * 1000;
    const pongMs = this.pongTimeout * 1000;
    for (const state of this.states.values()) {
      for (const conn of state.connections.values()) {
        if (conn.closed) continue;
        if (closeIfUnauthorized(conn, now)) continue;
        if (conn.pingSentAt > 0) {
          if (now - conn.pingSentAt >= pongMs) {
            conn.sendError('Pong reply not received', CloseCode.PongNotReceived);
            conn.close(CloseCode.PongNotReceived, 'Pong reply not received');
          }
        } else if (now - conn.lastActivity >= idleMs) {
          conn.pingSentAt = now;
          conn.send(PING);
        }
      }
      pruneCountObservers(state, now);
    }
  }

  private onAppChanged(id: string, app: App | undefined): void {
    const state = this.states.get(id);
    if (!state) return;
    if (!app || !app.enabled) {
      for (const conn of [...state.connections.values()]) {
        conn.close(app ? CloseCode.AppDisabled : CloseCode.AppNotFound, app ? 'Application disabled' : 'Application deleted');
      }
      if (!app) this.states.delete(id);
      return;
    }
    state.app = app;
    for (const conn of state.connections.values()) conn.app = app;
  }
}

const PONG = new OutboundMessage(PONG_FRAME);
const PING = new OutboundMessage(PING_FRAME);
