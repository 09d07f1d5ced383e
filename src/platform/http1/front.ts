/**
 * The lean request path: Herald reads plain HTTP/1.1 API requests itself and hands every other
 * connection to Node's HTTP server.
 *
 * Why: a signed publish is a small request, and Node's server spends more CPU on it than Herald's
 * whole handling does (llhttp callbacks into JavaScript, an IncomingMessage and a ServerResponse
 * stream per request, header validation, a timer per socket). Here a request costs one search for
 * the end of its head, one string of the head, and one write of the whole response.
 *
 * How: the front takes the place of Node's own 'connection' listener on the http.Server (every
 * other listener, the port, close() and the modules' 'upgrade' handlers stay as they were). Each
 * new connection is read here first. A request that `route` accepts (GET/POST/DELETE to a route
 * registered as lean, a Content-Length body up to LEAN_MAX_BODY_BYTES) is served here; at the first
 * request it does not accept (a WebSocket upgrade, the console, chunked bodies, anything head.ts
 * hands off), the connection, with every byte not yet served, goes to Node's listener for good.
 * Node then parses those bytes from the start of that request, so it behaves exactly as if it had
 * had the connection all along.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { readRequestHead, type RequestHead } from './head.js';
import { LeanRequest, LeanResponse, type ResponseSink } from './response.js';

/**
 * Largest body read before the handler runs. Bigger bodies go to Node's path, whose handlers check
 * the signature before they read a body: an unsigned request never makes Herald buffer more.
 */
export const LEAN_MAX_BODY_BYTES = 64 * 1024;

/**
 * Where a connection's responses go. The default writes each with socket.write(); the composition
 * root passes the WebSocket write path's (transports/websocket/frame-writer.ts), which sends what
 * a pass produced for all sockets together, natively with one io_uring call where it can.
 */
export interface ResponseWriter {
  /** Queues one whole response (flushed at the end of this event-loop pass at the latest). */
  queue(response: Buffer): void;
  /** Writes what is queued now, ahead of whatever is written to the socket next (end, hand-off). */
  flushNow(): void;
  /** True while earlier responses wait in Node or in a backlog: serve nothing more until 'drain'. */
  readonly congested: boolean;
  /** The socket is gone. */
  discard(): void;
}

export interface LeanFrontOptions<R> {
  /** The route of a request served here, or undefined to hand the connection to Node. */
  route(head: RequestHead): R | undefined;
  /** Serves a routed request; the response may end synchronously or later. */
  serve(route: R, req: LeanRequest, res: LeanResponse, body: Buffer): void;
  /** The body limit of Node's path: bodies over it go there to be refused the same way. */
  maxBodyBytes: number;
  /** Time from a request's first byte to the end of its head (Node's headersTimeout). */
  headersTimeoutMs: number;
  /** Time from a request's first byte to the end of its body (Node's requestTimeout). */
  requestTimeoutMs: number;
  /** Idle time between requests before the connection is closed (Node's keepAliveTimeout). */
  keepAliveTimeoutMs: number;
  /** How often deadlines are checked (Node's connectionsCheckingInterval). */
  checkIntervalMs: number;
  /** The whole 408 response for a request that did not arrive in time. */
  timeoutResponse: () => string;
  /** The response writer of a new connection; without it, socket.write() per response. */
  openWriter?: (socket: Socket) => ResponseWriter;
}

/** One socket.write() per response, in order; congested while Node holds unwritten bytes. */
class DirectWriter implements ResponseWriter {
  constructor(private readonly socket: Socket) {}
  queue(response: Buffer): void {
    this.socket.write(response);
  }
  flushNow(): void {}
  get congested(): boolean {
    return this.socket.writableLength !== 0;
  }
  discard(): void {}
}

export class LeanHttpFront<R> {
  private readonly connections = new Set<LeanConnection<R>>();
  private readonly nodeListener: (socket: Socket) => void;
  private timer: NodeJS.Timeout | undefined;
  private dateText = '';
  private dateUntil = 0;
  /** Set by closeIdle(): responses from then on close their connection. */
  closing = false;
  /** Requests served here, and connections given to Node's server (tests, docs figures). */
  readonly stats = { served: 0, handedOff: 0 };
  readonly keepAliveLines: string;
  readonly bodyLimit: number;

