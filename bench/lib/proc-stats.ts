/**
 * Per-process CPU time and memory from Linux /proc, so server cost is measured for the server's own
 * process tree and not disturbed by the load generator running on the same cores.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let clockTicksPerSecond: number | undefined;

/** USER_HZ (nearly always 100); /proc/<pid>/stat reports CPU time in these ticks. */
function ticksPerSecond(): number {
  if (clockTicksPerSecond === undefined) {
    try {
      clockTicksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicksPerSecond = 100;
    }
  }
  return clockTicksPerSecond;
}

/** User and system CPU time of a process in microseconds (utime, stime: fields 14 and 15). */
export function cpuTimes(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may contain spaces: parse after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`Unexpected /proc/${pid}/stat format`);
  return { user: (utime * 1_000_000) / ticksPerSecond(), system: (stime * 1_000_000) / ticksPerSecond() };
}

/** User + system CPU time of a process in microseconds. */
export function cpuMicros(pid: number): number {
  const { user, system } = cpuTimes(pid);
  return user + system;
}

/**
 * CPU time of the whole machine (all cores), in microseconds: `tasks` = busy time charged to
 * processes (user, nice, system), `interrupts` = irq + softirq time. On kernels without
 * CONFIG_IRQ_TIME_ACCOUNTING (this machine's) loopback TCP work done in softirq inside a sender's
 * write() is charged to the sender's system time, so `interrupts` holds only what ran outside a
 * task's context (e.g. ksoftirqd). Task time not explained by the server and the generator means
 * other processes competed for the cores.
 */
export function machineCpuMicros(): { tasks: number; interrupts: number } {
  // The first line is the all-cores total: "cpu user nice system idle iowait irq softirq …" (ticks).
  const [line = ''] = readFileSync('/proc/stat', 'utf8').split('\n', 1);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = line.trim().split(/\s+/).slice(1).map((t) => Number(t) || 0);
  const toMicros = (ticks: number) => (ticks * 1_000_000) / ticksPerSecond();
  return { tasks: toMicros(user + nice + system), interrupts: toMicros(irq + softirq) };
}

/** Resident set size of a process in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`No VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** Soft limit on open files of a process, from /proc/<pid>/limits. */
export function openFilesLimit(pid: number): number {
  const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
  if (!match) return Infinity;
  return match[1] === 'unlimited' ? Infinity : Number(match[1]);
}

/** Descriptors a process holds (its sockets, mostly); 0 when unreadable. */
export function openDescriptors(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

export function processExists(pid: number): boolean {
  try {
    readFileSync(`/proc/${pid}/stat`);
    return true;
  } catch {
    return false;
  }
}

/** CPU and RSS of a set of processes (e.g. several server nodes), summed. */
export interface ProcSample {
  at: number;
  cpuMicros: number;
  /** The kernel-mode part of cpuMicros (syscalls: socket writes and reads). */
  systemMicros: number;
  rssBytes: number;
}

export function sampleProcesses(pids: readonly number[]): ProcSample {
  let cpu = 0;
  let system = 0;
  let rss = 0;
  for (const pid of pids) {
    const times = cpuTimes(pid);
    cpu += times.user + times.system;
    system += times.system;
    rss += rssBytes(pid);
  }
  return { at: performance.now(), cpuMicros: cpu, systemMicros: system, rssBytes: rss };
}
