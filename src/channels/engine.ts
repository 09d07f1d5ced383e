/**
 * The Channels protocol engine: connections, channels, presence, client events, sign-in.
 * Pure logic behind two seams — ConnectionTransport (sockets) and Broker (other nodes) — so it
 * runs in a unit test without opening a socket.
 */
import { randomInt } from 'node:crypto';
import type { App } from '../apps/app.js';
import type { AppRegistry } from '../apps/registry.js';
import { CloseCode } from '../protocol/errors.js';
import { channelType } from '../protocol/names.js';
import { encodeConnectionEstablished, encodeEvent, parseInboundFrame, PING_FRAME, PONG_FRAME } from '../protocol/messages.js';
import type { Broker, BrokerMessage } from '../scaling/broker.js';
import type { ClusterState } from '../scaling/cluster-state.js';
import { attachCluster, onClusterMessage } from './cluster-messages.js';
import { clusterQueries, localQueries, type CachedEventInfo, type ChannelQueries } from './queries.js';
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
  broker: Broker;
  /**
   * Shared state across nodes (HERALD_BROKER=redis|nats). Absent on a single node: the engine
   * then keeps everything in its own maps, synchronously.
   */
  cluster?: ClusterState;
  /** Seconds of client silence before the server pings (also sent as activity_timeout). */
  activityTimeout: number;
  /** Seconds to wait for activity after a server ping before closing with 4201. */
  pongTimeout: number;
  now?: () => number;
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

const VERSION_FORMAT = /^[0-9A-Za-z.+_-]{1,32}$/;

export class ChannelsEngine {
  readonly apps: AppRegistry;
  readonly broker: Broker;
  readonly cluster: ClusterState | undefined;
  /** Cluster-wide channel state for the HTTP API (this node's maps when not clustered). */
  readonly queries: ChannelQueries;
  readonly activityTimeout: number;
  readonly pongTimeout: number;
  readonly now: () => number;
  private readonly admit: EngineOptions['admit'];
  private readonly states = new Map<string, AppState>();
  private readonly observers: EngineObserver[] = [];
  private readonly socketPrefix = randomInt(1, 2 ** 31 - 1);
  private socketCounter = randomInt(1, 2 ** 20);
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(options: EngineOptions) {
    this.apps = options.apps;
    this.broker = options.broker;
    this.cluster = options.cluster;
    this.queries = this.cluster ? clusterQueries(this.cluster) : localQueries(this);
    this.activityTimeout = options.activityTimeout;
    this.pongTimeout = options.pongTimeout;
    this.now = options.now ?? Date.now;
    this.admit = options.admit;
    this.broker.onMessage((message) => this.onBrokerMessage(message));
    this.apps.onChange((id, app) => this.onAppChanged(id, app));
    if (this.cluster) attachCluster(this);
  }

  /** Starts the activity sweep (pings idle clients, closes unresponsive ones). */
  start(): void {
    const interval = Math.min(5000, Math.max(100, (Math.min(this.activityTimeout, this.pongTimeout) * 1000) / 4));
    this.sweepTimer = setInterval(() => this.sweep(), interval);
    this.sweepTimer.unref();
  }

  stop(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  observe(observer: EngineObserver): () => void {
    this.observers.push(observer);
    return () => {
      const i = this.observers.indexOf(observer);
      if (i >= 0) this.observers.splice(i, 1);
    };
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
    const app = this.apps.byKey(request.appKey);
    if (!app) return refuse(CloseCode.AppNotFound, `App key ${request.appKey} not in this cluster`);
    if (!app.enabled) return refuse(CloseCode.AppDisabled, 'Application disabled');
    if (request.protocol === undefined || request.protocol === '') {
      return refuse(CloseCode.NoProtocol, 'No protocol version supplied');
    }
    const protocol = /^\d{1,3}$/.test(request.protocol) ? Number(request.protocol) : NaN;
    if (!(protocol >= 4 && protocol <= 7)) {
      return refuse(CloseCode.UnsupportedProtocol, `Unsupported protocol version ${request.protocol}`);
    }
    if (request.version !== undefined && !VERSION_FORMAT.test(request.version)) {
      return refuse(CloseCode.InvalidVersion, 'Invalid version string format');
    }
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
    if (app.userAuthentication.required) armAuthorizationDeadline(this, conn, now);
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
    for (const channel of [...conn.subscriptions.values()]) unsubscribe(this, state, conn, channel.name);
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
      this.emitInternalError(err);
    }
  }

