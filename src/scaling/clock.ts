/**
 * Time and randomness as the engine and the cluster backends see them. Production uses the
 * system's; unit tests pass a manual clock to drive throttles, deadlines, heartbeats and reapers
 * without real timers.
 */

export interface TimerHandle {
  /** Lets the process exit while the timer is pending (no-op for manual clocks). */
  unref?(): unknown;
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle | undefined): void;
  /** Uniform in [0, 1). */
  random(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
  setInterval: (fn, ms) => {
    const t = setInterval(fn, ms);
    t.unref();
    return t;
  },
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout | undefined),
  random: () => Math.random(),
};

/** A clock that moves only when told to (tests): `advance(ms)` fires what falls due, in order. */
export class ManualClock implements Clock {
  private time: number;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void; every: number }>();
  private readonly randoms: number[];
  private seed: number;

  /** `randoms` are returned first; then a deterministic sequence (seeded by `start`). */
  constructor(start = 1_000_000, randoms: number[] = []) {
    this.time = start;
    this.randoms = randoms;
    this.seed = (start % 2147483646) + 1;
  }

  now(): number {
    return this.time;
  }

  random(): number {
    if (this.randoms.length) return this.randoms.shift()!;
    this.seed = (this.seed * 48271) % 2147483647;
    return (this.seed - 1) / 2147483646;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    this.timers.set(id, { at: this.time + Math.max(0, ms), fn, every: 0 });
    return { id } as TimerHandle;
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    this.timers.set(id, { at: this.time + Math.max(1, ms), fn, every: Math.max(1, ms) });
    return { id } as TimerHandle;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle) this.timers.delete((handle as { id: number }).id);
  }

  clearInterval(handle: TimerHandle | undefined): void {
    this.clearTimeout(handle);
  }

  /** Pending timers (tests assert that nothing is left behind). */
  get pending(): number {
    return this.timers.size;
  }

  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let nextId = 0;
      let next: { at: number; fn: () => void; every: number } | undefined;
      for (const [id, timer] of this.timers) if (timer.at <= end && (!next || timer.at < next.at)) [nextId, next] = [id, timer];
      if (!next) break;
      this.time = next.at;
      if (next.every) next.at += next.every;
      else this.timers.delete(nextId);
      next.fn();
    }
    this.time = end;
  }
}
