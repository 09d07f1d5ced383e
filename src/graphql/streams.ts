/**
 * A bounded async iterator for GraphQL subscriptions: producers push, graphql-js pulls. A subscriber
 * that falls `maxQueued` events behind gets one final error (as a GraphQL error in its result, not
 * a thrown iterator error, which graphql-ws would turn into closing the whole socket) and the
 * stream ends; the producer is detached as soon as the stream ends for any reason.
 */
import { ErrorCode, gqlError } from './errors.js';

/** Delivered in place of an event to end a subscription with an error. */
export class StreamFailure {
  constructor(
    readonly code: (typeof ErrorCode)[keyof typeof ErrorCode],
    readonly message: string,
  ) {}

  toError() {
    return gqlError(this.code, this.message);
  }
}

export class EventStream<T> implements AsyncIterableIterator<T | StreamFailure> {
  private readonly queue: Array<T | StreamFailure> = [];
  private waiting: ((result: IteratorResult<T | StreamFailure>) => void) | undefined;
  private ended = false;
  private finishing = false;

  constructor(
    private readonly maxQueued: number,
    private readonly detach: () => void,
  ) {}

  get closed(): boolean {
    return this.ended || this.finishing;
  }

  push(value: T): void {
    if (this.closed) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value, done: false });
      return;
    }
    if (this.queue.length >= this.maxQueued) {
      this.fail(new StreamFailure(ErrorCode.RateLimited, `Subscription ended: the client fell more than ${this.maxQueued} events behind`));
      return;
    }
    this.queue.push(value);
  }

  /** Delivers `failure` after what is queued, then ends the stream. */
  fail(failure: StreamFailure): void {
    if (this.closed) return;
    this.finishing = true;
    this.detach();
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value: failure, done: false });
      return;
    }
    this.queue.push(failure);
  }

  next(): Promise<IteratorResult<T | StreamFailure>> {
    const value = this.queue.shift();
    if (value !== undefined) return Promise.resolve({ value, done: false });
    if (this.ended || this.finishing) {
      this.end();
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<T | StreamFailure>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(): Promise<IteratorResult<T | StreamFailure>> {
    return this.return();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.queue.length = 0;
    if (!this.finishing) this.detach();
    const resolve = this.waiting;
    this.waiting = undefined;
    resolve?.({ value: undefined, done: true });
  }
}
