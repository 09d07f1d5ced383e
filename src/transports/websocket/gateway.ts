/**
 * WebSocket gateway: accepts upgrades on {wsPath}/app/{key} and turns each into an engine
 * connection. The `ws` library does the HTTP upgrade, frame parsing, pings and the close
 * handshake; handshake.ts decides whether the request may connect; frame.ts builds Herald's frames
 * once per broadcast and frame-writer.ts writes them (the per-pass queue, flush-before-close, the
 * slow-reader backlog and its cut-off).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { CloseCode } from '../../protocol/errors.js';
import { closeReason } from '../../protocol/close-reason.js';
import type { ChannelsEngine } from '../../channels/engine.js';
import type { Connection } from '../../channels/connection.js';
import type { ConnectionTransport, OutboundMessage } from '../../channels/transport.js';
import { frameOf, framePong } from './frame.js';
import { FrameWriter, installNativeBatch, nativeBatchActive, type FrameSocket } from './frame-writer.js';
import { parseHandshake } from './handshake.js';
import { processSendPath, type SendPath } from './native-send.js';
import { nativeFd, peerAddress } from './node-handle.js';
import type { CountedSocket, SocketBytes } from '../../platform/socket-bytes.js';

export interface WebSocketOptions {
  wsPath: string;
  maxFrameBytes: number;
  maxBufferedBytes: number;
  /** Concurrent connections per remote address (0 = unlimited). */
  maxConnectionsPerIp?: number;
  /** Close handshakes that have not completed after this long are torn down. */
  closeTimeoutMs?: number;
  /** The native send path failed as a whole (not one socket); the process uses JavaScript from now on. */
  onSendPathFailure?: (err: Error) => void;
  /** The server's byte ledger: the gateway adopts the plain TCP sockets it accepts (see ownsBytesOf). */
  socketBytes?: SocketBytes;
}

/**
 * Whether the gateway reports this socket's bytes to the ledger itself: plain TCP sockets, which
 * the ledger tracked since they connected. Under TLS the upgraded socket is a TLSSocket and the
 * ledger keeps counting the TCP socket beneath it.
 */
function ownsBytesOf(socket: object): boolean {
  return (socket as { encrypted?: boolean }).encrypted !== true;
}

/**
 * How long a client cut off for not reading (4100) has to read what Node still holds and the
 * close frame, instead of ws' close timeout: it may only resume after seconds, and what it
 * holds is bounded (one chunk and the close frame).
 */
export const SLOW_CLIENT_CLOSE_GRACE_MS = 30_000;

/** The close a client that stops reading gets (docs/hardening.md): pusher-js reconnects later. */
export const SLOW_CLIENT_CLOSE = { code: CloseCode.OverCapacity, reason: 'Client is not reading fast enough' } as const;

/**
 * Gives one socket a longer close handshake than the server's closeTimeout. ws has no per-socket
 * option, so this sets its private `_closeTimeout` (read when the close timer starts); if a ws
 * version drops the field, the socket keeps the server's timeout (shorter, still bounded).
 */
function setCloseTimeout(ws: WebSocket, ms: number): void {
  if ('_closeTimeout' in ws) (ws as unknown as { _closeTimeout: number })._closeTimeout = ms;
}

/**
 * ws reads a socket's negotiated extensions from this table; Herald negotiates none
 * (`perMessageDeflate: false`), so every socket shares one frozen empty table instead of its own
 * `{}` (56 bytes a connection: 5.6 MB at 100,000).
 */
const NO_EXTENSIONS = Object.freeze({});

/**
 * An EventEmitter listener table in V8's fast mode. Node starts each emitter with
 * `{ __proto__: null }`, which V8 builds as a dictionary (~150 bytes even when empty); a socket
 * rarely gets a listener now (see `emit`), so an instance of this class serves it in ~16. Nothing
 * is inherited, as with Node's table: `_events.toString` is undefined.
 */
function ListenerTable(): void {}
ListenerTable.prototype = Object.create(null) as object;

/** ws' `WebSocket#setSocket` (private in its types): builds the Receiver and attaches the socket. */
const wsSetSocket = (WebSocket.prototype as unknown as { setSocket?: (this: WebSocket, ...args: unknown[]) => void }).setSocket;

