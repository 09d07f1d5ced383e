/**
 * Request/response and one-way notices over a node:cluster IPC channel (the primary's side of a
 * worker, or a worker's `process`). Messages are plain objects sent with `serialization:
 * 'advanced'` (structured clone), so store rows keep their Dates, Buffers and BigInts.
 *
 * A peer whose other end goes away fails its pending requests with WORKER_IPC_CLOSED.
 */
import { DomainError, type ErrorKind } from './errors.js';

/** What both `cluster.Worker` and a worker's `process` offer. */
export interface IpcEndpoint {
  /** With a callback, a failed send (the other process exiting) is reported there, not as an 'error' event. */
  send(message: unknown, callback?: (error: Error | null) => void): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

export type IpcHandler = (args: unknown) => unknown;

type Frame =
  | { herald: 1; kind: 'request'; id: number; op: string; args: unknown }
  | { herald: 1; kind: 'response'; id: number; ok: true; value: unknown }
  | { herald: 1; kind: 'response'; id: number; ok: false; error: SerializedError }
  | { herald: 1; kind: 'notice'; op: string; args: unknown };

export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  /** A DomainError's kind (and Beams title), so a refusal (bad input, quota) stays one across the channel. */
  kind?: ErrorKind;
  title?: string;
}

/** Most requests one peer keeps waiting at once: beyond it the caller is failing faster than it is answered. */
const MAX_PENDING = 100_000;

export class IpcClosedError extends Error {
  readonly code = 'WORKER_IPC_CLOSED';
}

export class IpcPeer {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>();
  private readonly handlers = new Map<string, IpcHandler>();
  private closed: Error | undefined;
  /** Turns a serialized error back into the caller's error type (DomainError when it has a kind). */
  reviveError: (error: SerializedError) => Error = defaultRevive;

  constructor(private readonly endpoint: IpcEndpoint) {
    endpoint.on('message', (message) => this.receive(message));
  }

  /** Answers requests (and notices) named `op`; a thrown error or rejection is sent back. */
  handle(op: string, handler: IpcHandler): void {
    this.handlers.set(op, handler);
  }

  /** Sends a request; with `timeoutMs`, rejects with WORKER_IPC_TIMEOUT when no answer came in time. */
  request<T>(op: string, args?: unknown, timeoutMs?: number): Promise<T> {
    if (this.closed) return Promise.reject(this.closed);
    if (this.pending.size >= MAX_PENDING) return Promise.reject(new IpcClosedError(`too many IPC requests waiting (${MAX_PENDING})`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      if (timeoutMs !== undefined) {
        setTimeout(() => {
          if (!this.pending.delete(id)) return;
          reject(Object.assign(new Error(`no answer to ${op} within ${timeoutMs} ms`), { code: 'WORKER_IPC_TIMEOUT' }));
        }, timeoutMs).unref();
      }
      this.post({ herald: 1, kind: 'request', id, op, args });
    });
  }

  notify(op: string, args?: unknown): void {
    if (!this.closed) this.post({ herald: 1, kind: 'notice', op, args });
  }

  /** The other end is gone: pending and later requests fail with `reason`. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = new IpcClosedError(reason);
    for (const waiter of this.pending.values()) waiter.reject(this.closed);
    this.pending.clear();
  }

  get size(): number {
    return this.pending.size;
  }

  private post(frame: Frame): void {
    // The channel can close under us (the other process is exiting): synchronously (a throw) or
    // asynchronously (EPIPE). Without the callback, Node would emit the latter as an 'error' event
    // on the worker, which nobody handles: a supervisor stopping its workers would crash.
    const failed = (err: Error) => {
      if (frame.kind !== 'request') return;
      this.pending.get(frame.id)?.reject(new IpcClosedError(err.message));
      this.pending.delete(frame.id);
    };
    try {
      this.endpoint.send(frame, (err) => {
        if (err) failed(err);
      });
    } catch (err) {
      failed(err as Error);
    }
  }

  private receive(message: unknown): void {
    const frame = message as Frame | null;
    if (!frame || typeof frame !== 'object' || frame.herald !== 1) return; // node:cluster's own messages
    if (frame.kind === 'response') {
      const waiter = this.pending.get(frame.id);
      if (!waiter) return;
      this.pending.delete(frame.id);
      if (frame.ok) waiter.resolve(frame.value);
      else waiter.reject(this.reviveError(frame.error));
      return;
    }
    const handler = this.handlers.get(frame.op);
    if (frame.kind === 'notice') {
      try {
        handler?.(frame.args);
      } catch {
        /* a notice has nobody to answer */
      }
      return;
    }
    if (!handler) return this.answer(frame.id, undefined, new Error(`unknown IPC request ${frame.op}`));
    let result: unknown;
    try {
      result = handler(frame.args);
    } catch (err) {
      return this.answer(frame.id, undefined, err);
    }
    if (result instanceof Promise) result.then((value) => this.answer(frame.id, value), (err: unknown) => this.answer(frame.id, undefined, err ?? new Error('rejected')));
    else this.answer(frame.id, result);
  }

  private answer(id: number, value: unknown, err?: unknown): void {
    if (this.closed) return;
    if (err === undefined) this.post({ herald: 1, kind: 'response', id, ok: true, value });
    else this.post({ herald: 1, kind: 'response', id, ok: false, error: serializeError(err) });
  }
}

export function serializeError(err: unknown): SerializedError {
  const e = err as { name?: unknown; message?: unknown; code?: unknown };
  const out: SerializedError = { name: typeof e?.name === 'string' ? e.name : 'Error', message: typeof e?.message === 'string' ? e.message : String(err) };
  if (typeof e?.code === 'string') out.code = e.code;
  if (err instanceof DomainError) {
    out.kind = err.kind;
    if (err.title !== undefined) out.title = err.title;
  }
  return out;
}

function defaultRevive(error: SerializedError): Error {
  if (error.kind !== undefined) return new DomainError(error.kind, error.message, { code: error.code, title: error.title });
  const err = new Error(error.message) as Error & { code?: string };
  err.name = error.name;
  if (error.code !== undefined) err.code = error.code;
  return err;
}