  constructor(
    readonly server: Server,
    readonly options: LeanFrontOptions<R>,
  ) {
    const listeners = server.listeners('connection');
    // http.Server adds exactly one listener, its own, in its constructor.
    if (listeners.length !== 1) throw new Error(`the lean HTTP path must be installed on a fresh http.Server (found ${listeners.length} connection listeners)`);
    this.nodeListener = listeners[0] as (socket: Socket) => void;
    server.removeListener('connection', this.nodeListener);
    server.on('connection', (socket: Socket) => this.accept(socket));
    server.on('close', () => this.stopTimer());
    this.keepAliveLines = `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(options.keepAliveTimeoutMs / 1000)}`;
    this.bodyLimit = Math.min(options.maxBodyBytes, LEAN_MAX_BODY_BYTES);
  }

  /** Lean connections open now (tests, metrics). */
  get size(): number {
    return this.connections.size;
  }

  /** Closes connections between requests; the others close after their response (server.close()). */
  closeIdle(): void {
    this.closing = true;
    for (const connection of this.connections) connection.closeWhenIdle();
  }

  /** Destroys every lean connection (server.closeAllConnections()). */
  closeAll(): void {
    this.closing = true;
    for (const connection of this.connections) connection.socket.destroy();
  }

  /** The Date header of this second (one Date string per second, not per response). */
  date(now: number): string {
    if (now >= this.dateUntil) {
      this.dateText = new Date(now).toUTCString();
      this.dateUntil = now - (now % 1000) + 1000;
    }
    return this.dateText;
  }

  /** Gives a connection to Node's HTTP server with the bytes it has not served. */
  handOff(socket: Socket, unread: Buffer | undefined): void {
    this.stats.handedOff++;
    // Paused first, so the bytes wait in the socket's buffer for Node's parser instead of being
    // emitted at once to whatever 'data' listeners remain.
    socket.pause();
    if (unread) socket.unshift(unread);
    // After the current 'data' callback: Node's listener attaches its parser to the socket's
    // handle, which should not happen inside that handle's own read callback. No I/O runs
    // before the tick, so no byte can arrive out of order.
    process.nextTick(() => {
      if (socket.destroyed) return;
      this.nodeListener.call(this.server, socket);
      socket.resume();
    });
  }

  forget(connection: LeanConnection<R>): void {
    this.connections.delete(connection);
  }

  private accept(socket: Socket): void {
    if (this.closing) return void this.nodeListener.call(this.server, socket);
    this.connections.add(new LeanConnection(socket, this));
    this.timer ??= setInterval(() => this.checkDeadlines(), this.options.checkIntervalMs).unref();
  }