/**
 * An emitter's listener table when the events that have listeners are exactly `names`. Node's
 * streams start the table with their own events' keys set to undefined (close, error, prefinish,
 * finish, drain…): a missing key reads the same.
 */
function listenersIfExactly(emitter: { _events?: unknown } | undefined, names: readonly string[]): Record<string, unknown> | undefined {
  const events = emitter?._events as Record<string, unknown> | undefined;
  if (!events) return undefined;
  let used = 0;
  for (const name of Object.keys(events)) if (events[name] !== undefined) used++;
  return used === names.length && names.every((name) => events[name] !== undefined) ? events : undefined;
}

/**
 * After ws' setSocket, the Receiver's six listeners and the TCP socket's four events (ws' and
 * Node's) are each moved into a fast-mode object of in-object fields (56-80 bytes) instead of the
 * dictionaries EventEmitter builds (~128 bytes each with their storage): ~130 bytes a connection.
 * The prototype inherits nothing, as with Node's table. A ws or Node that adds other listeners
 * keeps its own tables. Removing a listener later (ws does, once closing) is a plain delete.
 */
function compactListenerTables(receiver: { _events?: unknown } | undefined, socket: { _events?: unknown }): void {
  const r = listenersIfExactly(receiver, ['conclude', 'drain', 'error', 'message', 'ping', 'pong']);
  if (r) receiver!._events = { __proto__: ListenerTable.prototype, conclude: r.conclude, drain: r.drain, error: r.error, message: r.message, ping: r.ping, pong: r.pong };
  const t = listenersIfExactly(socket, ['close', 'data', 'end', 'error']);
  if (t) socket._events = { __proto__: ListenerTable.prototype, close: t.close, data: t.data, end: t.end, error: t.error };
}

/**
 * `ws` lets the server construct a subclass, and Herald makes that subclass the engine's transport:
 * one object per connection for the engine's side. At 100,000 connections every field counts:
 * - the events ws emits (message, ping, pong, close, error) are handled in `emit` itself rather
 *   than by listeners: five listeners cost a 256-byte dictionary per socket (~100 bytes more than
 *   none); listeners added by others (shutdown waits for 'close') are still called;
 * - pings are answered by Herald (`autoPong: false`), through the write path: ws' own answer keeps
 *   a closure and three fields per socket (~128 bytes), and a client that pings without reading
 *   meets the same bounded queue and 4100 cut-off as one that stops reading events;
 * - the listeners ws gives its Receiver and the TCP socket sit in fast-mode objects (setSocket);
 * - ws' receive queue is given back its backing store after each frame (shrinkReceiveQueue);
 * - the write path's state is one FrameWriter (a second small object, so it is testable without
 *   ws and a socket; its fields used to live here).
 */
class HeraldWebSocket extends WebSocket implements ConnectionTransport {
  connection: Connection | undefined = undefined;
  gateway: WebSocketGateway | undefined = undefined;
  /** Open connections from this one's address (WebSocketGateway.perIp), set once accepted. */
  peer: Peer | undefined = undefined;
  /** Writes to the TCP socket (ws keeps it too, but privately); set once accepted. */
  writer: FrameWriter | undefined = undefined;

  /**
   * Replaces the `{}` ws' constructor gives each socket (field initializers run right after it);
   * ws reads it only later, when it builds the socket's Receiver and Sender.
   */
  protected readonly _extensions: object = NO_EXTENSIONS;
  /** Replaces the dictionary EventEmitter's constructor made (no listener was added yet). */
  protected _events: object = new (ListenerTable as unknown as new () => object)();

  /** ws' setup of an upgraded socket, then its listener tables made compact. */
  setSocket(socket: Duplex, ...rest: unknown[]): void {
    wsSetSocket!.call(this, socket, ...rest);
    compactListenerTables((this as unknown as { _receiver?: { _events?: unknown } })._receiver, socket as unknown as { _events?: unknown });
  }

  /** ws' events, handled here (see the class comment); two arguments is the most ws passes. */
  override emit(event: string | symbol, a?: unknown, b?: unknown): boolean {
    switch (event) {
      case 'message':
        this.received(a as Buffer, b as boolean);
        this.shrinkReceiveQueue();
        return true;
      case 'ping':
        this.answerPing(a as Buffer);
        this.touched();
        this.shrinkReceiveQueue();
        return true;
      case 'pong':
        this.touched();
        this.shrinkReceiveQueue();
        return true;
      case 'close':
        // Only a socket that got as far as its writer was counted (released() undoes that).
        if (this.writer) this.closed(a as number);
        return super.emit(event, a, b);
      case 'error':
        // ws closes the socket itself after an error; a listener of others still hears it.
        return this.listenerCount('error') > 0 ? super.emit(event, a, b) : true;
      default:
        return super.emit(event, a, b);
    }
  }

