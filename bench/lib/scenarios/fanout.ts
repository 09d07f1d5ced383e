/**
 * Fan-out scenarios: subscribers on public channels, signed HTTP publishes from the runner.
 *  a) 1,000 subscribers on 1 channel, 20 events/s
 *  b) 5,000 subscribers over 50 channels, 100 events/s
 *  e) saturation: 2,000 subscribers on 1 channel, publishing as fast as deliveries keep up
 *  g) 18,000 subscribers on 1 channel, 2 events/s: how long one event takes to reach a large
 *     channel (e and g run with 1 and N Herald workers: --server-workers)
 */
import { connectClients, primeRequestPath, runPublishPhase, sleep } from '../measure.js';
import { emptyResult, type BenchContext, type ScenarioResult, type TargetCheck } from '../results.js';
import { applyDeliveryPhase, atLeast, atMost, channelNames, noLoss, reportConnectFailures, round, warmupSeconds, type ScenarioDefinition } from './common.js';

interface FanoutSpec {
  id: string;
  title: string;
  subscribers: number;
  channels: number;
  /** Events per second over all channels; undefined = saturation (closed loop). */
  rate?: number;
  targets(result: ScenarioResult): TargetCheck[];
}

/** Events per channel that may be published but not yet received by every subscriber (saturation). */
const SATURATION_WINDOW = 16;
const SATURATION_CONCURRENCY = 8;

async function runFanout(ctx: BenchContext, spec: FanoutSpec, durationS: number): Promise<ScenarioResult> {
  const result = emptyResult(spec.id, spec.title, spec.subscribers);
  const channels = channelNames(`bench-${spec.id}`, spec.channels);
  ctx.log(`connecting ${spec.subscribers} subscribers over ${spec.channels} channel(s)…`);
  const connected = await connectClients(ctx, { count: spec.subscribers, channels, role: 'subscriber' });
  reportConnectFailures(result, spec.subscribers, connected.connected, connected.firstError);
  result.connections = connected.connected;
  result.extra['connect+subscribe p99 (ms)'] = round(connected.setupTimes.summary().p99);
  await sleep(500);

  const saturate = spec.rate === undefined;
  const plan = (phase: number, seconds: number) => ({
    channels,
    durationMs: seconds * 1000,
    concurrency: saturate ? SATURATION_CONCURRENCY : 64,
    rate: spec.rate,
    phase,
    payloadBytes: ctx.options.payloadBytes,
  });
  const phaseOptions = saturate ? { saturationWindow: SATURATION_WINDOW } : {};
  const warmupS = warmupSeconds(ctx, !saturate);
  if (warmupS > 0) {
    if (!saturate) await primeRequestPath(ctx);
    ctx.log(`warm-up ${warmupS} s…`);
    await runPublishPhase(ctx, plan(1, warmupS), phaseOptions);
  }
  ctx.log(`measuring ${durationS} s${saturate ? ' at saturation' : ` at ${spec.rate} events/s`}…`);
  const phase = await ctx.profiled(() => runPublishPhase(ctx, plan(2, durationS), phaseOptions));
  applyDeliveryPhase(result, phase);
  if (saturate && result.cpuPerDeliveryUs) {
    result.extra['capacity by server CPU (deliveries/s per core)'] = Math.round(1e6 / result.cpuPerDeliveryUs);
  }
  result.targets = [...spec.targets(result), noLoss(result)];
  return result;
}

export const scenarioA: ScenarioDefinition = {
  id: 'a',
  title: '1,000 subscribers, 1 channel, 20 events/s',
  defaultDurationS: 15,
  standard: true,
  run: (ctx, durationS) =>
    runFanout(
      ctx,
      {
        id: 'a',
        title: scenarioA.title,
        subscribers: 1000,
        channels: 1,
        rate: 20,
        targets: (r) => [atMost('CPU/delivery ≤ 2 µs', r.cpuPerDeliveryUs, 2), atMost('p99 ≤ 5 ms', r.latency?.p99, 5)],
      },
      durationS,
    ),
};

export const scenarioB: ScenarioDefinition = {
  id: 'b',
  title: '5,000 subscribers, 50 channels, 100 events/s',
  defaultDurationS: 15,
  standard: true,
  run: (ctx, durationS) =>
    runFanout(
      ctx,
      {
        id: 'b',
        title: scenarioB.title,
        subscribers: 5000,
        channels: 50,
        rate: 100,
        targets: (r) => [atMost('CPU/delivery ≤ 3 µs', r.cpuPerDeliveryUs, 3), atMost('p99 ≤ 3 ms', r.latency?.p99, 3)],
      },
      durationS,
    ),
};

export const scenarioE: ScenarioDefinition = {
  id: 'e',
  title: 'saturation fan-out, 2,000 subscribers, 1 channel',
  defaultDurationS: 15,
  standard: true,
  perWorkerCount: true,
  run: (ctx, durationS) =>
    runFanout(
      ctx,
      {
        id: 'e',
        title: scenarioE.title,
        subscribers: 2000,
        channels: 1,
        targets: (r) => [
          atLeast('capacity ≥ 300k deliveries/s by CPU', r.cpuPerDeliveryUs ? 1e6 / r.cpuPerDeliveryUs : undefined, 300_000),
        ],
      },
      durationS,
    ),
};

export const scenarioG: ScenarioDefinition = {
  id: 'g',
  title: '18,000 subscribers, 1 channel, 2 events/s',
  defaultDurationS: 15,
  standard: true,
  perWorkerCount: true,
  run: (ctx, durationS) =>
    runFanout(
      ctx,
      {
        id: 'g',
        title: scenarioG.title,
        subscribers: 18_000,
        channels: 1,
        rate: 2,
        // Issue 18: with 2 workers, p50 at most 0.6× one worker's (printed after the table by
        // renderWorkerComparison, bench/lib/report.ts, when both ran).
        targets: () => [],
      },
      durationS,
    ),
};
