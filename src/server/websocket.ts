/**
 * WebSocket transport: accepts upgrades on {wsPath}/app/{key}, hands frames to the engine and
 * writes engine messages. The `ws` library does the handshake, parsing and close handshake;
 * outbound text frames are pre-built once per broadcast (OutboundMessage.wire) and written
 * straight to the TCP socket, corked until the end of the current event-loop pass (setImmediate),
 * so everything sent to one socket while a batch of I/O is processed becomes one syscall.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
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

/** Sockets corked during this event-loop pass, uncorked together in its check phase. */
const corked = new Set<Socket>();
function uncorkAll(): void {
  for (const socket of corked) socket.uncork();
  corked.clear();
}

class WebSocketTransport implements ConnectionTransport {
  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Socket,
    private readonly maxBufferedBytes: number,
  ) {}

  send(message: OutboundMessage): void {
    const socket = this.socket;
    if (socket.destroyed || this.ws.readyState !== 1) return;
    let frame = message.wire as Buffer | undefined;
    if (frame === undefined) {
      frame = frameText(message.text);
      message.wire = frame;
    }
    if (socket.writableLength + frame.length > this.maxBufferedBytes) {
      // A client that stops reading must not hold unbounded memory; 4100 makes pusher-js retry later.
      this.close(CloseCode.OverCapacity, 'Client is not reading fast enough');
      return;
    }
    if (!corked.has(socket)) {
      if (corked.size === 0) setImmediate(uncorkAll);
      socket.cork();
      corked.add(socket);
    }
    socket.write(frame);
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState === 0 || this.ws.readyState === 1) this.ws.close(code, reason);
  }
}

export class WebSocketGateway {
  private readonly wss: WebSocketServer;
  readonly connections = new Set<WebSocket>();
  private readonly perIp = new Map<string, number>();

  constructor(
    private readonly engine: ChannelsEngine,
    private readonly options: WebSocketOptions,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
      // A peer that never finishes the close handshake is cut off quickly (ws' default is 30 s).
      closeTimeout: options.closeTimeoutMs ?? 3000,
    } as ConstructorParameters<typeof WebSocketServer>[0]);
  }

  /** True when the path is a Pusher WebSocket path this gateway serves. */
  handles(path: string): boolean {
    return path.startsWith(`${this.options.wsPath}/app/`) || path === `${this.options.wsPath}/app`;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, socket as Socket));
  }

  private accept(ws: WebSocket, req: IncomingMessage, socket: Socket): void {
    this.connections.add(ws);
    ws.on('error', () => undefined);
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
    const release = () => {
      const n = (this.perIp.get(ip) ?? 1) - 1;
      if (n <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, n);
    };
    socket.setNoDelay(true);
    const transport = new WebSocketTransport(ws, socket, this.options.maxBufferedBytes);
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
      release();
      ws.close(result.code, result.reason);
      this.connections.delete(ws);
      return;
    }
    const conn: Connection = result.connection;
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        conn.sendError('Binary frames are not supported; send JSON text frames', null);
        return;
      }
      this.engine.receive(conn, (data as Buffer).toString('utf8'));
    });
    ws.on('pong', () => this.engine.touch(conn));
    ws.on('ping', () => this.engine.touch(conn));
    ws.on('close', (code) => {
      release();
      this.connections.delete(ws);
      this.engine.disconnect(conn, code);
    });
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
