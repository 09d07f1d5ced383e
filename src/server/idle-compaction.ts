/**
 * Gives memory back once the process goes idle.
 *
 * V8 grows the young generation up to 16 MB semi-spaces (32 MB) while a process allocates a lot —
 * start-up, a burst of connections or publishes — and shrinks it again only after a full
 * collection, which an idle server never triggers: the pages stay resident for as long as the node
 * runs (~20 MB of an idle node's RSS; docs/benchmarks.md, "Idle memory"). So when the process has
 * used almost no CPU over a whole check interval and its heap has grown since the last time, one
 * full collection runs (a few ms on Herald's heap), as V8's memory reducer would if anything had
 * started it. Under load nothing runs but one cpuUsage() call per interval.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface IdleCompactionOptions {
  /** How often idleness is checked (default 10 s). */
  intervalMs?: number;
  /** Share of one core below which an interval counts as idle (default 0.02 = 2 %). */
  idleShare?: number;
  /** Heap growth since the last compaction below which nothing is worth collecting (default 4 MB). */
  minHeapGrowthBytes?: number;
}

export interface IdleCompactionProbes {
  /** CPU time the process has used so far, µs. */
  cpuMicros(): number;
  /** V8 heap committed now, bytes. */
  heapBytes(): number;
  /** A full garbage collection. */
  collect(): void;
}

/** The decision, without timers: call `check()` once per interval. */
export function idleCompactor(probes: IdleCompactionProbes, options: IdleCompactionOptions = {}): { check(): boolean } {
  const intervalMs = options.intervalMs ?? 10_000;
  const idleShare = options.idleShare ?? 0.02;
  const minGrowth = options.minHeapGrowthBytes ?? 4 * 1024 * 1024;
  let lastCpu = probes.cpuMicros();
  let heapAfterCompaction = 0;
  return {
    check() {
      const cpu = probes.cpuMicros();
      const share = (cpu - lastCpu) / 1000 / intervalMs;
      lastCpu = cpu;
      if (share >= idleShare || probes.heapBytes() - heapAfterCompaction < minGrowth) return false;
      probes.collect();
      heapAfterCompaction = probes.heapBytes();
      lastCpu = probes.cpuMicros(); // the collection's own CPU is not activity
      return true;
    },
  };
}

/** Starts the checks for this process; returns a stop function. The timer never keeps it alive. */
export function startIdleCompaction(options: IdleCompactionOptions = {}): () => void {
  const collect = fullCollection();
  if (!collect) return () => undefined;
  const compactor = idleCompactor(
    {
      cpuMicros: () => {
        const { user, system } = process.cpuUsage();
        return user + system;
      },
      heapBytes: () => process.memoryUsage().heapTotal,
      collect,
    },
    options,
  );
  const timer = setInterval(() => compactor.check(), options.intervalMs ?? 10_000);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * V8's gc() without starting node with --expose-gc: with the flag set at run time, a new context
 * gets the function (it collects the whole isolate, not only that context).
 */
function fullCollection(): (() => void) | undefined {
  try {
    if (typeof globalThis.gc === 'function') return globalThis.gc as () => void;
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}
