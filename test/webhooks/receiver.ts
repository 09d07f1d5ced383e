/**
 * A real webhook receiver (node:http) that validates every request with the official `pusher`
 * SDK (`pusher.webhook({headers, rawBody}).isValid()`, headers lower-cased as node:http gives them)
 * and can simulate outages: answer 503, reset the connection, or stop listening altogether.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import Pusher from 'pusher';
import { withTimeout } from '../helpers/wait.js';

export interface ReceivedEvent {
  name: string;
  channel: string;
  [field: string]: unknown;
}

export interface ReceivedRequest {
  valid: boolean;
  status: number;
  headers: IncomingHttpHeaders;
  timeMs: number;
  events: ReceivedEvent[];
  /** When the receiver got it (Date.now()). */
  receivedAt: number;
}

export type ReceiverMode = 'ok' | 'fail' | 'reset';

export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];
  /** Events of requests answered 2xx, in arrival order. */
  readonly delivered: ReceivedEvent[] = [];
  mode: ReceiverMode = 'ok';
  port = 0;
  private server: Server;
  private readonly sockets = new Set<Socket>();
  private waiters: Array<() => void> = [];
  private readonly pusher: Pusher;

  private constructor(
    app: { id: string; key: string; secret: string },
    /** Other apps whose webhooks this receiver accepts (validated as extra tokens). */
    private readonly otherApps: Array<{ key: string; secret: string }>,
  ) {
    // Only webhook() is used: the host is never contacted.
    this.pusher = new Pusher({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1' });
    this.server = this.createServer();
  }

  static async start(app: { id: string; key: string; secret: string }, mode: ReceiverMode = 'ok', otherApps: Array<{ key: string; secret: string }> = []): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver(app, otherApps);
    receiver.mode = mode;
    await receiver.listen(0);
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  get invalidCount(): number {
    return this.requests.filter((r) => !r.valid).length;
  }

  /** Resolves once `check()` is true (re-checked after every request); fails after `ms`. */
  waitUntil(check: () => boolean, ms: number, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    return withTimeout(
      new Promise<void>((resolve) => {
        const waiter = () => {
          if (!check()) return;
          this.waiters = this.waiters.filter((w) => w !== waiter);
          resolve();
        };
        this.waiters.push(waiter);
      }),
      ms,
      what,
    );
  }

  /** Delivered events (2xx) matching a name/channel. */
  deliveredMatching(name: string, channel?: string): ReceivedEvent[] {
    return this.delivered.filter((e) => e.name === name && (channel === undefined || e.channel === channel));
  }

  /** Stops listening (connections refused) until `reopen()`. */
  async goDown(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
  }

  /** Listens again on the same port. */
  async reopen(): Promise<void> {
    this.server = this.createServer();
    await this.listen(this.port);
  }

  async close(): Promise<void> {
    this.waiters = [];
    if (!this.server.listening) return;
    await this.goDown();
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  private createServer(): Server {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (this.mode === 'reset') {
          req.socket.destroy();
          this.record(req.headers, Buffer.concat(chunks), 0);
          return;
        }
        const status = this.mode === 'ok' ? 200 : 503;
        res.writeHead(status, { 'Content-Type': 'text/plain' }).end(status === 200 ? 'ok' : 'down for maintenance');
        this.record(req.headers, Buffer.concat(chunks), status);
      });
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    return server;
  }

  private record(headers: IncomingHttpHeaders, body: Buffer, status: number): void {
    const rawBody = body.toString('utf8');
    const webhook = this.pusher.webhook({ headers: headers as Record<string, string>, rawBody });
    const valid = webhook.isValid(this.otherApps);
    let events: ReceivedEvent[] = [];
    let timeMs = 0;
    try {
      const parsed = JSON.parse(rawBody) as { time_ms: number; events: ReceivedEvent[] };
      events = parsed.events;
      timeMs = parsed.time_ms;
    } catch {
      /* counted as invalid */
    }
    this.requests.push({ valid, status, headers, timeMs, events, receivedAt: Date.now() });
    if (valid && status >= 200 && status < 300) this.delivered.push(...events);
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** Counts events per key and reports how many keys arrived more than once. */
export function countDuplicates(events: ReceivedEvent[], key: (e: ReceivedEvent) => string): { unique: number; duplicates: number } {
  const seen = new Map<string, number>();
  for (const e of events) seen.set(key(e), (seen.get(key(e)) ?? 0) + 1);
  let duplicates = 0;
  for (const n of seen.values()) if (n > 1) duplicates += n - 1;
  return { unique: seen.size, duplicates };
}
