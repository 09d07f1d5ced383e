/**
 * A raw protocol-7 Pusher client for the churn and soak runs (what pusher-js sends, without its
 * reconnect logic, so every close and every frame is visible) plus client-side signing written
 * against the wire spec, independent of src/.
 */
import { createHash, createHmac } from 'node:crypto';
import WebSocket from 'ws';

export interface AppCredentials {
  id: string;
  key: string;
  secret: string;
}

export interface PusherFrame {
  event: string;
  channel?: string;
  data?: any;
  user_id?: string;
}

export function channelAuth(app: AppCredentials, socketId: string, channel: string, channelData?: string): string {
  const toSign = channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`;
  return `${app.key}:${createHmac('sha256', app.secret).update(toSign).digest('hex')}`;
}

/** The query string of a signed HTTP API request (auth_version 1.0, spec B.1). */
export function signedQuery(app: AppCredentials, method: string, path: string, body: string, extra: Record<string, string> = {}, timestamp = Math.floor(Date.now() / 1000)): string {
  const params: Record<string, string> = { ...extra, auth_key: app.key, auth_timestamp: String(timestamp), auth_version: '1.0' };
  if (body.length > 0) params.body_md5 = createHash('md5').update(body).digest('hex');
  const canonical = Object.keys(params)
    .map((k) => [k.toLowerCase(), params[k]!] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const signature = createHmac('sha256', app.secret).update(`${method}\n${path}\n${canonical}`).digest('hex');
  const encoded = Object.keys(params).map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(params[k]!)}`).join('&');
  return `${encoded}&auth_signature=${signature}`;
}

/** POSTs a signed JSON body to /apps/{id}{path}; resolves with the status and text. */
export async function signedPost(baseUrl: string, app: AppCredentials, path: string, body: unknown): Promise<{ status: number; text: string }> {
  const full = `/apps/${app.id}${path}`;
  const text = JSON.stringify(body);
  const res = await fetch(`${baseUrl}${full}?${signedQuery(app, 'POST', full, text)}`, {
    method: 'POST',
    body: text,
    headers: { 'Content-Type': 'application/json' },
  });
  return { status: res.status, text: await res.text() };
}

type Waiter = { match: (f: PusherFrame) => boolean; resolve: (f: PusherFrame) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

export class Peer {
  socketId = '';
  closeCode: number | undefined;
  readonly closed: Promise<number>;
  /** Called for every frame (after the built-in waiters). */
  onFrame: (frame: PusherFrame) => void = () => undefined;
  private waiters: Waiter[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (raw) => {
      let frame: PusherFrame;
      try {
        frame = JSON.parse(raw.toString()) as PusherFrame;
      } catch {
        frame = { event: '(unparseable)', data: raw.toString().slice(0, 200) };
      }
      if (typeof frame.data === 'string' && frame.event !== 'pusher:error') {
        try {
          frame.data = JSON.parse(frame.data);
        } catch {
          /* plain string data */
        }
      }
      for (const w of [...this.waiters]) {
        if (!w.match(frame)) continue;
        this.waiters.splice(this.waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve(frame);
      }
      this.onFrame(frame);
    });
    ws.on('error', () => undefined);
    this.closed = new Promise((done) =>
      ws.once('close', (code) => {
        this.closeCode = code;
        for (const w of this.waiters.splice(0)) {
          clearTimeout(w.timer);
          w.reject(new Error(`socket closed (${code}) while waiting`));
        }
        done(code);
      }),
    );
  }

  /** Opens /app/{key}?protocol=7 and waits for pusher:connection_established. */
  static async connect(wsUrl: string, key: string, timeoutMs = 10_000): Promise<Peer> {
    const peer = new Peer(new WebSocket(`${wsUrl}/app/${key}?protocol=7&client=js&version=8.6.0&flash=false`));
    const established = await peer.waitFor((f) => f.event === 'pusher:connection_established', timeoutMs, 'connection_established');
    peer.socketId = established.data.socket_id;
    return peer;
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(frame: unknown): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  waitFor(match: (f: PusherFrame) => boolean, timeoutMs: number, what: string): Promise<PusherFrame> {
    if (this.closeCode !== undefined) return Promise.reject(new Error(`socket closed (${this.closeCode}) before ${what}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const waiter: Waiter = { match, resolve, reject, timer };
      this.waiters.push(waiter);
    });
  }

  /** Subscribes (signing private/presence channels) and waits for subscription_succeeded. */
  async subscribe(app: AppCredentials, channel: string, userId?: string, timeoutMs = 10_000): Promise<PusherFrame> {
    const data: Record<string, string> = { channel };
    if (channel.startsWith('presence-')) {
      data.channel_data = JSON.stringify({ user_id: userId ?? this.socketId, user_info: { name: userId ?? this.socketId } });
      data.auth = channelAuth(app, this.socketId, channel, data.channel_data);
    } else if (channel.startsWith('private-')) {
      data.auth = channelAuth(app, this.socketId, channel);
    }
    const done = this.waitFor(
      (f) => (f.event === 'pusher_internal:subscription_succeeded' || f.event === 'pusher:subscription_error') && f.channel === channel,
      timeoutMs,
      `subscription_succeeded ${channel}`,
    );
    this.send({ event: 'pusher:subscribe', data });
    const frame = await done;
    if (frame.event !== 'pusher_internal:subscription_succeeded') throw new Error(`subscription to ${channel} refused: ${JSON.stringify(frame.data)}`);
    return frame;
  }

  unsubscribe(channel: string): void {
    this.send({ event: 'pusher:unsubscribe', data: { channel } });
  }

  /** Starts the close handshake and resolves once the socket is closed. */
  async close(): Promise<number> {
    if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
    const timer = setTimeout(() => this.ws.terminate(), 5000);
    const code = await this.closed;
    clearTimeout(timer);
    return code;
  }
}
