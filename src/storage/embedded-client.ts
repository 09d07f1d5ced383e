/**
 * The main-thread end of the embedded store's worker (embedded-worker.mjs): sends requests, matches
 * replies by id, rebuilds PGlite errors (message, code, detail…) as Error objects, and turns the
 * worker's end — asked for by close() or not — into clear rejections instead of hangs.
 */
import { Worker } from 'node:worker_threads';

const WORKER_URL = new URL('./embedded-worker.mjs', import.meta.url);

/** Raised for requests the store can no longer answer; `code` tells closed from crashed. */
export class EmbeddedStoreError extends Error {
  constructor(
    message: string,
    readonly code: 'EMBEDDED_STORE_CLOSED' | 'EMBEDDED_STORE_CRASHED',
  ) {
    super(message);
    this.name = 'EmbeddedStoreError';
  }
}

interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  fields: Record<string, string | number | boolean>;
}

type Reply = { id: number; ok: true; rows?: unknown[] } | { id: number; ok: false; error: SerializedError };

type Request = { op: 'open' } | { op: 'query'; sql: string; params: unknown[] } | { op: 'close' };

interface Pending {
  resolve(rows: unknown[]): void;
  reject(err: Error): void;
}

/** Rebuilds a worker-side error: same name, message and fields (so `err.code === '23505'` still works). */
function reviveError(serialized: SerializedError): Error {
  const err = new Error(serialized.message) as Error & Record<string, unknown>;
  for (const [key, value] of Object.entries(serialized.fields)) {
    if (key !== 'message' && key !== 'stack') err[key] = value;
  }
  err.name = serialized.name;
  if (serialized.stack) err.stack = `${err.stack}\n    --- in the embedded store worker ---\n${serialized.stack}`;
  return err;
}

export interface EmbeddedWorkerOptions {
  dataDir: string | null;
  /** Called once if the worker ends without close() (WASM abort, uncaught error, terminated). */
  onCrash?(err: Error): void;
}

export class EmbeddedWorkerClient {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Set once the store can no longer answer: every later request rejects with it. */
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;
  private crashReason: Error | undefined;
  /** Resolves when the thread has ended (and PGlite with it). */
  readonly exited: Promise<number>;

  constructor(private readonly options: EmbeddedWorkerOptions) {
    // execArgv []: loaders such as tsx's `--import` are not needed by the plain-JS worker and only slow its start.
    // A 1 MB young generation (default up to 16 MB per semi-space): the thread allocates little
    // between its occasional queries, and the default would stay resident for nothing (~10 MB).
    this.worker = new Worker(WORKER_URL, { workerData: { dataDir: options.dataDir }, execArgv: [], resourceLimits: { maxYoungGenerationSizeMb: 1 } });
    this.worker.on('message', (reply: Reply) => this.onReply(reply));
    // Without an 'error' listener, an uncaught exception in the worker would be rethrown on the main thread.
    this.worker.on('error', (err: Error) => {
      this.crashReason ??= err;
    });
    this.worker.on('messageerror', (err: Error) => {
      // A reply that cannot be deserialized cannot be matched to its request: stop rather than hang.
      this.crashReason ??= err;
      void this.worker.terminate();
    });
    this.exited = new Promise((resolve) => this.worker.once('exit', (code: number) => {
      this.onExit(code);
      resolve(code);
    }));
  }

  /** Opens PGlite in the worker; rejects (and ends the worker) if it cannot. */
  async open(): Promise<void> {
    try {
      await this.request({ op: 'open' });
    } catch (err) {
      this.failure ??= new EmbeddedStoreError('the embedded store failed to open', 'EMBEDDED_STORE_CLOSED');
      await this.worker.terminate();
      throw err;
    }
  }

  query(sql: string, params: unknown[]): Promise<unknown[]> {
    return this.request({ op: 'query', sql, params });
  }

  /**
   * Closes PGlite in the worker, then ends the thread. Requests sent before keep their answers (the
   * worker handles them first); later ones reject. Resolves once the thread is gone, so the data
   * directory can be opened again.
   */
  close(timeoutMs = 30_000): Promise<void> {
    this.closing ??= (async () => {
      const closed = this.request({ op: 'close' }).then(
        () => undefined,
        () => undefined, // already crashed or a failed close: ending the thread is all that is left
      );
      this.failure ??= new EmbeddedStoreError('the embedded store is closed', 'EMBEDDED_STORE_CLOSED');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
      await this.worker.terminate();
      await this.exited;
    })();
    return this.closing;
  }

  get failed(): Error | undefined {
    return this.failure;
  }

  /** For tests: the thread itself (to simulate a crash). */
  get thread(): Worker {
    return this.worker;
  }

  private request(request: Request): Promise<unknown[]> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<unknown[]>((resolve, reject) => {
      try {
        this.worker.postMessage({ ...request, id });
      } catch (err) {
        // Structured clone refused a parameter (a function, a symbol, a class instance with methods…).
        reject(new Error(`embedded store: cannot send the query parameters to the worker: ${(err as Error).message}`));
        return;
      }
      this.pending.set(id, { resolve, reject });
      this.updateRef();
    });
  }

  private onReply(reply: Reply): void {
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.pending.delete(reply.id);
    this.updateRef();
    if (reply.ok) pending.resolve(reply.rows ?? []);
    else pending.reject(reviveError(reply.error));
  }

  private onExit(code: number): void {
    const expected = this.failure !== undefined;
    if (!expected) {
      const why = this.crashReason ? `: ${this.crashReason.message}` : '';
      this.failure = new EmbeddedStoreError(`the embedded store worker stopped unexpectedly (exit code ${code})${why}`, 'EMBEDDED_STORE_CRASHED');
    }
    const failure = this.failure as Error;
    for (const pending of this.pending.values()) pending.reject(failure);
    this.pending.clear();
    if (!expected) this.options.onCrash?.(failure);
  }

  /**
   * An idle worker must not keep the process alive (a forgotten close() would hang exit), but one
   * with requests in flight must (a script awaiting a query has nothing else holding the loop).
   */
  private updateRef(): void {
    if (this.pending.size > 0 || this.closing) this.worker.ref();
    else this.worker.unref();
  }
}
