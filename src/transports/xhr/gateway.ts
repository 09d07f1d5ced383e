/**
 * Serves pusher-js's HTTP fallback transports under `{httpPath}/app/{key}/{server}/{session}/…`:
 *
 *   POST …/xhr_streaming   receive: one long response of frames (see framing.ts)
 *   POST …/xhr             receive: one frame per request (long polling)
 *   POST …/xhr_send        send: a JSON array of Pusher messages; 204, or 404 for an unknown session
 *
 * A session is created by its first receive request (the handshake: app key, protocol version and
 * quotas are checked by the engine exactly as for a WebSocket) and lives in this process. Requests
 * of one session must reach the process that holds it: on a multi-worker node forwarding.ts hands
 * them to the owning worker; docs/protocol.md says what a load balancer in front of nodes needs.
 */
import { originRefusal } from '../../apps/origins.js';
import type { ServerResponse } from 'node:http';
import type { ChannelsEngine } from '../../channels/engine.js';
import { CloseCode } from '../../protocol/errors.js';
import type { HttpContext } from '../../platform/router.js';
import { invalid, notFound, tooLarge } from '../../platform/errors.js';
import { closeFrame, OPEN_FRAME, parseSendBody, STREAMING_PRELUDE, validSessionSegments } from './framing.js';
import { XhrSession, type SessionHost, type XhrKind } from './session.js';

export interface XhrGatewayOptions {
  /** Bytes (characters) waiting for one session before it is closed with 4100. */
  maxBufferedBytes: number;
  /** Largest xhr_send body (413 beyond). */
  maxSendBytes: number;
  /** Sessions from one address (0 = unlimited); beyond it the handshake is refused with 4100. */
  maxSessionsPerIp: number;
  /** A session with no receive request attached for this long is closed (the client went away). */
  idleTimeoutMs: number;
  /** Streaming: a heartbeat frame after this much silence. Polling: how long a poll is held. */
  heartbeatMs: number;
}

export const XHR_DEFAULTS = { idleTimeoutMs: 10_000, heartbeatMs: 25_000 } as const;

const RECEIVE_HEADERS = {
  'Content-Type': 'application/javascript; charset=UTF-8',
  'Cache-Control': 'no-store, no-cache, must-revalidate, max-age=0',
  // nginx would otherwise buffer a streaming response.
  'X-Accel-Buffering': 'no',
};

/** Close code reported to the engine (and so webhooks, metrics) when a client silently goes away. */
const WENT_AWAY = 1006;

export class XhrGateway implements SessionHost {
  readonly sessions = new Map<string, XhrSession>();
  private readonly perIp = new Map<string, number>();
  private readonly flushQueue: XhrSession[] = [];
  private sweepTimer: NodeJS.Timeout | undefined;
  readonly maxBufferedBytes: number;

  constructor(
    readonly engine: ChannelsEngine,
    private readonly options: XhrGatewayOptions,
  ) {
    this.maxBufferedBytes = options.maxBufferedBytes;
  }

  start(): void {
    const interval = Math.max(50, Math.min(1000, this.options.idleTimeoutMs / 4, this.options.heartbeatMs / 4));
    this.sweepTimer = setInterval(() => this.sweep(Date.now()), interval);
    this.sweepTimer.unref();
  }

  /** Closes every session with `code` (graceful shutdown: 4200 makes pusher-js reconnect at once). */
  closeAll(code: number, reason: string): void {
    for (const session of [...this.sessions.values()]) session.closeWith(code, reason);
  }

  stop(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    for (const session of this.sessions.values()) {
      session.destroyReceiver();
      if (session.connection) this.engine.disconnect(session.connection, CloseCode.ReconnectImmediately);
    }
    this.sessions.clear();
    this.perIp.clear();
  }

  /** Connections by transport kind, for metrics. */
  countByKind(): Record<XhrKind, number> {
    const out = { xhr_streaming: 0, xhr_polling: 0 };
    for (const s of this.sessions.values()) if (s.closedWith === undefined) out[s.kind]++;
    return out;
  }

  // ---- requests -------------------------------------------------------------------------

  /** `ip`: the client's address (another worker forwarding the request says whose it is). */
  receive(ctx: HttpContext, kind: XhrKind, ip = clientAddress(ctx)): void {
    const id = sessionId(ctx);
    const now = Date.now();
    const existing = this.sessions.get(id);
    if (existing && existing.ip !== ip) throw notFound('Session not found');
    if (existing?.closedWith !== undefined) {
      // The client learns why its session ended (e.g. 4009), then the id is forgotten.
      this.forget(existing);
      return respondOnce(ctx.res, existing.closedWith);
    }
    if (existing) {
      startReceive(ctx.res, kind);
      if (existing.connection) this.engine.touch(existing.connection);
      existing.attach(ctx.res, kind, now);
      return;
    }
    this.open(ctx, id, ip, kind, now);
  }

