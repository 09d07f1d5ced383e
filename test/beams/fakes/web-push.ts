/**
 * A fake Web Push service playing both the push service and the browsers behind it:
 * - `subscribe(id)` creates a browser-side subscription (P-256 key pair + 16-byte auth secret) whose
 *   endpoint is `{url}/push/{id}`, and returns it as the web SDK would encode it for Beams;
 * - `POST /push/{id}` checks the VAPID header (`vapid t=<ES256 JWT>, k=<public key>`: k must be the
 *   instance's key, the signature must verify with it, `aud` must be this origin, `exp` ≤ 24 h),
 *   then DECRYPTS the aes128gcm body (RFC 8188 framing + RFC 8291 key derivation, written here with
 *   node:crypto) and records the plaintext JSON. Subscriptions in `gone` answer 410.
 */
import { EventEmitter } from 'node:events';
import { createDecipheriv, createECDH, createPublicKey, hkdfSync, randomBytes, type ECDH } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify } from 'jose';

export interface WebDelivery {
  id: string;
  ttl: number;
  payload: Record<string, any>;
}

interface BrowserKeys {
  ecdh: ECDH;
  publicKey: Buffer;
  auth: Buffer;
}

/** RFC 8291 §3.4 + RFC 8188 §2: decrypts a single-record aes128gcm message for the user agent. */
export function decryptAes128gcm(body: Buffer, keys: BrowserKeys): Buffer {
  const salt = body.subarray(0, 16);
  const recordSize = body.readUInt32BE(16);
  const idLength = body[20]!;
  const senderPublicKey = body.subarray(21, 21 + idLength);
  const record = body.subarray(21 + idLength);
  if (idLength !== 65) throw new Error(`keyid must be the 65-byte sender key, got ${idLength} bytes`);
  if (record.length > recordSize) throw new Error('more than one record');
  const ecdhSecret = keys.ecdh.computeSecret(senderPublicKey);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), keys.publicKey, senderPublicKey]);
  const ikm = Buffer.from(hkdfSync('sha256', ecdhSecret, keys.auth, keyInfo, 32));
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(record.subarray(record.length - 16));
  const padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error('missing last-record padding delimiter 0x02');
  return padded.subarray(0, end);
}

export class FakeWebPush extends EventEmitter {
  readonly received: WebDelivery[] = [];
  readonly errors: string[] = [];
  readonly gone = new Set<string>();
  /** The instance's VAPID public key (base64url); set before deliveries are expected. */
  vapidPublicKey = '';
  url = '';
  private readonly browsers = new Map<string, BrowserKeys>();
  private readonly verifiedJwts = new Set<string>();
  private readonly server = createServer((req, res) => void this.handle(req, res));

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** A new browser subscription; returns the PushSubscription JSON and the Beams token for it. */
  subscribe(id: string): { subscription: { endpoint: string; expirationTime: null; keys: { p256dh: string; auth: string } }; token: string } {
    const ecdh = createECDH('prime256v1');
    const publicKey = ecdh.generateKeys();
    const auth = randomBytes(16);
    this.browsers.set(id, { ecdh, publicKey, auth });
    const subscription = {
      endpoint: `${this.url}/push/${encodeURIComponent(id)}`,
      expirationTime: null,
      keys: { p256dh: publicKey.toString('base64url'), auth: auth.toString('base64url') },
    };
    // What the web SDK sends: btoa(JSON.stringify(subscription)).
    return { subscription, token: Buffer.from(JSON.stringify(subscription)).toString('base64') };
  }

  private fail(res: ServerResponse, status: number, message: string): void {
    this.errors.push(message);
    res.writeHead(status).end(message);
  }

  private async checkVapid(header: string): Promise<string | undefined> {
    const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(header);
    if (!match) return 'Authorization is not "vapid t=…, k=…"';
    const [, jwt, k] = match as unknown as [string, string, string];
    if (k !== this.vapidPublicKey) return 'VAPID k is not the instance public key';
    if (this.verifiedJwts.has(jwt)) return undefined;
    const raw = Buffer.from(k, 'base64url');
    const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33, 65).toString('base64url') }, format: 'jwk' });
    try {
      const { payload } = await jwtVerify(jwt, key, { algorithms: ['ES256'], audience: this.url });
      if (typeof payload.exp !== 'number' || payload.exp > Date.now() / 1000 + 24 * 3600) return 'VAPID exp missing or beyond 24 h';
      if (typeof payload.sub !== 'string' || !/^(mailto:|https:)/.test(payload.sub)) return 'VAPID sub must be mailto: or https:';
    } catch (err) {
      return `VAPID JWT rejected: ${(err as Error).message}`;
    }
    this.verifiedJwts.add(jwt);
    return undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const match = /^\/push\/([^/]+)$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !match) return this.fail(res, 404, `unexpected ${req.method} ${req.url}`);
    const id = decodeURIComponent(match[1]!);
    if (this.gone.has(id)) return void res.writeHead(410).end();
    const keys = this.browsers.get(id);
    if (!keys) return this.fail(res, 404, `unknown subscription ${id}`);
    const vapidProblem = await this.checkVapid(String(req.headers.authorization ?? ''));
    if (vapidProblem) return this.fail(res, 401, vapidProblem);
    if (req.headers['content-encoding'] !== 'aes128gcm') return this.fail(res, 400, 'Content-Encoding must be aes128gcm');
    const ttl = Number(req.headers.ttl);
    if (!Number.isInteger(ttl) || ttl < 0) return this.fail(res, 400, 'TTL header missing');
    let payload: Record<string, any>;
    try {
      payload = JSON.parse(decryptAes128gcm(body, keys).toString('utf8'));
    } catch (err) {
      return this.fail(res, 400, `cannot decrypt: ${(err as Error).message}`);
    }
    this.received.push({ id, ttl, payload });
    res.writeHead(201).end();
    this.emit('delivery', id);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