  /**
   * Every close frame — Herald's own, or ws answering a client's close or a protocol error
   * (1009, 1007…) — follows the frames sent before it (FrameWriter.flushBeforeClose).
   */
  override close(code?: number, data?: string | Buffer): void {
    this.writer?.flushBeforeClose();
    super.close(code, typeof data === 'string' ? closeReason(data) : data);
  }

  deliver(message: OutboundMessage): void {
    const writer = this.writer!;
    if (this.readyState !== 1 || writer.socket.destroyed) return;
    if (!writer.queue(frameOf(message), this.gateway!.maxBufferedBytes)) this.cutOff();
  }

  /**
   * A client that stops reading must not hold unbounded memory: the writer dropped what it had not
   * handed to Node (the client will never read it), and the 4100 close frame (pusher-js retries
   * later) follows the little Node still holds, with time for the client to come back and read it.
   */
  private cutOff(): void {
    setCloseTimeout(this, SLOW_CLIENT_CLOSE_GRACE_MS);
    super.close(SLOW_CLIENT_CLOSE.code, SLOW_CLIENT_CLOSE.reason);
  }

  /** ConnectionTransport.closeWith: Pusher close codes, only while the socket is open. */
  closeWith(code: number, reason: string): void {
    // close() writes the queued frames (e.g. the pusher:error explaining it) first.
    if (this.readyState === 0 || this.readyState === 1) this.close(code, reason);
  }

  private received(data: Buffer, isBinary: boolean): void {
    const connection = this.connection;
    if (!connection) return;
    if (!isBinary) return this.gateway!.engine.receive(connection, data.toString('utf8'));
    // Refused, but any frame from the client is activity (spec A.4), as for text frames and pongs.
    this.touched();
    connection.sendError('Binary frames are not supported; send JSON text frames', null);
  }

  /**
   * ws' Receiver queues each incoming chunk in an array and shifts it out, which leaves the array
   * a 17-slot backing store (152 bytes) for good: 1.5 MB per 10,000 connections that each sent one
   * frame. Once a frame has used up the queue, a new empty array (no backing store) replaces it.
   */
  private shrinkReceiveQueue(): void {
    const receiver = (this as unknown as { _receiver?: { _buffers?: unknown } })._receiver;
    if (receiver && Array.isArray(receiver._buffers) && receiver._buffers.length === 0) receiver._buffers = [];
  }

  private touched(): void {
    if (this.connection) this.gateway!.engine.touch(this.connection);
  }

  /** The pong goes behind the frames already queued, and counts against the same buffer limit. */
  private answerPing(data: Buffer): void {
    const writer = this.writer;
    if (!writer || this.readyState !== 1 || writer.socket.destroyed) return;
    if (!writer.queue(framePong(data), this.gateway!.maxBufferedBytes)) this.cutOff();
  }

  /** The socket is gone (its 'close', once it has a writer): forget queued frames and tell the engine. */
  closed(code: number): void {
    this.writer?.discard();
    const gateway = this.gateway!;
    gateway.released(this);
    if (this.connection) gateway.engine.disconnect(this.connection, code);
  }
}

function destroyOnError(this: Duplex): void {
  this.destroy();
}

/** Open connections from one address; `ip` is the one copy of the address string they all share. */
interface Peer {
  ip: string;
  count: number;
}

/** Upgrade → connection: the handshake, per-address limits, and the sockets it has open. */
export class WebSocketGateway {
  private readonly wss: WebSocketServer;
  readonly connections = new Set<HeraldWebSocket>();
  private readonly perIp = new Map<string, Peer>();
  readonly maxBufferedBytes: number;
  /** How this gateway's sockets are written (native io_uring / send(), or JavaScript). */
  readonly sendPath: SendPath;

