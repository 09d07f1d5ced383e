/**
 * WebSocket transport: accepts upgrades on {wsPath}/app/{key}, hands frames to the engine and
 * writes engine messages. The `ws` library does the handshake, parsing and close handshake;
 * outbound text frames are pre-built once per broadcast (OutboundMessage.wire) and written
 * straight to the TCP socket, queued until the end of the current event-loop pass (setImmediate),
 * so everything sent to one socket while a batch of I/O is processed becomes one syscall — and,
 * with the native send path (native-send.ts), every socket's sends of the pass one syscall.
 *
 * A socket whose earlier bytes are still pending in Node (the client reads slowly) gets at most
 * one more chunk handed to Node at a time; later frames wait, whole, in its backlog. So when the
 * client falls too far behind, the backlog is dropped and the 4100 close frame follows the little
 * Node still holds, instead of megabytes the client will never read (docs/hardening.md).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { CloseCode } from '../../protocol/errors.js';
import type { ChannelsEngine } from '../../channels/engine.js';
import type { Connection } from '../../channels/connection.js';
import type { ConnectionTransport, OutboundMessage } from '../../channels/transport.js';
import { parseQuery } from '../../platform/http-context.js';
import { originRefusal } from '../../apps/origins.js';
import { processSendPath, unwritten, type NativeBatch, type SendOwner, type SendPath } from './native-send.js';

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
/** The native send path's batch, when this process uses one (see native-send.ts). */
let nativeBatch: NativeBatch | undefined;
function flushQueued(): void {
  const batch = nativeBatch;
  // Index loop: a flush never queues more frames, but keep it safe if one ever does.
  for (let i = 0; i < queuedSockets.length; i++) queuedSockets[i]!.flush(batch);
  queuedSockets.length = 0;
  if (batch === undefined) return;
  try {
    batch.send();
  } catch (err) {
    // The ring itself failed (not one socket): what was not sent went back to Node; use JS from now on.
    nativeBatch = undefined;
    sendPathFailure?.(err as Error);
  }
}
let sendPathFailure: ((err: Error) => void) | undefined;

/** Bytes one slow socket may have handed to Node at a time; the rest of its backlog waits. */
const SLOW_CHUNK_BYTES = 64 * 1024;
/**
 * How long a client cut off for not reading (4100) has to read what Node still holds and the
 * close frame, instead of ws' close timeout: it may only resume after seconds, and what it
 * holds is bounded (one chunk and the close frame).
 */
export const SLOW_CLIENT_CLOSE_GRACE_MS = 30_000;

/**
 * A socket whose bytes are pending in Node: one write with a completion callback is outstanding,
 * later frames wait here, whole, until it completes (then the next chunk goes).
 */
class Backlog {
  frames: Buffer[] = [];
  bytes = 0;
  constructor(private readonly ws: HeraldWebSocket) {}
  /** Callback of the outstanding write: Node has handed it (and everything before) to the kernel. */
  readonly written = (err?: Error | null): void => {
    if (err) return; // the socket is going down; ws reports the error
    this.ws.backlogWritten(this);
  };
}

/**
 * `ws` lets the server construct a subclass, and Herald makes that subclass the engine's transport:
 * one object per connection instead of two, and module-level listeners (no per-connection
 * closures) reach their connection through `this`. At 100,000 connections every field counts.
 */
class HeraldWebSocket extends WebSocket implements ConnectionTransport, SendOwner {
  connection: Connection | undefined = undefined;
  gateway: WebSocketGateway | undefined = undefined;
  /** Open connections from this one's address (WebSocketGateway.perIp), set once accepted. */
  peer: Peer | undefined = undefined;
  /** The TCP socket (ws keeps it too, but privately). */
  socket: Socket | undefined = undefined;
  /** The socket's descriptor for the native send path; -1 when it takes the JS path (TLS, off). */
  nativeFd = -1;
  /** Frames waiting for this pass's flush: none, one, or several (then one writev). */
  private queued: Buffer | Buffer[] | undefined = undefined;
  private queuedBytes = 0;
  /** Set while Node holds bytes of ours it has not written yet (a slow reader). */
  private backlog: Backlog | undefined = undefined;

  /**
   * Every close frame — Herald's own, or ws answering a client's close or a protocol error
   * (1009, 1007…) — first writes the frames this pass queued and the backlog: they were sent
   * before the close and must not be lost or follow the close frame.
   */
  override close(code?: number, data?: string | Buffer): void {
    this.flush(undefined);
    const backlog = this.backlog;
    if (backlog !== undefined && backlog.frames.length > 0 && this.socket?.destroyed === false) {
      writeFrames(this.socket, backlog.frames, undefined);
      backlog.frames = [];
      backlog.bytes = 0;
    }
    super.close(code, data);
  }

