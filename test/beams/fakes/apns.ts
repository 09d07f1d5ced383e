/**
 * A fake APNs: an HTTP/2 server without TLS (h2c, which node:http2's client speaks for http://
 * URLs). It checks what Apple checks — the ES256 provider JWT against the instance's key (kid,
 * iss = team id), the /3/device/{token} path, apns-topic and apns-push-type — and records each
 * notification. Tokens in `unregistered` answer 410, in `badTokens` 400 BadDeviceToken.
 */
import http2 from 'node:http2';
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { jwtVerify } from 'jose';
import type { ApnsCredentials } from './keys.js';

export interface ApnsDelivery {
  token: string;
  headers: Record<string, string>;
  body: Record<string, any>;
}

export class FakeApns extends EventEmitter {
  readonly received: ApnsDelivery[] = [];
  readonly errors: string[] = [];
  readonly unregistered = new Set<string>();
  readonly badTokens = new Set<string>();
  /** While set, responses wait for it (to hold requests in flight). */
  gate?: Promise<void>;
  private readonly verifiedTokens = new Set<string>();
  private readonly server = http2.createServer();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  url = '';

  constructor(private readonly credentials: ApnsCredentials) {
    super();
    this.server.on('stream', (stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => void this.handle(stream, headers, Buffer.concat(chunks).toString('utf8')));
      stream.on('error', () => undefined);
    });
    this.server.on('sessionError', () => undefined);
    this.server.on('session', (session) => {
      this.sessions.add(session);
      session.on('close', () => this.sessions.delete(session));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  private reply(stream: http2.ServerHttp2Stream, status: number, reason?: string): void {
    if (stream.destroyed || stream.closed) return;
    stream.respond({ ':status': status, 'apns-id': crypto.randomUUID() });
    stream.end(reason ? JSON.stringify({ reason }) : undefined);
  }

  private async handle(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, text: string): Promise<void> {
    this.emit('request');
    if (this.gate) await this.gate;
    const fail = (status: number, reason: string) => {
      this.errors.push(reason);
      this.reply(stream, status, reason);
    };
    const path = String(headers[':path']);
    const match = /^\/3\/device\/([0-9a-fA-F]+)$/.exec(path);
    if (headers[':method'] !== 'POST' || !match) return fail(404, `BadPath ${path}`);
    const token = match[1]!;
    const auth = String(headers.authorization ?? '');
    if (!auth.startsWith('bearer ')) return fail(403, 'MissingProviderToken');
    const jwt = auth.slice(7);
    if (!this.verifiedTokens.has(jwt)) {
      try {
        const { payload, protectedHeader } = await jwtVerify(jwt, this.credentials.publicKey, { algorithms: ['ES256'] });
        if (protectedHeader.kid !== this.credentials.keyId) throw new Error('kid');
        if (payload.iss !== this.credentials.teamId) throw new Error('iss');
        if (typeof payload.iat !== 'number' || Math.abs(payload.iat - Date.now() / 1000) > 3600) throw new Error('iat');
        this.verifiedTokens.add(jwt);
      } catch (err) {
        return fail(403, `InvalidProviderToken (${(err as Error).message})`);
      }
    }
    if (headers['apns-topic'] !== this.credentials.topic) return fail(400, `BadTopic ${headers['apns-topic']}`);
    if (headers['apns-push-type'] !== 'alert' && headers['apns-push-type'] !== 'background') return fail(400, 'InvalidPushType');
    let body: Record<string, any>;
    try {
      body = JSON.parse(text);
    } catch {
      return fail(400, 'PayloadEmpty');
    }
    if (this.unregistered.has(token)) return this.reply(stream, 410, 'Unregistered');
    if (this.badTokens.has(token)) return this.reply(stream, 400, 'BadDeviceToken');
    const plainHeaders: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) if (!k.startsWith(':')) plainHeaders[k] = String(v);
    this.received.push({ token, headers: plainHeaders, body });
    this.reply(stream, 200);
    this.emit('delivery', token);
  }

  async close(): Promise<void> {
    for (const session of this.sessions) session.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
