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
 * `ws` lets the server construct a subclass: the transport rides on the socket object itself, so
 * one set of module-level listeners (no per-connection closures) serves every connection.
 */
class HeraldWebSocket extends WebSocket {
  transport: WebSocketTransport | undefined = undefined;

  /**
   * Every close frame — Herald's own, or ws answering a client's close or a protocol error
   * (1009, 1007…) — first writes the frames this pass queued: they were sent before the close
   * and must not be lost or follow the close frame.
   */
  override close(code?: number, data?: string | Buffer): void {
    this.transport?.flush();
    super.close(code, data);
  }
}

/**
 * Transports holding frames for this event-loop pass. They are flushed together in the check
 * phase (setImmediate): everything one socket is sent while a batch of I/O is handled leaves in
 * one syscall, and a socket that gets a single frame (the common case) skips cork bookkeeping.
 */
const queuedTransports: WebSocketTransport[] = [];
function flushQueued(): void {
  // Index loop: a flush never queues more frames, but keep it safe if one ever does.
  for (let i = 0; i < queuedTransports.length; i++) queuedTransports[i]!.flush();
  queuedTransports.length = 0;
}

class WebSocketTransport implements ConnectionTransport {
  connection: Connection | undefined = undefined;
  /** Frames waiting for this pass's flush: none, one, or several (then one writev). */
  private queued: Buffer | Buffer[] | undefined = undefined;
  private queuedBytes = 0;

  constructor(
    readonly gateway: WebSocketGateway,
    readonly ws: HeraldWebSocket,
    readonly socket: Socket,
    readonly ip: string,
  ) {}

  send(message: OutboundMessage): void {
    if (this.ws.readyState !== 1 || this.socket.destroyed) return;
    let frame = message.wire as Buffer | undefined;
    if (frame === undefined) {
      frame = frameText(message.text);
      message.wire = frame;
    }
    const queuedBytes = this.queuedBytes + frame.length;
    if (this.socket.writableLength + queuedBytes > this.gateway.maxBufferedBytes) {
      // A client that stops reading must not hold unbounded memory; 4100 makes pusher-js retry later.
      this.close(CloseCode.OverCapacity, 'Client is not reading fast enough');
      return;
    }
    this.queuedBytes = queuedBytes;
    const queued = this.queued;
    if (queued === undefined) {
      this.queued = frame;
      if (queuedTransports.length === 0) setImmediate(flushQueued);
      queuedTransports.push(this);
    } else if (Array.isArray(queued)) queued.push(frame);
    else this.queued = [queued, frame];
  }

  /** Writes what this pass queued: one write() for one frame, one writev() for several. */
  flush(): void {
    const queued = this.queued;
    if (queued === undefined) return;
    this.queued = undefined;
    this.queuedBytes = 0;
    const socket = this.socket;
    if (socket.destroyed) return;
    if (!Array.isArray(queued)) {
      socket.write(queued);
      return;
    }
    socket.cork();
    for (const frame of queued) socket.write(frame);
    socket.uncork();
  }

  close(code: number, reason: string): void {
    // HeraldWebSocket.close writes the queued frames (e.g. the pusher:error explaining it) first.
    const ws = this.ws;
    if (ws.readyState === 0 || ws.readyState === 1) ws.close(code, reason);
  }

  /** The socket is gone: forget queued frames and tell the engine. */
  closed(code: number): void {
    this.queued = undefined;
    this.queuedBytes = 0;
    this.gateway.released(this);
    if (this.connection) this.gateway.engine.disconnect(this.connection, code);
  }
}

function destroyOnError(this: Duplex): void {
  this.destroy();
}
function ignoreError(): void {}
function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  const transport = (this as HeraldWebSocket).transport;
  const connection = transport?.connection;
  if (!connection) return;
  if (isBinary) connection.sendError('Binary frames are not supported; send JSON text frames', null);
  else transport!.gateway.engine.receive(connection, data.toString('utf8'));
}
function onPingOrPong(this: WebSocket): void {
  const transport = (this as HeraldWebSocket).transport;
  if (transport?.connection) transport.gateway.engine.touch(transport.connection);
}
function onClose(this: WebSocket, code: number): void {
  (this as HeraldWebSocket).transport?.closed(code);
}

export class WebSocketGateway {
  private readonly wss: WebSocketServer;
  readonly connections = new Set<HeraldWebSocket>();
  private readonly perIp = new Map<string, number>();
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
    const ip = req.socket.remoteAddress ?? 'unknown';
    const perIpLimit = this.options.maxConnectionsPerIp ?? 0;
    const fromIp = (this.perIp.get(ip) ?? 0) + 1;
    if (perIpLimit > 0 && fromIp > perIpLimit) {
      ws.close(CloseCode.OverCapacity, 'Too many connections from this address');
      this.connections.delete(ws);
      return;
    }
    this.perIp.set(ip, fromIp);
    socket.setNoDelay(true);
    const transport = new WebSocketTransport(this, ws, socket, ip);
    ws.transport = transport;
    ws.on('close', onClose);
    const result = this.engine.connect(
      {
        appKey: safeDecode(match[1]!),
        protocol: get('protocol'),
        version: get('version'),
        client: get('client'),
        remoteAddress: req.socket.remoteAddress,
      },
      transport,
    );
    if (!result.ok) {
      transport.close(result.code, result.reason);
      return;
    }
    transport.connection = result.connection;
    ws.on('message', onMessage);
    ws.on('pong', onPingOrPong);
    ws.on('ping', onPingOrPong);
  }

  /** Bookkeeping when a socket is gone (its per-address count and the open set). */
  released(transport: WebSocketTransport): void {
    this.connections.delete(transport.ws);
    const n = (this.perIp.get(transport.ip) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(transport.ip);
    else this.perIp.set(transport.ip, n);
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
