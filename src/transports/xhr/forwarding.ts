/**
 * xhr sessions on a multi-worker node. node:cluster spreads TCP connections, not requests, and one
 * session's requests come on several connections, so they reach random workers. Each session is
 * owned by one worker slot, chosen from its key (`{key}/{server}/{session}`); a worker receiving a
 * request for a session another slot owns hands it whole (method, path, headers, body, and the
 * streamed response) to the owner's private loopback listener, with the client's address in a
 * header that only that listener, given the owner's secret, believes. The owner handles it as if
 * the client had come to it, and never forwards again. See docs/protocol.md.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createContext, sendJson } from '../../platform/http-context.js';
import { Router, type HttpContext } from '../../platform/router.js';
import { DomainError, forbidden, notFound, unavailable } from '../../platform/errors.js';
import { sendError } from '../../platform/http-errors.js';

export const FORWARD_SECRET_HEADER = 'x-herald-forward-secret';
export const CLIENT_ADDRESS_HEADER = 'x-herald-client-address';

/** One worker slot's private listener, as the hub tells every worker. */
export interface ForwardPeer {
  port: number;
  secret: string;
}

/** The slot → private listener table; `null` while that slot's worker is (re)starting. */
export interface ForwardTable {
  slots: number;
  peers: Array<ForwardPeer | null>;
}

/** The slot owning a session key: FNV-1a (32 bits) mod the number of slots. Pure. */
export function ownerSlot(sessionKey: string, slots: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < sessionKey.length; i++) {
    hash ^= sessionKey.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % slots;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) and our own trusted ones never cross the private hop as given. */
const NOT_FORWARDED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'host', 'content-length', FORWARD_SECRET_HEADER, CLIENT_ADDRESS_HEADER]);

function forwardableHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !NOT_FORWARDED.has(name)) out[name] = value;
  return out;
}

/** Handles an xhr request locally, for the client at `ip`. */
export type LocalXhrHandler = (ctx: HttpContext, ip: string) => unknown;

export interface XhrForwarderOptions {
  slot: number;
  maxBodyBytes: number;
  /** Adds the xhr routes (local handlers) to a router; called once for the private listener. */
  routes(router: Router, handler: (local: LocalXhrHandler) => (ctx: HttpContext) => unknown): void;
}

export class XhrForwarder {
  /** Requests this worker handed to another worker (herald_xhr_forwarded_requests_total). */
  forwardedRequests = 0;
  private table: ForwardTable | undefined;
  private readonly secret = randomBytes(24).toString('base64url');
  /** Pooled loopback connections to the other workers' private listeners (which never time them out). */
  private readonly agent = new Agent({ keepAlive: true, maxFreeSockets: 32 });
  private server: Server | undefined;

  constructor(private readonly options: XhrForwarderOptions) {}

  /** Opens the private listener (loopback, not shared through node:cluster); resolves with what the hub must know. */
  async listen(): Promise<ForwardPeer> {
    const router = new Router();
    this.options.routes(router, (local) => (ctx) => local(ctx, ctx.req.headers[CLIENT_ADDRESS_HEADER] as string));
    // keepAliveTimeout 0: the forwarding workers' agents keep these connections; closing one as
    // they reuse it would fail a request.
    const server = createServer((req, res) => void this.servePrivate(router, req, res));
    server.keepAliveTimeout = 0;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return { port: (server.address() as AddressInfo).port, secret: this.secret };
  }

  setTable(table: ForwardTable): void {
    this.table = table;
  }

  /**
   * Routes a public request: undefined when this worker owns the session (handle it here), else the
   * forwarding (resolved once the owner's response has started streaming back).
   */
  route(ctx: HttpContext): Promise<void> | undefined {
    const table = this.table;
    if (!table || table.slots <= 1) return undefined;
    const { key, server, session } = ctx.params;
    const owner = ownerSlot(`${key}/${server}/${session}`, table.slots);
    if (owner === this.options.slot) return undefined;
    const peer = table.peers[owner];
    if (!peer) throw unavailable('The worker holding this session is restarting; retry');
    this.forwardedRequests++;
    return this.forward(ctx, peer);
  }

  close(): void {
    this.server?.close();
    this.server?.closeAllConnections();
    this.agent.destroy();
  }

  private async forward(ctx: HttpContext, peer: ForwardPeer): Promise<void> {
    const body = await ctx.body(); // bounded by maxBodyBytes, as for any request
    const { req, res } = ctx;
    const headers = forwardableHeaders(req.headers);
    headers[FORWARD_SECRET_HEADER] = peer.secret;
    headers[CLIENT_ADDRESS_HEADER] = req.socket.remoteAddress ?? 'unknown';
    headers['content-length'] = String(body.length);
    await new Promise<void>((resolve) => {
      const attempt = (retried: boolean) => {
        const upstream = request({ host: '127.0.0.1', port: peer.port, method: ctx.method, path: req.url, headers, agent: this.agent }, (answer) => {
          const out: Record<string, string | string[]> = {};
          for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined && (name === 'content-length' || !NOT_FORWARDED.has(name))) out[name] = value;
          res.writeHead(answer.statusCode ?? 502, out);
          // A streaming response must leave frame by frame.
          res.socket?.setNoDelay(true);
          res.flushHeaders();
          answer.pipe(res);
          answer.on('error', () => res.destroy());
          resolve();
        });
        upstream.on('error', (err: NodeJS.ErrnoException) => {
          // A pooled connection the owner had just closed: the request never reached it (Node's documented retry case).
          if (!retried && upstream.reusedSocket && err.code === 'ECONNRESET' && !res.headersSent && !res.destroyed) return attempt(true);
          if (!res.headersSent) sendJson(res, 502, { error: 'The worker holding this session did not answer' });
          else res.destroy();
          resolve();
        });
        // The client went away: so does the forwarded request, and the owner detaches its receiver.
        // (Only then: a finished request's socket is back in the agent's pool, serving another.)
        res.once('close', () => {
          if (!res.writableFinished) upstream.destroy();
        });
        upstream.end(body);
      };
      attempt(false);
    });
  }

  private async servePrivate(router: Router, req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (!this.trusted(req)) throw forbidden('Not a forwarded xhr request');
      const ctx = createContext(req, res, this.options.maxBodyBytes);
      const match = router.match(ctx.method, ctx.path);
      if (!match || match === 'method') throw notFound('Not found');
      ctx.params = match.params;
      await match.handler(ctx);
      if (!res.headersSent) res.writeHead(204).end();
    } catch (err) {
      if (err instanceof DomainError) sendError(res, err);
      else sendJson(res, 500, { error: 'Internal server error' });
    }
  }

  private trusted(req: IncomingMessage): boolean {
    const given = req.headers[FORWARD_SECRET_HEADER];
    const address = req.headers[CLIENT_ADDRESS_HEADER];
    if (typeof given !== 'string' || typeof address !== 'string' || address.length === 0 || address.length > 64) return false;
    const a = Buffer.from(given);
    const b = Buffer.from(this.secret);
    return a.length === b.length && timingSafeEqual(a, b);
  }
}
