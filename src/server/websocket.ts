/**
 * WebSocket transport: accepts upgrades on {wsPath}/app/{key}, hands frames to the engine and
 * writes engine messages. The `ws` library does the handshake, parsing and close handshake;
 * outbound text frames are pre-built once per broadcast (OutboundMessage.wire) and written
 * straight to the TCP socket, queued until the end of the current event-loop pass (setImmediate),
 * so everything sent to one socket while a batch of I/O is processed becomes one syscall.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { CloseCode } from '../protocol/errors.js';
import type { ChannelsEngine } from '../channels/engine.js';
import type { Connection } from '../channels/connection.js';
import type { ConnectionTransport, OutboundMessage } from '../channels/transport.js';
import { parseQuery } from './http-context.js';
import { originRefusal } from '../apps/origins.js';

export interface WebSocketOptions {
  wsPath: string;
  maxFrameBytes: number;
  maxBufferedBytes: number;
  /** Concurrent connections per remote address (0 = unlimited). */
  maxConnectionsPerIp?: number;
  /** Close handshakes that have not completed after this long are torn down. */
  closeTimeoutMs?: number;
}

/** Builds an unmasked, final text frame (RFC 6455 §5.2) around UTF-8 `text`. */
export function frameText(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81;
  if (header === 2) frame[1] = length;
  else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(0, 2);
    frame.writeUInt32BE(length, 6);
  }
  frame.write(text, header, 'utf8');
  return frame;
}

/**
 * Frames queued during this event-loop pass, per socket. They are flushed together in the check
 * phase (setImmediate): everything one socket is sent while a batch of I/O is handled leaves in
 * one syscall, and a socket that gets a single frame (the common case) skips cork bookkeeping.
 */
const queuedSockets: HeraldWebSocket[] = [];
function flushQueued(): void {
  // Index loop: a flush never queues more frames, but keep it safe if one ever does.
  for (let i = 0; i < queuedSockets.length; i++) queuedSockets[i]!.flush();
  queuedSockets.length = 0;
}

/**
 * `ws` lets the server construct a subclass, and Herald makes that subclass the engine's transport:
 * one object per connection instead of two, and module-level listeners (no per-connection
 * closures) reach their connection through `this`. At 100,000 connections every field counts.
 */
class HeraldWebSocket extends WebSocket implements ConnectionTransport {
  connection: Connection | undefined = undefined;
  gateway: WebSocketGateway | undefined = undefined;
  /** Open connections from this one's address (WebSocketGateway.perIp), set once accepted. */
  peer: Peer | undefined = undefined;
  /** The TCP socket (ws keeps it too, but privately). */
  socket: Socket | undefined = undefined;
  /** Frames waiting for this pass's flush: none, one, or several (then one writev). */
  private queued: Buffer | Buffer[] | undefined = undefined;
  private queuedBytes = 0;

  /**
   * Every close frame — Herald's own, or ws answering a client's close or a protocol error
   * (1009, 1007…) — first writes the frames this pass queued: they were sent before the close
   * and must not be lost or follow the close frame.
   */
  override close(code?: number, data?: string | Buffer): void {
    this.flush();
    super.close(code, data);
  }

  deliver(message: OutboundMessage): void {
    const socket = this.socket!;
    if (this.readyState !== 1 || socket.destroyed) return;
    let frame = message.wire as Buffer | undefined;
    if (frame === undefined) {
      frame = frameText(message.text);
      message.wire = frame;
    }
    const queuedBytes = this.queuedBytes + frame.length;
    if (socket.writableLength + queuedBytes > this.gateway!.maxBufferedBytes) {
      // A client that stops reading must not hold unbounded memory; 4100 makes pusher-js retry later.
      this.close(CloseCode.OverCapacity, 'Client is not reading fast enough');
      return;
    }
    this.queuedBytes = queuedBytes;
    const queued = this.queued;
    if (queued === undefined) {
      this.queued = frame;
      if (queuedSockets.length === 0) setImmediate(flushQueued);
      queuedSockets.push(this);
    } else if (Array.isArray(queued)) queued.push(frame);
    else this.queued = [queued, frame];
  }

  /** Writes what this pass queued: one write() for one frame, one writev() for several. */
  flush(): void {
    const queued = this.queued;
    if (queued === undefined) return;
    this.queued = undefined;
    this.queuedBytes = 0;
    const socket = this.socket!;
    if (socket.destroyed) return;
    if (!Array.isArray(queued)) {
      socket.write(queued);
      return;
    }
    socket.cork();
    for (const frame of queued) socket.write(frame);
    socket.uncork();
  }

  /** ConnectionTransport.closeWith: Pusher close codes, only while the socket is open. */
  closeWith(code: number, reason: string): void {
    // close() writes the queued frames (e.g. the pusher:error explaining it) first.
    if (this.readyState === 0 || this.readyState === 1) this.close(code, reason);
  }

  /** The socket is gone (onClose, registered once accepted): forget queued frames and tell the engine. */
  closed(code: number): void {
    this.queued = undefined;
    this.queuedBytes = 0;
    const gateway = this.gateway!;
    gateway.released(this);
    if (this.connection) gateway.engine.disconnect(this.connection, code);
  }
}