  constructor(
    readonly engine: ChannelsEngine,
    private readonly options: WebSocketOptions,
  ) {
    this.maxBufferedBytes = options.maxBufferedBytes;
    const chosen = processSendPath();
    this.sendPath = chosen.path;
    if (chosen.batch !== undefined) {
      installNativeBatch(chosen.batch, (err) => {
        chosen.path.name = 'js';
        chosen.path.reason = `native send failed: ${err.message}`;
        options.onSendPathFailure?.(err);
      });
    }
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
      WebSocket: HeraldWebSocket,
      autoPong: false,
      // A peer that never finishes the close handshake is cut off quickly (ws' default is 30 s).
      closeTimeout: options.closeTimeoutMs ?? 3000,
    } as ConstructorParameters<typeof WebSocketServer>[0]);
    options.socketBytes?.addOwner((visit) => {
      for (const ws of this.connections) if (ws.writer && ownsBytesOf(ws.writer.socket)) visit(ws.writer.socket as unknown as CountedSocket);
    });
  }

  /** True when the path is a Pusher WebSocket path this gateway serves. */
  handles(path: string): boolean {
    return path.startsWith(`${this.options.wsPath}/app/`) || path === `${this.options.wsPath}/app`;
  }

  /** Completes the upgrade (any path: one this gateway does not serve is closed with 4005). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // A module-level listener: a closure here would keep `req` (and its headers) alive per connection.
    socket.on('error', destroyOnError);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws as HeraldWebSocket, req, socket));
  }

  private accept(ws: HeraldWebSocket, req: IncomingMessage, socket: Duplex): void {
    // ws now handles socket errors itself; dropping ours keeps one 'error' listener, not an array.
    socket.off('error', destroyOnError);
    this.connections.add(ws);
    const handshake = parseHandshake({ url: req.url ?? '', origin: req.headers.origin }, this.options.wsPath, (key) => this.engine.apps.byKey(key));
    if (!handshake.ok) {
      if (handshake.appKey !== undefined) this.engine.emit('connectionRefused', handshake.appKey, handshake.code, handshake.reason);
      return this.refuse(ws, handshake.code, handshake.reason);
    }
    const address = peerAddress(socket);
    const peer = this.admitPeer(address ?? 'unknown');
    if (!peer) return this.refuse(ws, CloseCode.OverCapacity, 'Too many connections from this address');
    ws.gateway = this;
    ws.peer = peer;
    // Duplex is all ws needs; Herald only upgrades node:net sockets, which are FrameSockets.
    ws.writer = new FrameWriter(socket as Duplex & FrameSocket, nativeBatchActive() ? nativeFd(socket) : -1);
    if (ownsBytesOf(socket)) this.options.socketBytes?.adopt(socket);
    const request = handshake.request;
    request.remoteAddress = address === undefined ? undefined : peer.ip;
    // The engine checks the handshake again (it serves the HTTP fallbacks too), then its quotas.
    const result = this.engine.connect(request, ws);
    if (!result.ok) {
      ws.closeWith(result.code, result.reason);
      return;
    }
    ws.connection = result.connection;
  }

  /** Closes a socket that never became a connection. */
  private refuse(ws: HeraldWebSocket, code: number, reason: string): void {
    ws.close(code, reason);
    this.connections.delete(ws);
  }

  /** Counts one more connection from `address`, or undefined when it already has its limit. */
  private admitPeer(address: string): Peer | undefined {
    const perIpLimit = this.options.maxConnectionsPerIp ?? 0;
    const peer = this.perIp.get(address);
    if (perIpLimit > 0 && (peer?.count ?? 0) >= perIpLimit) return undefined;
    if (peer) {
      peer.count++;
      return peer;
    }
    const added = { ip: address, count: 1 };
    this.perIp.set(address, added);
    return added;
  }

  /** Bookkeeping when a socket that got its writer is gone: the open set, its bytes (adopted from the ledger), its per-address count. */
  released(ws: HeraldWebSocket): void {
    this.connections.delete(ws);
    const socket = ws.writer!.socket;
    if (ownsBytesOf(socket)) this.options.socketBytes?.closed(socket as unknown as CountedSocket);
    const peer = ws.peer!;
    if (--peer.count <= 0) this.perIp.delete(peer.ip);
  }

  /** Stops accepting and closes every socket with `code`. */
  closeAll(code: number, reason: string): void {
    for (const ws of this.connections) ws.close(code, reason);
  }

  terminateAll(): void {
    for (const ws of this.connections) ws.terminate();
    this.connections.clear();
  }
}
