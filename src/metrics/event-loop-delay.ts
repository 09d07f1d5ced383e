/**
 * Event-loop delay gauges (`nodejs_eventloop_lag_{min,max,mean,stddev,p50,p90,p99}_seconds`), the
 * names and cross-worker aggregation prom-client's default metrics use, sampled every 100 ms
 * instead of prom-client's 10 ms.
 *
 * Why: Node's delay monitor is a repeating timer. At 10 ms it woke every idle process 100 times a
 * second (most of an idle node's CPU), and at paced rates it added a wake-up between publishes
 * that evicted the caches the next publish needed. At 100 ms a block of 100 ms or more is always
 * seen; a shorter one is seen when it overlaps a sample.
 *
 * The monitor records the whole interval between timer callbacks (an idle process reads ~10.1 ms
 * at prom-client's setting); these gauges report how late the timer fired: the recorded interval
 * minus the resolution, so an idle process reads ~0 whatever the resolution.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Gauge, type Registry } from 'prom-client';

export const EVENT_LOOP_SAMPLE_MS = 100;

/** What the gauges read from Node's IntervalHistogram (nanoseconds). */
export interface DelaySamples {
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly stddev: number;
  percentile(p: number): number;
}

export interface DelaySeconds {
  min: number;
  max: number;
  mean: number;
  stddev: number;
  p50: number;
  p90: number;
  p99: number;
}

/** Lateness in seconds of the samples taken every `resolutionMs`; undefined when there are none. */
export function delaySeconds(samples: DelaySamples, resolutionMs: number): DelaySeconds | undefined {
  // An empty histogram reports min = 2^63 and NaN mean: keep the last values rather than print those.
  if (samples.count === 0) return undefined;
  const resolutionNs = resolutionMs * 1e6;
  const late = (ns: number) => Math.max(0, ns - resolutionNs) / 1e9;
  return {
    min: late(samples.min),
    max: late(samples.max),
    mean: late(samples.mean),
    stddev: samples.stddev / 1e9,
    p50: late(samples.percentile(50)),
    p90: late(samples.percentile(90)),
    p99: late(samples.percentile(99)),
  };
}

const GAUGES: ReadonlyArray<{ key: keyof DelaySeconds; help: string; aggregator: 'min' | 'max' | 'average' }> = [
  { key: 'min', help: 'The minimum recorded event loop delay.', aggregator: 'min' },
  { key: 'max', help: 'The maximum recorded event loop delay.', aggregator: 'max' },
  { key: 'mean', help: 'The mean of the recorded event loop delays.', aggregator: 'average' },
  { key: 'stddev', help: 'The standard deviation of the recorded event loop delays.', aggregator: 'average' },
  { key: 'p50', help: 'The 50th percentile of the recorded event loop delays.', aggregator: 'average' },
  { key: 'p90', help: 'The 90th percentile of the recorded event loop delays.', aggregator: 'average' },
  { key: 'p99', help: 'The 99th percentile of the recorded event loop delays.', aggregator: 'average' },
];

export function gaugeName(prefix: string, key: keyof DelaySeconds): string {
  return `${prefix}nodejs_eventloop_lag_${key}_seconds`;
}

/** Node's monitor as the gauges use it; tests pass fixed samples instead. */
export interface DelayMonitor extends DelaySamples {
  reset(): void;
}

function startMonitor(resolutionMs: number): DelayMonitor {
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  histogram.enable();
  return histogram;
}

/**
 * Registers the seven gauges in `registry` (replacing any of the same name) and starts the monitor
 * (an unref'd timer: it never keeps the process alive). Values since the previous scrape.
 */
export function registerEventLoopDelay(
  registry: Registry,
  prefix: string,
  resolutionMs = EVENT_LOOP_SAMPLE_MS,
  histogram: DelayMonitor = startMonitor(resolutionMs),
): void {
  const gauges = new Map<keyof DelaySeconds, Gauge>();
  // The first gauge's collect sets all seven, once per scrape, then starts a new window.
  const collect = () => {
    const values = delaySeconds(histogram, resolutionMs);
    if (!values) return;
    for (const [key, gauge] of gauges) gauge.set(values[key]);
    histogram.reset();
  };
  for (const { key, help, aggregator } of GAUGES) {
    const name = gaugeName(prefix, key);
    registry.removeSingleMetric(name);
    gauges.set(key, new Gauge({ name, help, aggregator, registers: [registry], ...(gauges.size === 0 ? { collect } : {}) }));
  }
}