function destroyOnError(this: Duplex): void {
  this.destroy();
}
function ignoreError(): void {}
function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  const ws = this as HeraldWebSocket;
  const connection = ws.connection;
  if (!connection) return;
  if (isBinary) connection.sendError('Binary frames are not supported; send JSON text frames', null);
  else ws.gateway!.engine.receive(connection, data.toString('utf8'));
}
function onPingOrPong(this: WebSocket): void {
  const ws = this as HeraldWebSocket;
  if (ws.connection) ws.gateway!.engine.touch(ws.connection);
}
function onClose(this: WebSocket, code: number): void {
  (this as HeraldWebSocket).closed(code);
}

/**
 * The peer's address without `socket.remoteAddress`, which caches a `{address, family, port}`
 * object on the socket for its lifetime (~130 bytes a connection, for a value read once).
 */
function peerAddress(socket: Socket): string | undefined {
  const handle = (socket as unknown as { _handle?: { getpeername?(out: { address?: string }): number } })._handle;
  if (typeof handle?.getpeername === 'function') {
    const out: { address?: string } = {};
    if (handle.getpeername(out) === 0 && typeof out.address === 'string') return out.address;
  }
  return socket.remoteAddress;
}

/** Open connections from one address; `ip` is the one copy of the address string they all share. */
interface Peer {
  ip: string;
  count: number;
}

export class WebSocketGateway {
  private readonly wss: WebSocketServer;
  readonly connections = new Set<HeraldWebSocket>();
  private readonly perIp = new Map<string, Peer>();
  readonly maxBufferedBytes: number;

  constructor(
    readonly engine: ChannelsEngine,
    private readonly options: WebSocketOptions,
  ) {
    this.maxBufferedBytes = options.maxBufferedBytes;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
      WebSocket: HeraldWebSocket,
      // A peer that never finishes the close handshake is cut off quickly (ws' default is 30 s).
      closeTimeout: options.closeTimeoutMs ?? 3000,
    } as ConstructorParameters<typeof WebSocketServer>[0]);
  }

  /** True when the path is a Pusher WebSocket path this gateway serves. */
  handles(path: string): boolean {
    return path.startsWith(`${this.options.wsPath}/app/`) || path === `${this.options.wsPath}/app`;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // A module-level listener: a closure here would keep `req` (and its headers) alive per connection.
    socket.on('error', destroyOnError);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws as HeraldWebSocket, req, socket as Socket));
  }

  private accept(ws: HeraldWebSocket, req: IncomingMessage, socket: Socket): void {
    // ws now handles socket errors itself; dropping ours keeps one 'error' listener, not an array.
    socket.off('error', destroyOnError);
    this.connections.add(ws);
    ws.on('error', ignoreError);
    const rawUrl = req.url ?? '';
    const q = rawUrl.indexOf('?');
    const path = (q < 0 ? rawUrl : rawUrl.slice(0, q)).slice(this.options.wsPath.length);
    let query: Array<[string, string]>;
    try {
      query = parseQuery(q < 0 ? '' : rawUrl.slice(q + 1));
    } catch {
      query = [];
    }
    const get = (k: string) => query.find(([name]) => name === k)?.[1];
    const match = /^\/app\/([^/]+)\/?$/.exec(path);
    if (!match) {
      ws.close(CloseCode.PathNotFound, 'Path not found');
      this.connections.delete(ws);
      return;
    }
    const appKey = safeDecode(match[1]!);
    // The app's allowed origins (src/apps/origins.ts): a page it does not list is refused with 4009.
    const originDenied = originRefusal(this.engine.apps.byKey(appKey), req.headers.origin);
    if (originDenied) {
      this.engine.emit('connectionRefused', appKey, originDenied.code, originDenied.reason);
      ws.close(originDenied.code, originDenied.reason);
      this.connections.delete(ws);
      return;
    }
    const address = peerAddress(socket);
    const key = address ?? 'unknown';
    const perIpLimit = this.options.maxConnectionsPerIp ?? 0;
    let peer = this.perIp.get(key);
    if (perIpLimit > 0 && (peer?.count ?? 0) >= perIpLimit) {
      ws.close(CloseCode.OverCapacity, 'Too many connections from this address');
      this.connections.delete(ws);
      return;
    }
    if (peer) peer.count++;
    else this.perIp.set(key, (peer = { ip: key, count: 1 }));
    socket.setNoDelay(true);
    ws.gateway = this;
    ws.socket = socket;
    ws.peer = peer;
    ws.on('close', onClose);
    const result = this.engine.connect(
      {
        appKey,
        protocol: get('protocol'),
        version: get('version'),
        client: get('client'),
        remoteAddress: address === undefined ? undefined : peer.ip,
      },
      ws,
    );
    if (!result.ok) {
      ws.closeWith(result.code, result.reason);
      return;
    }
    ws.connection = result.connection;
    ws.on('message', onMessage);
    ws.on('pong', onPingOrPong);
    ws.on('ping', onPingOrPong);
  }

  /** Bookkeeping when a socket is gone (its per-address count and the open set). */
  released(ws: HeraldWebSocket): void {
    this.connections.delete(ws);
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

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
