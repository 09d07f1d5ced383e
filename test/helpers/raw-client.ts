/** A raw protocol-7 WebSocket client for tests that need exact frames (error paths, bad input). */
import WebSocket from 'ws';
import { withTimeout } from './wait.js';

export interface Frame {
  event: string;
  channel?: string;
  data?: any;
  user_id?: string;
}

export class RawClient {
  readonly frames: Frame[] = [];
  private waiters: Array<{ match: (f: Frame) => boolean; resolve: (f: Frame) => void }> = [];
  closeCode: number | undefined;
  closeReason = '';
  readonly closed: Promise<{ code: number; reason: string }>;
  socketId = '';

  constructor(readonly ws: WebSocket) {
    ws.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as Frame;
      if (typeof frame.data === 'string' && frame.event !== 'pusher:error') {
        try {
          frame.data = JSON.parse(frame.data);
        } catch {
          /* keep string */
        }
      }
      this.frames.push(frame);
      for (const w of [...this.waiters]) {
        if (w.match(frame)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(frame);
        }
      }
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        resolve({ code, reason: this.closeReason });
      }),
    );
  }

  static async connect(url: string): Promise<RawClient> {
    const ws = new WebSocket(url);
    const client = new RawClient(ws);
    await withTimeout(new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    }), 5000, 'websocket open');
    return client;
  }

  /** Connects and waits for pusher:connection_established. */
  static async established(baseWsUrl: string, key: string): Promise<RawClient> {
    const client = await RawClient.connect(`${baseWsUrl}/app/${key}?protocol=7&client=js&version=8.6.0&flash=false`);
    const frame = await client.waitFor((f) => f.event === 'pusher:connection_established');
    client.socketId = frame.data.socket_id;
    return client;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Resolves with the first frame (already received or future) matching. */
  waitFor(match: (f: Frame) => boolean, ms = 5000, what = 'frame'): Promise<Frame> {
    const existing = this.frames.find(match);
    if (existing) {
      this.frames.splice(this.frames.indexOf(existing), 1);
      return Promise.resolve(existing);
    }
    return withTimeout(
      new Promise<Frame>((resolve) => this.waiters.push({ match, resolve: (f) => {
        this.frames.splice(this.frames.indexOf(f), 1);
        resolve(f);
      } })),
      ms,
      what,
    );
  }

  waitEvent(event: string, channel?: string, ms = 5000): Promise<Frame> {
    return this.waitFor((f) => f.event === event && (channel === undefined || f.channel === channel), ms, `${event} ${channel ?? ''}`);
  }

  close(): void {
    this.ws.close();
  }
}
