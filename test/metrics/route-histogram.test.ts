/**
 * RouteHistogram answers the registry exactly as prom-client's Histogram would for the same
 * observations: the text exposition, and the per-worker JSON the primary of a multi-worker node sums.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AggregatorRegistry, Histogram, Registry } from 'prom-client';
import { RouteHistogram } from '../../src/metrics/route-histogram.js';

const BOUNDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const SAMPLES: Array<[string, number]> = [
  ['events', 0.0004],
  ['events', 0.001], // on a bound: counted in that bucket (le is inclusive)
  ['events', 0.0011],
  ['events', 0.3],
  ['events', 7], // above every bound: only +Inf
  ['channels', 0.02],
  ['channels', 0],
];

function both(samples: Array<[string, number]>): { ours: Registry; theirs: Registry } {
  const ours = new Registry();
  const theirs = new Registry();
  const histogram = new RouteHistogram('x_seconds', 'help text', BOUNDS, [ours]);
  const reference = new Histogram({ name: 'x_seconds', help: 'help text', labelNames: ['route'], buckets: BOUNDS, registers: [theirs] });
  for (const [route, value] of samples) {
    histogram.route(route).observe(value);
    reference.labels({ route }).observe(value);
  }
  return { ours, theirs };
}

test('the text exposition equals prom-client histogram for the same observations', async () => {
  const { ours, theirs } = both(SAMPLES);
  assert.equal(await ours.metrics(), await theirs.metrics());
});

test('the JSON of two workers sums as prom-client histograms do', async () => {
  const a = both(SAMPLES.slice(0, 4));
  const b = both(SAMPLES.slice(2));
  const summedOurs = AggregatorRegistry.aggregate([await a.ours.getMetricsAsJSON(), await b.ours.getMetricsAsJSON()] as never);
  const summedTheirs = AggregatorRegistry.aggregate([await a.theirs.getMetricsAsJSON(), await b.theirs.getMetricsAsJSON()] as never);
  assert.equal(await summedOurs.metrics(), await summedTheirs.metrics());
});

test('a non-finite duration is ignored instead of poisoning the sum', async () => {
  const registry = new Registry();
  const histogram = new RouteHistogram('y_seconds', 'h', BOUNDS, [registry]);
  const cell = histogram.route('events');
  cell.observe(Number.NaN);
  cell.observe(Number.POSITIVE_INFINITY);
  cell.observe(0.002);
  const text = await registry.metrics();
  assert.match(text, /y_seconds_count\{route="events"\} 1\n/);
  assert.match(text, /y_seconds_sum\{route="events"\} 0.002\n/);
});

test('reset() zeroes every series and the cells keep counting', async () => {
  const registry = new Registry();
  const histogram = new RouteHistogram('z_seconds', 'h', BOUNDS, [registry]);
  const cell = histogram.route('events');
  cell.observe(0.2);
  registry.resetMetrics();
  assert.match(await registry.metrics(), /z_seconds_count\{route="events"\} 0\n/);
  cell.observe(0.2);
  assert.match(await registry.metrics(), /z_seconds_bucket\{le="0.25",route="events"\} 1\n/);
});
