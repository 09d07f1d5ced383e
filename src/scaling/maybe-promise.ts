/**
 * Values that are plain on the in-memory backends and promises on networked ones. The engine
 * continues synchronously when a backend answers with a plain value, so a single node's hot path
 * never waits for a microtask, and the same code runs unchanged against Redis, NATS or IPC.
 */

export type MaybePromise<T> = T | Promise<T>;

export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** `fn(value)` now when `value` is plain, after it resolves when it is a promise. */
export function andThen<T, R>(value: MaybePromise<T>, fn: (value: T) => MaybePromise<R>): MaybePromise<R> {
  return isPromise(value) ? value.then(fn) : fn(value);
}

/** Runs `step` and reports a thrown error or a rejection to `onError`; never throws or rejects. */
export function settle(step: () => MaybePromise<void>, onError: (err: unknown) => void): MaybePromise<void> {
  try {
    const result = step();
    return isPromise(result) ? result.catch(onError) : undefined;
  } catch (err) {
    onError(err);
    return undefined;
  }
}