  onInternalError: (err: unknown) => void = () => undefined;
  private emitInternalError(err: unknown): void {
    try {
      this.onInternalError(err);
    } catch {
      /* logging must not throw */
    }
  }

  // ---- publishing -----------------------------------------------------------------------

  /** Publishes an API event to every channel (through the broker, so every node delivers it). */
  /** Networked brokers: resolves once the broker accepted every message (see Broker.publish). */
  publish(request: PublishRequest): void | Promise<void> {
    let accepted: Array<void | Promise<void>> | undefined;
    for (const channel of request.channels) {
      if (this.cluster && channelType(channel).cache) this.cacheInCluster(request, channel);
      const sent = this.broker.publish({
        type: 'event',
        appId: request.appId,
        channel,
        // Serialized once per channel; every recipient on every node gets these same bytes.
        frame: encodeEvent(request.event, channel, request.data),
        excludeSocketId: request.excludeSocketId,
        eventName: request.event,
        data: request.data,
        source: 'api',
      });
      if (sent) (accepted ??= []).push(sent);
    }
    if (accepted) return Promise.all(accepted).then(() => undefined);
  }

  /** Clustered: the last event of a cache channel lives in the cluster state (written before the publish). */
  private cacheInCluster(request: PublishRequest, channel: string): void {
    const ttl = this.apps.byId(request.appId)?.cacheTtlSeconds;
    if (ttl) this.cluster!.setCache(request.appId, channel, request.event, request.data, ttl).catch((err: unknown) => this.emitInternalError(err));
  }

  private onBrokerMessage(message: BrokerMessage): void {
    const state = this.states.get(message.appId);
    if (message.type === 'terminate-user') {
      const conns = state?.users.get(message.userId);
      if (conns) for (const conn of [...conns]) conn.close(CloseCode.Unauthorized, 'You got disconnected by the app.');
      return;
    }
    if (message.type !== 'event') {
      onClusterMessage(this, message);
      return;
    }
    const app = state?.app ?? this.apps.byId(message.appId);
    if (!app) return;
    const target = state ?? this.stateFor(app);
    if (message.source === 'api' && channelType(message.channel).cache) {
      const now = this.now();
      target.cache.set(message.channel, { event: message.eventName, data: message.data, expiresAt: now + app.cacheTtlSeconds * 1000, publishedAt: now });
    }
    const delivered = this.deliverLocal(target, message.channel, message.frame, message.excludeSocketId);
    this.emit('published', app, message.channel, message.eventName, message.data, delivered, message.source);
  }

  /** Writes one serialized frame to every local subscriber except `excludeSocketId`. */
  deliverLocal(state: AppState, channelName: string, frame: string, excludeSocketId?: string): number {
    const channel = state.channels.get(channelName);
    if (!channel || channel.subscribers.size === 0) return 0;
    const message = new OutboundMessage(frame);
    let count = 0;
    for (const conn of channel.subscribers) {
      if (conn.socketId === excludeSocketId) continue;
      conn.send(message);
      count++;
    }
    return count;
  }

  // ---- queries (HTTP API) ---------------------------------------------------------------
  // These read this node only (synchronous, cheap). For cluster-wide values use `queries`.

  subscriptionCount(appId: string, channel: string): number {
    return this.states.get(appId)?.channels.get(channel)?.subscribers.size ?? 0;
  }

  userCount(appId: string, channel: string): number {
    return this.states.get(appId)?.channels.get(channel)?.members.size ?? 0;
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

  presenceMembers(appId: string, channel: string): Array<{ id: string; userInfo: unknown }> {
    const ch = this.states.get(appId)?.channels.get(channel);
    if (!ch) return [];
    return [...ch.members.values()].map((m) => ({ id: m.userId, userInfo: m.userInfo }));
  }

  cachedEvent(appId: string, channel: string): CachedEventInfo | undefined {
    const now = this.now();
    const entry = this.states.get(appId)?.cachedEvent(channel, now);
    return entry ? { event: entry.event, data: entry.data, ttl: Math.max(0, Math.ceil((entry.expiresAt - now) / 1000)), publishedAt: entry.publishedAt } : undefined;
  }

  connectionCount(appId?: string): number {
    if (appId !== undefined) return this.states.get(appId)?.connections.size ?? 0;
    let n = 0;
    for (const state of this.states.values()) n += state.connections.size;
    return n;
  }

  /** Closes every connection signed in as `userId`, on every node. */
  terminateUser(appId: string, userId: string): void {
    this.broker.publish({ type: 'terminate-user', appId, userId });
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
      state.pruneCache(now);
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
