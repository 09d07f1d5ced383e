/**
 * gc) scenario g (18,000 subscribers of one channel, 2 events/s) received by C subscribers
 * (bench/reference/c-subscribers.c) instead of the Node generators. Here the receivers share the
 * two cores with the server: the Node generators need ~6 µs of CPU per delivery, the C subscribers
 * ~3–5, and whatever the receivers take, a second Herald worker cannot have. So g shows what users'
 * Node clients on the same machine would see; gc shows what the server's design allows with 1 and
 * N workers (docs/benchmarks.md, "g with C subscribers").
 *
 * gk) the same C subscribers, reading late: each sleeps DEFER_MS after its first frame of an event
 * and then drains, and a delivery's time is the kernel's receive timestamp of its packet. Nothing
 * but the server runs while it fans out, as with subscribers on other machines; what the receivers
 * cost is reported beside it, spent after the fan-out.
 *
 * Needs a C compiler (CC, else cc, gcc or clang); without one the scenario reports that and skips.
 * The generator pool is not used: the CPU columns' "generator" is the runner plus the C processes.
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { LatencySummary } from '../histogram.js';
import { CpuWindow, primeRequestPath } from '../measure.js';
import { Publisher, type PublishPlan } from '../publisher.js';
import { emptyResult, type BenchContext, type ScenarioResult } from '../results.js';
import { exited } from '../spawn.js';
import { applyCpu, MB, noLoss, round, warmupSeconds, type ScenarioDefinition } from './common.js';

const SUBSCRIBERS = 18_000;
const RATE = 2;
const CHANNEL = 'bench-gc-0';
/** Receiving processes: one per core, as the Node generators. */
const PROCESSES = 2;
const READY_TIMEOUT_MS = 180_000;
/**
 * gk's wait before reading: longer than a fan-out to 18,000 lasts here (p99 ~150–230 ms, one
 * worker), shorter than the 500 ms between events less the ~30 ms the drain takes.
 */
const DEFER_MS = 300;

interface Variant {
  id: 'gc' | 'gk';
  title: string;
  /** 0: read at once, receive time from the clock; else c-subscribers' --defer-ms. */
  deferMs: number;
}

/** What c-subscribers.c prints after "end": latency figures in ms over the measured phase. */
type Outcome = Omit<LatencySummary, 'count'> & { frames: number; expected: number; order: number; bad: number; unstamped: number };

/** Compiles c-subscribers.c into node_modules/.cache (again only when the source is newer). */
export function compileCSubscribers(root: string): string | undefined {
  const source = join(root, 'bench', 'reference', 'c-subscribers.c');
  const dir = join(root, 'node_modules', '.cache', 'herald-bench');
  const binary = join(dir, 'c-subscribers');
  if (existsSync(binary) && statSync(binary).mtimeMs >= statSync(source).mtimeMs) return binary;
  mkdirSync(dir, { recursive: true });
  for (const cc of [process.env.CC, 'cc', 'gcc', 'clang'].filter((c): c is string => !!c)) {
    try {
      execFileSync(cc, ['-O2', '-o', binary, source], { stdio: 'ignore' });
      return binary;
    } catch {
      /* try the next compiler */
    }
  }
  return undefined;
}

/** The C program's stdout, a line at a time ("exit N" once it has exited). */
function lineReader(child: ChildProcessWithoutNullStreams): (timeoutMs: number) => Promise<string> {
  const queue: string[] = [];
  const waiting: Array<(line: string) => void> = [];
  const deliver = (line: string) => (waiting.length > 0 ? waiting.shift()!(line) : queue.push(line));
  createInterface({ input: child.stdout }).on('line', deliver);
  child.once('exit', (code) => deliver(`exit ${code}`));
  return (timeoutMs) =>
    queue.length > 0
      ? Promise.resolve(queue.shift()!)
      : new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`c-subscribers: no answer within ${timeoutMs} ms`)), timeoutMs);
          waiting.push((line) => (clearTimeout(timer), resolve(line)));
        });
}

async function publish(ctx: BenchContext, phase: number, seconds: number) {
  const plan: PublishPlan = { channels: [CHANNEL], durationMs: seconds * 1000, concurrency: 64, rate: RATE, phase, payloadBytes: ctx.options.payloadBytes };
  const publisher = new Publisher(ctx.publishTarget, plan.concurrency);
  try {
    return await publisher.run(plan);
  } finally {
    publisher.close();
  }
}

