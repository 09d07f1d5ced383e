/**
 * Load for the scaling benchmark, in one process: raw WebSocket subscribers spread round-robin
 * over the nodes, and signed HTTP publishes (POST /apps/{id}/events, keep-alive) sent to the
 * nodes in turn with a fixed number in flight. Each event carries `performance.now()` at
 * sending; a subscriber's latency is the difference on arrival (one process, one clock).
 */
import { Agent, request } from 'node:http';
import { createHash } from 'node:crypto';
import WebSocket from 'ws';
import { signRequest } from '../../src/protocol/http-signing.js';

export interface App {
  id: string;
  key: string;
  secret: string;
}

export class Subscribers {
  deliveries = 0;
  /** Latency samples in ms (every delivery while recording). */
  samples: number[] = [];
  recording = false;
  private readonly sockets: WebSocket[] = [];

  /** Opens `count` sockets over `ports` and subscribes socket i to channel i % channels. */
  async connect(ports: number[], app: App, count: number, channels: number): Promise<void> {
    const batch = 50;
    for (let start = 0; start < count; start += batch) {
      await Promise.all(
        Array.from({ length: Math.min(batch, count - start) }, (_, k) => this.open(ports[(start + k) % ports.length]!, app, `bench-${(start + k) % channels}`)),
      );
    }
  }

  private open(port: number, app: App, channel: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/app/${app.key}?protocol=7&client=bench&version=1`);
      this.sockets.push(ws);
      const timer = setTimeout(() => reject(new Error('subscribe timed out')), 30_000);
      ws.on('error', reject);
      ws.on('message', (raw: Buffer) => {
        const text = raw.toString('utf8');
        const at = text.indexOf('"t\\":');
        if (at >= 0) {
          this.deliveries++;
          if (this.recording) this.samples.push(performance.now() - Number.parseFloat(text.slice(at + 5)));
          return;
        }
        if (text.includes('pusher:connection_established')) ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel } }));
        else if (text.includes('subscription_succeeded')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }

  close(): void {
    for (const ws of this.sockets) ws.terminate();
  }
}

export class Publisher {
  published = 0;
  failed = 0;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  private running = false;
  private next = 0;

  constructor(
    private readonly ports: number[],
    private readonly app: App,
    private readonly channels: number,
  ) {}

  /** Keeps `inFlight` publishes going until stop(); each goes to the next node in turn. */
  start(inFlight: number): Promise<void> {
    this.running = true;
    return Promise.all(Array.from({ length: inFlight }, () => this.loop())).then(() => undefined);
  }

  stop(): void {
    this.running = false;
  }

  close(): void {
    this.agent.destroy();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const n = this.next++;
      try {
        await this.publish(this.ports[n % this.ports.length]!, `bench-${n % this.channels}`);
        this.published++;
      } catch {
        this.failed++;
      }
    }
  }

  private publish(port: number, channel: string): Promise<void> {
    // `t` is read back by the subscribers; the padding makes a realistic ~200-byte payload.
    const data = `{"t":${performance.now().toFixed(3)},"pad":"${'x'.repeat(160)}"}`;
    const body = JSON.stringify({ name: 'tick', channel, data });
    const path = `/apps/${this.app.id}/events`;
    const query: Array<[string, string]> = [
      ['auth_key', this.app.key],
      ['auth_timestamp', String(Math.floor(Date.now() / 1000))],
      ['auth_version', '1.0'],
      ['body_md5', createHash('md5').update(body).digest('hex')],
    ];
    query.push(['auth_signature', signRequest(this.app.secret, 'POST', path, query)]);
    const qs = query.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
    return new Promise((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path: `${path}?${qs}`, method: 'POST', agent: this.agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
