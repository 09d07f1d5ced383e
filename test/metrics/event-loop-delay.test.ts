/**
 * The event-loop delay gauges report how late the 100 ms sampling timer fired (not the interval
 * itself, which Node's monitor records), keep their last values over an empty window, replace
 * prom-client's gauges of the same names, and aggregate across workers the way prom-client's do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AggregatorRegistry, collectDefaultMetrics, Registry } from 'prom-client';
import { delaySeconds, gaugeName, registerEventLoopDelay, type DelayMonitor, type DelaySamples } from '../../src/metrics/event-loop-delay.js';

const MS = 1e6;

function samples(values: number[]): DelaySamples {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return {
    count: values.length,
    min: sorted[0] ?? 9223372036854775807,
    max: sorted[sorted.length - 1] ?? 0,
    mean,
    stddev: Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length),
    percentile: (p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0,
  };
}

test('delaySeconds subtracts the sampling interval: an idle loop reads ~0, a 250 ms block reads 0.25 s', () => {
  const idle = delaySeconds(samples([100.2 * MS, 100.4 * MS, 100.1 * MS]), 100)!;
  assert.ok(idle.max < 0.001 && idle.min >= 0, `idle max ${idle.max}`);
  const blocked = delaySeconds(samples([100.2 * MS, 350 * MS]), 100)!;
  assert.equal(blocked.max, 0.25);
  assert.equal(blocked.p99, 0.25);
  assert.ok(Math.abs(blocked.min - 0.0002) < 1e-9);
});

test('delaySeconds never reports a negative delay (a timer that fired early)', () => {
  const early = delaySeconds(samples([99.5 * MS]), 100)!;
  assert.equal(early.min, 0);
  assert.equal(early.p50, 0);
});

test('delaySeconds gives nothing for an empty window instead of the monitor\'s 2^63 ns minimum', () => {
  assert.equal(delaySeconds(samples([]), 100), undefined);
});

function monitor(values: number[]): DelayMonitor & { resets: number } {
  return { ...samples(values), resets: 0, reset() { this.resets++; } };
}

async function gaugeValues(registry: Registry, prefix: string): Promise<Map<string, number[]>> {
  const text = await registry.metrics();
  const out = new Map<string, number[]>();
  for (const key of ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'] as const) {
    const name = gaugeName(prefix, key);
    out.set(key, text.split('\n').filter((l) => l.startsWith(`${name} `)).map((l) => Number(l.split(' ')[1])));
  }
  return out;
}

test('the gauges replace prom-client\'s own: one series per name, holding delays, not intervals', async () => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 't_', eventLoopMonitoringPrecision: 2 ** 31 - 1 });
  const fixed = monitor([100.5 * MS, 100.5 * MS, 340 * MS]);
  registerEventLoopDelay(registry, 't_', 100, fixed);
  const values = await gaugeValues(registry, 't_');
  for (const [key, series] of values) assert.equal(series.length, 1, `${key}: ${series.join(' | ')}`);
  assert.equal(values.get('min')![0], 0.0005);
  assert.equal(values.get('max')![0], 0.24);
  assert.equal(values.get('p50')![0], 0.0005);
  assert.equal(fixed.resets, 1, 'each scrape starts a new window');
});

test('an empty window keeps the previous scrape\'s values and does not reset', async () => {
  const registry = new Registry();
  const fixed = monitor([150 * MS]);
  registerEventLoopDelay(registry, 'e_', 100, fixed);
  assert.equal((await gaugeValues(registry, 'e_')).get('max')![0], 0.05);
  Object.assign(fixed, samples([]));
  assert.equal((await gaugeValues(registry, 'e_')).get('max')![0], 0.05);
  assert.equal(fixed.resets, 1);
});

test('across workers min takes the minimum, max the maximum, percentiles the average', async () => {
  const worker = async (values: number[]) => {
    const registry = new Registry();
    registerEventLoopDelay(registry, 'w_', 100, monitor(values));
    return registry.getMetricsAsJSON();
  };
  const merged = AggregatorRegistry.aggregate([await worker([110 * MS, 130 * MS]), await worker([100 * MS, 300 * MS])]);
  const text = await merged.metrics();
  const value = (key: 'min' | 'max' | 'p99') => Number(text.split('\n').find((l) => l.startsWith(`${gaugeName('w_', key)} `))!.split(' ')[1]);
  assert.equal(value('min'), 0);
  assert.equal(value('max'), 0.2);
  assert.equal(value('p99'), (0.03 + 0.2) / 2);
});
