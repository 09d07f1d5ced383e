import { availableParallelism } from 'node:os';

/**
 * How many workers `workers` asks for: 'auto' is the CPUs this process may use
 * (os.availableParallelism(), which honours the CPU affinity mask), a number is taken as is.
 */
export function workerCount(setting: number | 'auto', cpus: () => number = availableParallelism): number {
  return setting === 'auto' ? Math.max(1, cpus()) : setting;
}