  /**
   * A client that stops reading must not hold unbounded memory: what it has not been handed yet
   * is dropped (it will never read it), and the 4100 close frame (pusher-js retries later)
   * follows the little Node still holds, with time for the client to come back and read it.
   */
  private cutOff(): void {
    this.queued = undefined;
    this.queuedBytes = 0;
    const backlog = this.backlog;
    if (backlog !== undefined) {
      backlog.frames = [];
      backlog.bytes = 0;
    }
    (this as unknown as { _closeTimeout: number })._closeTimeout = SLOW_CLIENT_CLOSE_GRACE_MS;
    super.close(CloseCode.OverCapacity, 'Client is not reading fast enough');
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
    const backlog = this.backlog;
    const pending = socket.writableLength + (backlog === undefined ? 0 : backlog.bytes);
    if (pending + queuedBytes > this.gateway!.maxBufferedBytes) {
      this.cutOff();
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

  /**
   * Sends what this pass queued: natively in `batch` when Node holds nothing of this socket's,
   * else one write() for one frame, one writev() for several; behind a slow reader's pending
   * bytes, into its backlog.
   */
  flush(batch: NativeBatch | undefined): void {
    const queued = this.queued;
    if (queued === undefined) return;
    const bytes = this.queuedBytes;
    this.queued = undefined;
    this.queuedBytes = 0;
    const socket = this.socket!;
    if (socket.destroyed) return;
    const backlog = this.backlog;
    if (backlog !== undefined) {
      if (Array.isArray(queued)) for (const frame of queued) backlog.frames.push(frame);
      else backlog.frames.push(queued);
      backlog.bytes += bytes;
    } else if (socket.writableLength !== 0) {
      // Node still holds earlier bytes (ws' own frames, or ours): hand it this one, then wait.
      this.writeWatched(queued);
    } else if (batch !== undefined && this.nativeFd >= 0) {
      batch.add(this, this.nativeFd, queued, bytes);
    } else {
      writeFrames(socket, queued, undefined);
    }
  }

  /** Native send path: the kernel took `written` bytes of `frames`; Node gets the rest, in order. */
  handBack(frames: Buffer | Buffer[], written: number): void {
    const socket = this.socket!;
    // Not destroyed: nothing runs between the native call and this (checked at flush).
    if (!socket.destroyed) this.writeWatched(unwritten(frames, written));
  }

  /** Hands `frames` to Node with a completion callback; later frames wait in the backlog. */
  private writeWatched(frames: Buffer | Buffer[]): void {
    const backlog = (this.backlog ??= new Backlog(this));
    writeFrames(this.socket!, frames, backlog.written);
  }

  /** The outstanding write completed: hand Node the next chunk of the backlog, or leave slow mode. */
  backlogWritten(backlog: Backlog): void {
    if (this.backlog !== backlog) return;
    const socket = this.socket!;
    if (backlog.frames.length === 0 || socket.destroyed) {
      this.backlog = undefined;
      return;
    }
    const all = backlog.frames;
    let n = 0;
    let bytes = 0;
    while (n < all.length && (n === 0 || bytes + all[n]!.length <= SLOW_CHUNK_BYTES)) bytes += all[n++]!.length;
    const chunk = n === all.length ? all : all.slice(0, n);
    backlog.frames = n === all.length ? [] : all.slice(n);
    backlog.bytes -= bytes;
    writeFrames(socket, chunk.length === 1 ? chunk[0]! : chunk, backlog.written);
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
    this.backlog = undefined;
    const gateway = this.gateway!;
    gateway.released(this);
    if (this.connection) gateway.engine.disconnect(this.connection, code);
  }
}

/** One write() for one frame, one writev() for several; `done` (if any) follows the last. */
function writeFrames(socket: Socket, frames: Buffer | Buffer[], done: ((err?: Error | null) => void) | undefined): void {
  if (!Array.isArray(frames)) {
    socket.write(frames, done);
    return;
  }
  socket.cork();
  const last = frames.length - 1;
  for (let i = 0; i < last; i++) socket.write(frames[i]!);
  socket.write(frames[last]!, done);
  socket.uncork();
}

/** The descriptor of a plain TCP socket (TLS sockets and other handles: -1, the JS path). */
function tcpFd(socket: Socket): number {
  if ((socket as Socket & { encrypted?: boolean }).encrypted) return -1;
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : -1;
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
  /** How this gateway's sockets are written (native io_uring / send(), or JavaScript). */
  readonly sendPath: SendPath;
  private readonly useNative: boolean;

  constructor(
    readonly engine: ChannelsEngine,
    private readonly options: WebSocketOptions,
  ) {
    this.maxBufferedBytes = options.maxBufferedBytes;
    const chosen = processSendPath();
    this.sendPath = chosen.path;
    this.useNative = chosen.batch !== undefined;
    if (chosen.batch !== undefined && nativeBatch === undefined && sendPathFailure === undefined) {
      nativeBatch = chosen.batch;
      sendPathFailure = (err) => {
        chosen.path.name = 'js';
        chosen.path.reason = `native send failed: ${err.message}`;
        options.onSendPathFailure?.(err);
      };
    }
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
    if (this.useNative && nativeBatch !== undefined) ws.nativeFd = tcpFd(socket);
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