async function runWithC(ctx: BenchContext, binary: string, durationS: number, variant: Variant): Promise<ScenarioResult> {
  const result = emptyResult(variant.id, variant.title, SUBSCRIBERS);
  const { host, port, app } = ctx.publishTarget;
  const args = ['--host', host, '--port', String(port), '--key', app.key, '--channel', CHANNEL, '--subs', String(SUBSCRIBERS), '--clients', String(PROCESSES)];
  if (variant.deferMs > 0) args.push('--defer-ms', String(variant.deferMs));
  const child = spawn(binary, args);
  child.stderr.on('data', (chunk: Buffer) => ctx.log(`[c-subscribers] ${chunk.toString().trim()}`));
  const nextLine = lineReader(child);
  try {
    ctx.log(`connecting ${SUBSCRIBERS} C subscribers to one channel…`);
    const ready = await nextLine(READY_TIMEOUT_MS);
    if (!ready.startsWith('ready ')) throw new Error(`c-subscribers did not connect: ${ready}`);
    const receivers = ready.slice('ready '.length).split(',').map(Number);
    const warmupS = warmupSeconds(ctx, true);
    if (warmupS > 0) {
      await primeRequestPath(ctx);
      ctx.log(`warm-up ${warmupS} s…`);
      await publish(ctx, 1, warmupS);
    }
    ctx.log(`measuring ${durationS} s at ${RATE} events/s…`);
    child.stdin.write('phase 2\n');
    const acknowledged = await nextLine(10_000);
    if (acknowledged !== 'phase 2') throw new Error(`c-subscribers: ${acknowledged}`);
    const window = new CpuWindow(ctx, receivers);
    const published = await ctx.profiled(() => publish(ctx, 2, durationS));
    child.stdin.write(`end ${published.published * SUBSCRIBERS}\n`);
    const outcome = JSON.parse(await nextLine(30_000)) as Outcome;
    const cpu = window.finish();
    const seconds = published.elapsedMs / 1000;
    result.durationS = seconds;
    result.deliveriesPerSec = outcome.frames / seconds;
    result.publishesPerSec = published.published / seconds;
    const { frames, expected, order, bad, unstamped, ...latency } = outcome;
    result.latency = { count: frames, ...latency };
    if (bad > 0) result.notes.push(`${bad} connections closed or frames unreadable`);
    if (unstamped > 0) result.notes.push(`${unstamped} reads without a kernel timestamp (timed by the clock instead)`);
    if (variant.deferMs > 0) result.notes.push(`latency to the kernel's receive timestamp; receivers read ${variant.deferMs} ms after an event's first frame`);
    result.latencyKind = 'delivery';
    result.lost = expected - frames;
    result.reordered = order;
    result.publishErrors = published.failed;
    if (published.failed > 0) result.notes.push(`${published.failed} publishes failed, first: ${published.firstError}`);
    applyCpu(result, cpu);
    if (cpu.serverCpuMicros !== undefined && outcome.frames > 0) result.cpuPerDeliveryUs = cpu.serverCpuMicros / outcome.frames;
    const receiversCpu = cpu.generatorCpuPercents.slice(1).reduce((sum, p) => sum + p, 0);
    if (outcome.frames > 0) result.extra['C subscribers CPU µs/delivery'] = round(((receiversCpu / 100) * cpu.wallMs * 1000) / outcome.frames);
    if (cpu.serverAfter) result.rssMb = cpu.serverAfter.rssBytes / MB;
    result.targets = [noLoss(result)];
    return result;
  } finally {
    await stopChild(child);
  }
}

/** Lets c-subscribers stop its clients (it does after its report, or when stdin ends); kills it after 5 s. */
async function stopChild(child: ChildProcessWithoutNullStreams): Promise<void> {
  child.stdin.end();
  const timer = setTimeout(() => child.kill(), 5_000);
  await exited(child);
  clearTimeout(timer);
}

function cScenario(variant: Variant): ScenarioDefinition {
  return {
    id: variant.id,
    title: variant.title,
    defaultDurationS: 15,
    standard: true,
    perWorkerCount: true,
    usesGeneratorPool: false,
    async run(ctx, durationS) {
      const binary = compileCSubscribers(ctx.options.root);
      if (binary) return runWithC(ctx, binary, durationS, variant);
      const result = emptyResult(variant.id, variant.title, 0);
      result.notes.push('skipped: no C compiler (set CC, or install gcc) to build bench/reference/c-subscribers.c');
      return result;
    },
  };
}

export const scenarioGc = cScenario({ id: 'gc', title: '18,000 C subscribers, 1 channel, 2 events/s', deferMs: 0 });
export const scenarioGk = cScenario({
  id: 'gk',
  title: '18,000 C subscribers reading late, 1 channel, 2 events/s (kernel receive time)',
  deferMs: DEFER_MS,
});
