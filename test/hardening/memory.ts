/**
 * Heap measurement for the hardening tests. The test runner does not start Node with --expose-gc,
 * so the flag is set at run time and `gc` is taken from a fresh V8 context (the flag only applies
 * to contexts created after it is set). Two passes: the first one queues finalizers and weak
 * callbacks, the second collects what they released.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** V8 heap in use after a full collection, in bytes. */
export async function heapAfterGc(): Promise<number> {
  gc();
  // Let pending close callbacks and promise jobs run, so what they release can be collected.
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  return process.memoryUsage().heapUsed;
}

export const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
