/**
 * Load for the scaling benchmark: raw WebSocket subscribers (in worker processes) spread
 * round-robin over the nodes, and signed HTTP publishes (POST /apps/{id}/events, keep-alive)
 * sent to the nodes in turn with a fixed number in flight. Each event carries the wall-clock
 * time it was sent (sub-millisecond); a subscriber's latency is the difference on arrival.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { signRequest } from '../../src/protocol/http-signing.js';

const WORKER = fileURLToPath(new URL('./subscriber-worker.ts', import.meta.url));

export interface App {
  id: string;
  key: string;
  secret: string;
}

/** Subscriber processes (subscriber-worker.ts), so receiving is not limited to one core. */
export class Subscribers {
  private readonly workers: ChildProcess[] = [];

  constructor(processes: number) {
    for (let i = 0; i < processes; i++) {
      this.workers.push(fork(WORKER, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    }
  }

  /** Opens `count` sockets over `ports` (round-robin) and subscribes socket i to channel i % channels. */
  async connect(ports: number[], app: App, count: number, channels: number): Promise<void> {
    const share = Math.ceil(count / this.workers.length);
    await Promise.all(
      this.workers.map((w, i) => {
        const offset = i * share;
        const mine = Math.max(0, Math.min(share, count - offset));
        return this.ask(w, { type: 'connect', ports, app, count: mine, offset, channels }, 'connected');
      }),
    );
  }

  record(on: boolean): void {
    for (const w of this.workers) w.send({ type: 'record', on });
  }

  async report(): Promise<{ deliveries: number; samples: number[] }> {
    const reports = await Promise.all(this.workers.map((w) => this.ask(w, { type: 'report' }, 'report')));
    const samples: number[] = [];
    let deliveries = 0;
    for (const r of reports as Array<{ deliveries: number; samples: number[] }>) {
      deliveries += r.deliveries;
      for (const x of r.samples) samples.push(x);
    }
    return { deliveries, samples };
  }

  close(): void {
    for (const w of this.workers) if (w.connected) w.send({ type: 'close' });
  }

  private ask(worker: ChildProcess, command: object, reply: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: { type: string; message?: string }) => {
        if (message.type === 'error') {
          worker.off('message', onMessage);
          reject(new Error(message.message));
        } else if (message.type === reply) {
          worker.off('message', onMessage);
          resolve(message);
        }
      };
      worker.on('message', onMessage);
      worker.send(command);
    });
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
    const data = `{"t":${(performance.timeOrigin + performance.now()).toFixed(3)},"pad":"${'x'.repeat(160)}"}`;
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
