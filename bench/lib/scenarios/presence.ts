/**
 * f) Presence churn: stable members on 10 presence channels receive published events while churn
 * clients join and leave those channels (every 4th leave by disconnecting). Looks for latency
 * spikes: of event deliveries to the stable members and of the churners' joins.
 */
import { Histogram } from '../histogram.js';
import { connectClients, primeRequestPath, runPublishPhase, sleep } from '../measure.js';
import type { ChurnResult } from '../messages.js';
import { emptyResult, type BenchContext, type ScenarioResult } from '../results.js';
import { applyDeliveryPhase, atMost, channelNames, noLoss, reportConnectFailures, warmupSeconds, type ScenarioDefinition } from './common.js';

const CHANNELS = 10;
const MEMBERS_PER_CHANNEL = 40;
const CHURNERS = 100;
const EVENTS_PER_SECOND = 50;
const JOINS_PER_SECOND = 100;
const HOLD_MS = 500;
const DISCONNECT_EVERY = 4;
const SPIKE_MS = 50;

async function run(ctx: BenchContext, durationS: number): Promise<ScenarioResult> {
  const members = CHANNELS * MEMBERS_PER_CHANNEL;
  const result = emptyResult('f', scenarioF.title, members + CHURNERS);
  const channels = channelNames('presence-bench', CHANNELS);
  ctx.log(`connecting ${members} presence members and ${CHURNERS} churn clients…`);
  const stable = await connectClients(ctx, { count: members, channels, role: 'subscriber' });
  reportConnectFailures(result, members, stable.connected, stable.firstError);
  const churners = await connectClients(ctx, { count: CHURNERS, channels: [], role: 'churner', firstIndex: members });
  reportConnectFailures(result, CHURNERS, churners.connected, churners.firstError);
  result.connections = stable.connected + churners.connected;
  await sleep(500);

  const plan = (phase: number, seconds: number) => ({
    channels,
    durationMs: seconds * 1000,
    concurrency: 64,
    rate: EVENTS_PER_SECOND,
    phase,
    payloadBytes: ctx.options.payloadBytes,
  });
  const warmupS = warmupSeconds(ctx, true);
  if (warmupS > 0) {
    await primeRequestPath(ctx);
    ctx.log(`warm-up ${warmupS} s…`);
    await runPublishPhase(ctx, plan(1, warmupS));
  }
  ctx.log(`measuring ${durationS} s: ${EVENTS_PER_SECOND} events/s with ${JOINS_PER_SECOND} joins/s of churn…`);
  let churnResults: ChurnResult[] = [];
  const churn = async () => {
    churnResults = await ctx.pool.all<ChurnResult>(() => ({
      type: 'churn',
      channels,
      joinsPerSecond: JOINS_PER_SECOND / ctx.pool.size,
      holdMs: HOLD_MS,
      durationMs: durationS * 1000,
      disconnectEvery: DISCONNECT_EVERY,
    }));
  };
  const phase = await ctx.profiled(() => runPublishPhase(ctx, plan(2, durationS), { alongside: churn }));
  applyDeliveryPhase(result, phase);

  const joinTimes = new Histogram();
  for (const r of churnResults) joinTimes.merge(Histogram.fromJSON(r.joinTimes));
  const joins = joinTimes.summary();
  const joined = churnResults.reduce((sum, r) => sum + r.joins, 0);
  const failures = churnResults.reduce((sum, r) => sum + r.failures, 0);
  result.extra['joins / leaves'] = `${joined} / ${churnResults.reduce((sum, r) => sum + r.leaves, 0)}`;
  result.extra['join round trip p50/p99/max (ms)'] = `${joins.p50.toFixed(2)} / ${joins.p99.toFixed(2)} / ${joins.max.toFixed(2)}`;
  result.extra['member_added/removed deliveries'] = phase.collected.memberEvents;
  if (failures > 0) result.notes.push(`${failures} churn joins failed, first: ${churnResults.find((r) => r.firstError)?.firstError}`);
  result.targets = [
    atMost(`no event latency spike > ${SPIKE_MS} ms`, result.latency?.max, SPIKE_MS),
    atMost(`no join spike > ${SPIKE_MS} ms`, joined > 0 ? joins.max : undefined, SPIKE_MS),
    noLoss(result),
  ];
  return result;
}

export const scenarioF: ScenarioDefinition = {
  id: 'f',
  title: 'presence churn: 400 members, 10 channels, 100 joins/s',
  defaultDurationS: 15,
  standard: true,
  run,
};
