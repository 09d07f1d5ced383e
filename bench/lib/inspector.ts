/**
 * Talks to a server node started with `--inspect=127.0.0.1:<port>` (memory scenarios only) to force
 * a full garbage collection before reading memory and to read the V8 heap size. Without it, the
 * RSS difference "idle vs 10,000 connections" is dominated by when V8 happened to collect the
 * start-up garbage, not by what the connections cost.
 */
import http from 'node:http';
import { WebSocket } from 'ws';

export interface HeapUsage {
  usedBytes: number;
  totalBytes: number;
}

function fetchJson(url: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { timeout: 5000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch (error) {
          reject(error);
        }
      });
    });
    request.on('timeout', () => request.destroy(new Error(`timeout fetching ${url}`)));
    request.on('error', reject);
  });
}

export class InspectorSession {
  private nextId = 1;
  private waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string } };
      if (message.id === undefined) return;
      const waiting = this.waiting.get(message.id);
      if (!waiting) return;
      this.waiting.delete(message.id);
      if (message.error) waiting.reject(new Error(message.error.message));
      else waiting.resolve(message.result);
    });
    socket.on('close', () => {
      for (const waiting of this.waiting.values()) waiting.reject(new Error('inspector connection closed'));
      this.waiting.clear();
    });
  }

  static async open(host: string, port: number): Promise<InspectorSession> {
    const targets = (await fetchJson(`http://${host}:${port}/json/list`)) as Array<{ webSocketDebuggerUrl?: string }>;
    const url = targets.find((t) => t.webSocketDebuggerUrl)?.webSocketDebuggerUrl;
    if (!url) throw new Error(`no inspector target on ${host}:${port}`);
    const socket = new WebSocket(url, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new InspectorSession(socket);
  }

  private call(method: string, params: object = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`inspector ${method} timed out`));
      }, 60_000);
      this.waiting.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  async collectGarbage(): Promise<void> {
    await this.call('HeapProfiler.collectGarbage');
  }

  async heapUsage(): Promise<HeapUsage> {
    const result = (await this.call('Runtime.getHeapUsage')) as { usedSize: number; totalSize: number };
    return { usedBytes: result.usedSize, totalBytes: result.totalSize };
  }

  /** Starts the sampling CPU profiler (what `--cpu-prof` does, but for a chosen stretch of time). */
  async startProfiler(samplingIntervalMicros = 200): Promise<void> {
    await this.call('Profiler.enable');
    await this.call('Profiler.setSamplingInterval', { interval: samplingIntervalMicros });
    await this.call('Profiler.start');
  }

  /** Stops the profiler; the result is a .cpuprofile document. */
  async stopProfiler(): Promise<unknown> {
    const result = (await this.call('Profiler.stop')) as { profile: unknown };
    await this.call('Profiler.disable');
    return result.profile;
  }

  close(): void {
    this.socket.close();
  }
}
