/**
 * c) HTTP publishes to channels nobody subscribes to, 32 requests in flight: the cost of the HTTP
 * API itself (parsing, signature check, validation, channel lookup). The publishers run in the
 * generator processes so the runner is not the bottleneck.
 */
import { Histogram } from '../histogram.js';
import { CpuWindow, serverSample } from '../measure.js';
import type { PublishResult } from '../publisher.js';
import { emptyResult, type BenchContext, type ScenarioResult } from '../results.js';
import { applyCpu, applyMemory, atMost, channelNames, warmupSeconds, type ScenarioDefinition } from './common.js';

const TOTAL_CONCURRENCY = 32;
const CHANNELS_PER_PUBLISHER = 100;

async function publishEverywhere(ctx: BenchContext, phase: number, seconds: number): Promise<PublishResult[]> {
  const workers = ctx.pool.size;
  return ctx.pool.all<PublishResult>((w) => ({
    type: 'publish',
    target: ctx.publishTarget,
    plan: {
      channels: channelNames(`nobody-${w}`, CHANNELS_PER_PUBLISHER),
      durationMs: seconds * 1000,
      // Spread 32 in-flight requests over the generators (16 + 16 with two).
      concurrency: Math.floor(TOTAL_CONCURRENCY / workers) + (w < TOTAL_CONCURRENCY % workers ? 1 : 0),
      phase,
      payloadBytes: ctx.options.payloadBytes,
    },
  }));
}

async function run(ctx: BenchContext, durationS: number): Promise<ScenarioResult> {
  const result = emptyResult('c', scenarioC.title, 0);
  const idle = serverSample(ctx);
  const warmupS = warmupSeconds(ctx, false);
  if (warmupS > 0) {
    ctx.log(`warm-up ${warmupS} s…`);
    await publishEverywhere(ctx, 1, warmupS);
  }
  ctx.log(`measuring ${durationS} s with ${TOTAL_CONCURRENCY} concurrent publishes…`);
  const window = new CpuWindow(ctx);
  const results = await ctx.profiled(() => publishEverywhere(ctx, 2, durationS));
  const cpu = window.finish();

  const published = results.reduce((sum, r) => sum + r.published, 0);
  const failed = results.reduce((sum, r) => sum + r.failed, 0);
  const seconds = Math.max(...results.map((r) => r.elapsedMs)) / 1000;
  const responseTimes = new Histogram();
  for (const r of results) responseTimes.merge(Histogram.fromJSON(r.responseTimes));
  result.durationS = seconds;
  result.publishesPerSec = published / seconds;
  result.latency = responseTimes.summary();
  result.latencyKind = 'http-response';
  result.publishErrors = failed;
  applyCpu(result, cpu);
  if (cpu.serverCpuMicros !== undefined && published > 0) result.cpuPerPublishUs = cpu.serverCpuMicros / published;
  applyMemory(result, cpu.serverAfter, idle, 0);
  if (failed > 0) result.notes.push(`${failed} publishes failed, first: ${results.find((r) => r.firstError)?.firstError}`);
  result.targets = [
    atMost('CPU/publish ≤ 30 µs', result.cpuPerPublishUs, 30),
    { label: 'no failed publishes', met: failed === 0 },
  ];
  return result;
}

export const scenarioC: ScenarioDefinition = {
  id: 'c',
  title: 'HTTP publishes, no subscribers, 32 concurrent',
  defaultDurationS: 10,
  standard: true,
  run,
};