  send(ctx: HttpContext, body: Buffer, ip = clientAddress(ctx)): void {
    const id = sessionId(ctx);
    const session = this.sessions.get(id);
    if (!session || session.ip !== ip || session.closedWith !== undefined || !session.connection) throw notFound('Session not found');
    if (body.length > this.options.maxSendBytes) throw tooLarge(`xhr_send body too large (limit ${this.options.maxSendBytes} bytes)`);
    const parsed = parseSendBody(body.toString('utf8'));
    if (!parsed.ok) throw invalid(parsed.error);
    const conn = session.connection;
    if (parsed.messages.length === 0) this.engine.touch(conn);
    for (const text of parsed.messages) this.engine.receive(conn, text);
    ctx.res.writeHead(204).end();
  }

  /** The handshake: a new session becomes an engine connection, or is refused with a close frame. */
  private open(ctx: HttpContext, id: string, ip: string, kind: XhrKind, now: number): void {
    const { perIp, options } = this;
    if (options.maxSessionsPerIp > 0 && (perIp.get(ip) ?? 0) >= options.maxSessionsPerIp) {
      return respondOnce(ctx.res, OPEN_FRAME + closeFrame(CloseCode.OverCapacity, 'Too many connections from this address'));
    }
    // The app's allowed origins (src/apps/origins.ts) apply to the fallbacks as to WebSockets.
    const originDenied = originRefusal(this.engine.apps.byKey(ctx.params.key!), ctx.req.headers.origin);
    if (originDenied) {
      this.engine.emit('connectionRefused', ctx.params.key!, originDenied.code, originDenied.reason);
      return respondOnce(ctx.res, OPEN_FRAME + closeFrame(originDenied.code, originDenied.reason));
    }
    const session = new XhrSession(id, kind, ip, this, now);
    const result = this.engine.connect(
      {
        appKey: ctx.params.key!,
        protocol: ctx.queryValue('protocol'),
        version: ctx.queryValue('version'),
        client: ctx.queryValue('client'),
        remoteAddress: ip,
      },
      session,
    );
    if (!result.ok) return respondOnce(ctx.res, OPEN_FRAME + closeFrame(result.code, result.reason));
    session.connection = result.connection;
    this.sessions.set(id, session);
    perIp.set(ip, (perIp.get(ip) ?? 0) + 1);
    if (kind === 'xhr_polling') {
      // The first poll carries only the open frame; connection_established waits for the next.
      return respondOnce(ctx.res, OPEN_FRAME);
    }
    startReceive(ctx.res, kind);
    const opening = STREAMING_PRELUDE + OPEN_FRAME;
    ctx.res.write(opening);
    session.attach(ctx.res, kind, now, opening.length);
  }

  // ---- SessionHost ----------------------------------------------------------------------

  scheduleFlush(session: XhrSession): void {
    session.flushQueued = true;
    if (this.flushQueue.length === 0) setImmediate(() => this.flushAll());
    this.flushQueue.push(session);
  }

  sessionClosed(session: XhrSession, code: number): void {
    const conn = session.connection;
    // As a WebSocket's 'close' event does, tell the engine once the current call has returned.
    if (conn) setImmediate(() => this.engine.disconnect(conn, code));
  }

  // ---- housekeeping ---------------------------------------------------------------------

  /** Everything delivered during this event-loop pass leaves as one frame per session. */
  private flushAll(): void {
    const now = Date.now();
    for (let i = 0; i < this.flushQueue.length; i++) this.flushQueue[i]!.flush(now);
    this.flushQueue.length = 0;
  }

  private sweep(now: number): void {
    const { idleTimeoutMs, heartbeatMs } = this.options;
    for (const session of this.sessions.values()) {
      if (session.attached) {
        if (now - session.lastWrite >= heartbeatMs) session.heartbeat(now);
        continue;
      }
      if (now - session.since < idleTimeoutMs) continue;
      if (session.closedWith === undefined) session.closeWith(WENT_AWAY, 'Session timed out: no request from the client');
      this.forget(session);
    }
  }

  private forget(session: XhrSession): void {
    if (this.sessions.get(session.id) !== session) return;
    this.sessions.delete(session.id);
    const left = (this.perIp.get(session.ip) ?? 1) - 1;
    if (left > 0) this.perIp.set(session.ip, left);
    else this.perIp.delete(session.ip);
  }
}

function clientAddress(ctx: HttpContext): string {
  return ctx.req.socket.remoteAddress ?? 'unknown';
}

function sessionId(ctx: HttpContext): string {
  const { key, server, session } = ctx.params;
  if (!validSessionSegments(server!, session!)) throw notFound('Invalid session id');
  return `${key}/${server}/${session}`;
}

function startReceive(res: ServerResponse, kind: XhrKind): void {
  res.writeHead(200, RECEIVE_HEADERS);
  if (kind === 'xhr_streaming') {
    res.socket?.setNoDelay(true);
    res.flushHeaders();
  }
}

function respondOnce(res: ServerResponse, frames: string): void {
  res.writeHead(200, RECEIVE_HEADERS);
  res.end(frames);
}
