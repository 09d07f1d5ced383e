/**
 * Dependencies that are not up yet at start (PostgreSQL, Redis, NATS — often started alongside
 * Herald by compose or an orchestrator): each connection attempt that fails is logged once, on one
 * line saying what, where and when the next try is, and retried with exponential back-off. With a
 * limit (HERALD_STARTUP_TIMEOUT_MS) the start fails with StartupTimeoutError once it has passed;
 * `herald start` then exits with EXIT_STARTUP_TIMEOUT.
 */
import type { Logger } from './logger.js';

/** Exit code of `herald start` when a dependency stayed unreachable for the whole startup timeout. */
export const EXIT_STARTUP_TIMEOUT = 3;

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 10_000;

export class StartupTimeoutError extends Error {
  constructor(
    readonly dependency: string,
    readonly where: string,
    readonly waitedMs: number,
    readonly lastError: string,
  ) {
    super(
      `${dependency} at ${where} was still unreachable after ${Math.round(waitedMs / 1000)} s (HERALD_STARTUP_TIMEOUT_MS); last error: ${lastError}. ` +
        `Check that it is running and reachable from this host, or raise HERALD_STARTUP_TIMEOUT_MS (0 waits forever).`,
    );
    this.name = 'StartupTimeoutError';
  }
}

export interface StartupRetryOptions {
  /** What is being connected to, e.g. "Redis". */
  dependency: string;
  /** Where, without credentials, e.g. "redis://cache:6379". */
  where: string;
  logger: Logger;
  /** Give up after this many ms (0 or undefined: never). */
  timeoutMs?: number;
  /** Stops retrying (shutdown during start): the last error is thrown. */
  cancelled?: () => boolean;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs `attempt` until it succeeds, logging and backing off between failures. */
export async function retryUntilConnected<T>(attempt: () => Promise<T>, options: StartupRetryOptions): Promise<T> {
  const started = Date.now();
  const limit = options.timeoutMs && options.timeoutMs > 0 ? options.timeoutMs : Infinity;
  let delay = FIRST_DELAY_MS;
  for (let n = 1; ; n++) {
    try {
      const result = await attempt();
      if (n > 1) options.logger.info({ dependency: options.dependency, at: options.where, attempts: n }, `${options.dependency} at ${options.where} reached after ${n} attempts`);
      return result;
    } catch (err) {
      const message = (err as Error).message || String(err);
      const waited = Date.now() - started;
      if (options.cancelled?.()) throw err;
      if (waited >= limit) throw new StartupTimeoutError(options.dependency, options.where, waited, message);
      // Jitter spreads the retries of many nodes started together.
      const wait = Math.min(Math.round(delay * (0.8 + Math.random() * 0.4)), MAX_DELAY_MS, limit - waited);
      options.logger.warn(
        { dependency: options.dependency, at: options.where, attempt: n, retryInMs: wait, err: message },
        `${options.dependency} at ${options.where} unreachable (${message}); attempt ${n} failed, next try in ${(wait / 1000).toFixed(1)} s`,
      );
      await sleep(wait);
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    }
  }
}
