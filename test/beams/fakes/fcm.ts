/**
 * A fake FCM: the OAuth token endpoint (`POST /token`, RFC 7523 JWT-bearer grant; the RS256
 * assertion is verified against the service account's public key, with iss/aud/scope checked) and
 * the HTTP v1 send endpoint (`POST /v1/projects/{project}/messages:send`, bearer token must be one
 * it issued; data values must be strings as in the real API). Tokens in `unregistered` → 404.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, type KeyObject } from 'node:crypto';
import { jwtVerify } from 'jose';

export interface FcmDelivery {
  token: string;
  message: Record<string, any>;
}

export class FakeFcm extends EventEmitter {
  readonly received: FcmDelivery[] = [];
  readonly errors: string[] = [];
  readonly unregistered = new Set<string>();
  tokenRequests = 0;
  url = '';
  private readonly accessTokens = new Set<string>();
  private readonly server = createServer((req, res) => void this.handle(req, res));
  private account?: { projectId: string; clientEmail: string; publicKey: KeyObject };

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  get tokenUri(): string {
    return `${this.url}/token`;
  }

  /** The service account whose assertions are accepted. */
  trust(projectId: string, clientEmail: string, publicKey: KeyObject): void {
    this.account = { projectId, clientEmail, publicKey };
  }

  private send(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
  }

  private error(res: ServerResponse, status: number, message: string, errorCode?: string): void {
    if (!errorCode) this.errors.push(message);
    this.send(res, status, {
      error: { code: status, message, status: errorCode === 'UNREGISTERED' ? 'NOT_FOUND' : 'INVALID_ARGUMENT', details: errorCode ? [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }] : [] },
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    if (req.method === 'POST' && req.url === '/token') return this.token(text, req, res);
    const match = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !match) return this.error(res, 404, `unexpected ${req.method} ${req.url}`);
    if (match[1] !== this.account?.projectId) return this.error(res, 404, `unknown project ${match[1]}`);
    const bearer = /^Bearer (\S+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    if (!bearer || !this.accessTokens.has(bearer)) return this.error(res, 401, 'invalid access token');
    let body: { message?: Record<string, any> };
    try {
      body = JSON.parse(text);
    } catch {
      return this.error(res, 400, 'body is not JSON');
    }
    const message = body.message;
    if (!message || typeof message.token !== 'string') return this.error(res, 400, 'message.token missing');
    for (const [k, v] of Object.entries(message.data ?? {})) if (typeof v !== 'string') return this.error(res, 400, `data.${k} is not a string`);
    if (this.unregistered.has(message.token)) return this.error(res, 404, 'Requested entity was not found.', 'UNREGISTERED');
    this.received.push({ token: message.token, message });
    this.send(res, 200, { name: `projects/${match[1]}/messages/${randomBytes(8).toString('hex')}` });
    this.emit('delivery', message.token);
  }

  private async token(text: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.tokenRequests++;
    const form = new URLSearchParams(text);
    if (!String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded')) return this.error(res, 400, 'token: wrong content type');
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return this.error(res, 400, 'token: wrong grant_type');
    if (!this.account) return this.error(res, 400, 'token: no trusted service account');
    try {
      const { payload } = await jwtVerify(form.get('assertion') ?? '', this.account.publicKey, {
        algorithms: ['RS256'],
        issuer: this.account.clientEmail,
        audience: this.tokenUri,
      });
      if (payload.scope !== 'https://www.googleapis.com/auth/firebase.messaging') throw new Error('scope');
      if (typeof payload.exp !== 'number' || typeof payload.iat !== 'number' || payload.exp - payload.iat > 3600) throw new Error('lifetime');
    } catch (err) {
      return this.error(res, 400, `token: invalid assertion (${(err as Error).message})`);
    }
    const accessToken = `ya29.${randomBytes(24).toString('base64url')}`;
    this.accessTokens.add(accessToken);
    this.send(res, 200, { access_token: accessToken, expires_in: 3599, token_type: 'Bearer' });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