  private checkDeadlines(): void {
    const now = Date.now();
    for (const connection of this.connections) connection.checkDeadline(now);
    if (this.connections.size === 0) this.stopTimer();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** One connection while it is served here: requests one at a time, responses in order. */
class LeanConnection<R> implements ResponseSink {
  /** Received bytes not served yet (a partial request, or pipelined ones). */
  private unread: Buffer | undefined = undefined;
  private inFlight: LeanResponse | undefined = undefined;
  /** When the request being received started (its first byte, or the connection's start). */
  private requestStartedAt: number | undefined;
  /** When the connection last became idle between requests. */
  private idleSince: number | undefined = undefined;
  private headComplete = false;
  private serving = false;
  private clientEnded = false;
  private done = false;
  private readonly onData = (chunk: Buffer) => this.received(chunk);
  private readonly onEnd = () => this.ended();
  private readonly onError = () => this.socket.destroy();
  private readonly onClose = () => {
    this.writer.discard();
    this.finish();
  };
  private readonly onDrain = () => this.drained();
  private waitingForDrain = false;
  private readonly writer: ResponseWriter;

  constructor(
    readonly socket: Socket,
    private readonly front: LeanHttpFront<R>,
  ) {
    this.requestStartedAt = Date.now();
    this.writer = front.options.openWriter?.(socket) ?? new DirectWriter(socket);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  get keepAliveLines(): string {
    return this.front.keepAliveLines;
  }

  date(): string {
    return this.front.date(Date.now());
  }

  respond(text: string, close: boolean): void {
    this.inFlight = undefined;
    if (this.done || this.socket.destroyed) return;
    this.writer.queue(Buffer.from(text));
    if (close || (this.clientEnded && this.unread === undefined)) return this.endAfterResponses();
    if (this.unread === undefined) {
      this.idleSince = Date.now();
      this.requestStartedAt = undefined;
    } else {
      this.requestStartedAt = Date.now();
    }
    if (this.socket.isPaused()) this.socket.resume();
    if (!this.serving) this.serveBuffered();
  }

  /** Ends the connection once what is queued is written. */
  private endAfterResponses(): void {
    this.writer.flushNow();
    this.finish();
    this.socket.end();
  }

  /** Node has written what it held: serve again, unless a backlog is still waiting. */
  private drained(): void {
    this.waitingForDrain = false;
    this.serveBuffered();
  }

  /** True (and 'drain' awaited) while the client has not read earlier responses. */
  private congested(): boolean {
    if (!this.writer.congested) return false;
    if (!this.waitingForDrain) {
      this.waitingForDrain = true;
      this.socket.once('drain', this.onDrain);
    }
    return true;
  }

  closeWhenIdle(): void {
    if (this.inFlight) return this.inFlight.closeAfter();
    this.endAfterResponses();
  }

  checkDeadline(now: number): void {
    if (this.inFlight || this.done) return;
    if (this.idleSince !== undefined) {
      if (now - this.idleSince > this.front.options.keepAliveTimeoutMs) this.socket.destroy();
      return;
    }
    if (this.requestStartedAt === undefined) return;
    const limit = this.headComplete ? this.front.options.requestTimeoutMs : this.front.options.headersTimeoutMs;
    if (now - this.requestStartedAt <= limit) return;
    this.finish();
    this.socket.end(this.front.options.timeoutResponse());
  }

  private received(chunk: Buffer): void {
    this.unread = this.unread === undefined ? chunk : Buffer.concat([this.unread, chunk]);
    if (this.idleSince !== undefined) {
      this.idleSince = undefined;
      this.requestStartedAt = Date.now();
    }
    if (this.inFlight || this.waitingForDrain) {
      // Pipelined requests wait for the response in flight (or for the client to read earlier
      // ones); stop reading if they pile up.
      if (this.unread.length > 2 * LEAN_MAX_BODY_BYTES) this.socket.pause();
      return;
    }
    this.serveBuffered();
  }

  private serveBuffered(): void {
    this.serving = true;
    try {
      while (this.unread !== undefined && this.inFlight === undefined && !this.done && !this.socket.destroyed) {
        // The client is not reading its answers: serve nothing more until it does.
        if (this.congested()) return;
        if (!this.serveOne(this.unread)) break;
      }
      // The client sent its FIN after complete requests: once they are answered, end.
      if (this.clientEnded && this.inFlight === undefined && !this.done) this.endAfterResponses();
    } finally {
      this.serving = false;
    }
  }

  /** Serves the request at the start of `buffered`; false when it must wait or was handed off. */
  private serveOne(buffered: Buffer): boolean {
    const head = readRequestHead(buffered, 0);
    if (head === 'incomplete') return false;
    const route = head === 'handOff' || head.contentLength > this.front.bodyLimit ? undefined : this.front.options.route(head);
    if (head === 'handOff' || route === undefined) {
      this.giveToNode();
      return false;
    }
    const end = head.bodyStart + head.contentLength;
    if (buffered.length < end) {
      this.headComplete = true;
      return false;
    }
    this.headComplete = false;
    const body = buffered.subarray(head.bodyStart, end);
    this.unread = end === buffered.length ? undefined : buffered.subarray(end);
    const res = new LeanResponse(this, !head.keepAlive || this.front.closing);
    this.inFlight = res;
    this.front.stats.served++;
    this.front.options.serve(route, new LeanRequest(head.method, head.url, head.headers, this.socket), res, body);
    return true;
  }

  private giveToNode(): void {
    // Responses queued for this pass go first: Node's own will follow them.
    this.writer.flushNow();
    const unread = this.unread;
    this.finish(false);
    this.front.handOff(this.socket, unread);
  }

  private ended(): void {
    this.clientEnded = true;
    // Complete requests before the FIN are answered; a request cut off by it cannot complete.
    if (!this.inFlight && !this.serving) this.serveBuffered();
  }

  /**
   * Stops serving this socket here (closed, handed off, or ending). An ending socket keeps a guard
   * for late errors; a handed-off one gets Node's own error handling instead.
   */
  private finish(guardErrors = true): void {
    if (this.done) return;
    this.done = true;
    this.unread = undefined;
    this.socket.removeListener('data', this.onData);
    this.socket.removeListener('end', this.onEnd);
    this.socket.removeListener('error', this.onError);
    this.socket.removeListener('close', this.onClose);
    this.socket.removeListener('drain', this.onDrain);
    // A socket that stays open (handed off, or ending) must still not throw on a late error.
    if (guardErrors && this.socket.listenerCount('error') === 0) this.socket.on('error', () => this.socket.destroy());
    this.front.forget(this);
  }
}
