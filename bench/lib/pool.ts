/** Runner side of the generator processes: starts them and sends commands over IPC. */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { spawnNode, terminate } from './spawn.js';
import type { ProgressReport, ReplyEnvelope, RequestEnvelope, WorkerCommand } from './messages.js';

const WORKER_SCRIPT = fileURLToPath(new URL('./worker.ts', import.meta.url));

interface Waiting {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

export class WorkerPool {
  private nextId = 1;
  private waiting = new Map<number, Waiting>();
  private progressListener: ((worker: number, report: ProgressReport) => void) | undefined;

  private constructor(private readonly children: ChildProcess[]) {
    children.forEach((child, index) => {
      child.on('message', (message: ReplyEnvelope | ProgressReport) => {
        if ('type' in message && message.type === 'progress') {
          this.progressListener?.(index, message);
          return;
        }
        const reply = message as ReplyEnvelope;
        const waiting = this.waiting.get(reply.id);
        if (!waiting) return;
        this.waiting.delete(reply.id);
        if (reply.ok) waiting.resolve(reply.result);
        else waiting.reject(new Error(`generator ${index}: ${reply.error}`));
      });
      child.on('exit', (code, signal) => {
        const error = new Error(`generator ${index} exited (${code ?? signal})`);
        for (const waiting of this.waiting.values()) waiting.reject(error);
        this.waiting.clear();
      });
    });
  }

  static async start(count: number, root: string): Promise<WorkerPool> {
    const children: ChildProcess[] = [];
    for (let i = 0; i < count; i++) {
      children.push(
        spawnNode({
          nodeArgs: ['--import', 'tsx'],
          script: WORKER_SCRIPT,
          args: [],
          cwd: root,
          env: { ...process.env },
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        }),
      );
    }
    const pool = new WorkerPool(children);
    // An empty command as a readiness check: tsx has loaded the worker when it answers.
    await pool.all(() => ({ type: 'progress', intervalMs: 0 }));
    return pool;
  }

  get size(): number {
    return this.children.length;
  }

  get pids(): number[] {
    return this.children.flatMap((child) => (child.pid === undefined ? [] : [child.pid]));
  }

  onProgress(listener: ((worker: number, report: ProgressReport) => void) | undefined): void {
    this.progressListener = listener;
  }

  call<T>(worker: number, command: WorkerCommand): Promise<T> {
    const child = this.children[worker];
    if (child === undefined) return Promise.reject(new Error(`no generator worker ${worker} (the pool has ${this.children.length})`));
    return new Promise<T>((resolve, reject) => {
      const id = this.nextId++;
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      const envelope: RequestEnvelope = { id, command };
      child.send(envelope, (error) => {
        if (error) {
          this.waiting.delete(id);
          reject(error);
        }
      });
    });
  }

  /** Sends each worker its own command (built from its index) and waits for all replies. */
  all<T>(commandFor: (worker: number) => WorkerCommand): Promise<T[]> {
    return Promise.all(this.children.map((_, index) => this.call<T>(index, commandFor(index))));
  }

  async stop(): Promise<void> {
    try {
      await Promise.race([this.all(() => ({ type: 'close' })), new Promise((resolve) => setTimeout(resolve, 20_000))]);
    } catch {
      /* a generator that already died has nothing to close */
    }
    await Promise.all(this.children.map((child) => terminate(child, 5000)));
  }
}
