/** Awaiting events in tests without sleeps: every wait has a timeout guard that fails loudly. */
import type { EventEmitter } from 'node:events';

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves with the first payload passed to `bind(event)` on a pusher-js channel/connection/client. */
export function nextEvent<T = unknown>(
  target: { bind(event: string, cb: (...args: any[]) => void): unknown; unbind(event: string, cb: (...args: any[]) => void): unknown },
  event: string,
  ms = 5000,
): Promise<T> {
  return withTimeout(
    new Promise<T>((resolve) => {
      const handler = (data: T) => {
        target.unbind(event, handler);
        resolve(data);
      };
      target.bind(event, handler);
    }),
    ms,
    `event ${event}`,
  );
}

export function once<T = unknown>(emitter: EventEmitter, event: string, ms = 5000): Promise<T> {
  return withTimeout(new Promise<T>((resolve) => emitter.once(event, (v: T) => resolve(v))), ms, `event ${event}`);
}

/** Polls `check` on every macrotask until it returns truthy (for state visible only through an API). */
export async function eventually<T>(check: () => T | Promise<T>, ms = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
