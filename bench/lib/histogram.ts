/**
 * Latency histogram with bounded relative error, in integer microseconds.
 *
 * Buckets are log-linear (the HdrHistogram idea, simplified): values below 128 µs get one bucket
 * each, larger values fall into 64 sub-buckets per power of two, so any recorded value is reported
 * within 1/64 (≈1.6 %) of its true value while the whole range 0 µs … ~35 min fits in ~1,900 counters.
 * That keeps recording O(1) with no allocation, and a histogram is cheap to ship between processes
 * (see `toJSON`/`fromJSON`) and to merge.
 */

const LINEAR_LIMIT = 128; // values [0, 128) have exact buckets
const SUB_BUCKETS = 64; // buckets per power of two above that
const MAX_MAGNITUDE = 25; // 128 << 24 µs ≈ 35 minutes; larger values are clamped
const BUCKET_COUNT = LINEAR_LIMIT + (MAX_MAGNITUDE - 1) * SUB_BUCKETS;
export const MAX_TRACKABLE_MICROS = LINEAR_LIMIT * 2 ** (MAX_MAGNITUDE - 1) - 1; // 2^31 - 1

export interface HistogramJSON {
  /** [bucketIndex, count] pairs for non-empty buckets only. */
  buckets: Array<[number, number]>;
  count: number;
  min: number;
  max: number;
  sum: number;
}

export interface LatencySummary {
  count: number;
  /** All figures in milliseconds (fractional). */
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

function bucketIndex(micros: number): number {
  if (micros < LINEAR_LIMIT) return micros;
  // Number of bits beyond the 7 that the linear part covers.
  const magnitude = 32 - Math.clz32(micros) - 7;
  const sub = micros >>> magnitude; // in [64, 128)
  return LINEAR_LIMIT + (magnitude - 1) * SUB_BUCKETS + (sub - SUB_BUCKETS);
}

/** Largest value that lands in bucket `index` (what percentiles report, HdrHistogram-style). */
function bucketUpperBound(index: number): number {
  if (index < LINEAR_LIMIT) return index;
  const offset = index - LINEAR_LIMIT;
  const magnitude = Math.floor(offset / SUB_BUCKETS) + 1;
  const sub = (offset % SUB_BUCKETS) + SUB_BUCKETS;
  return (sub + 1) * 2 ** magnitude - 1; // multiplication: a shift would overflow int32
}

export class Histogram {
  private counts = new Float64Array(BUCKET_COUNT);
  count = 0;
  min = Infinity;
  max = 0;
  sum = 0;

  /** Records one value in microseconds; negatives count as 0, fractions are rounded. */
  record(micros: number): void {
    let value = Math.round(micros);
    if (!(value > 0)) value = 0; // also maps NaN to 0
    if (value > MAX_TRACKABLE_MICROS) value = MAX_TRACKABLE_MICROS;
    this.addToBucket(bucketIndex(value), 1);
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  /** Records a duration given in milliseconds (what the payload timestamps use). */
  recordMillis(millis: number): void {
    this.record(millis * 1000);
  }

  /** Value (µs) at or below which `percent` % of the recorded values fall; 0 when empty. */
  percentile(percent: number): number {
    if (this.count === 0) return 0;
    const clamped = Math.min(100, Math.max(0, percent));
    const rank = Math.max(1, Math.ceil((clamped / 100) * this.count));
    let seen = 0;
    for (const [i, count] of this.counts.entries()) {
      seen += count;
      if (seen >= rank) return Math.min(bucketUpperBound(i), this.max);
    }
    return this.max;
  }

  merge(other: Histogram): this {
    other.counts.forEach((count, i) => this.addToBucket(i, count));
    this.count += other.count;
    this.sum += other.sum;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
    return this;
  }

  /** `index` is below BUCKET_COUNT, the array's length: bucketIndex clamps to it, fromJSON checks it. */
  private addToBucket(index: number, count: number): void {
    this.counts[index]! += count;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.min = Infinity;
    this.max = 0;
    this.sum = 0;
  }

  summary(): LatencySummary {
    const ms = (micros: number) => micros / 1000;
    return {
      count: this.count,
      min: this.count === 0 ? 0 : ms(this.min),
      mean: this.count === 0 ? 0 : ms(this.sum / this.count),
      p50: ms(this.percentile(50)),
      p90: ms(this.percentile(90)),
      p99: ms(this.percentile(99)),
      p999: ms(this.percentile(99.9)),
      max: ms(this.max),
    };
  }

  toJSON(): HistogramJSON {
    const buckets: Array<[number, number]> = [];
    this.counts.forEach((count, i) => {
      if (count > 0) buckets.push([i, count]);
    });
    return { buckets, count: this.count, min: this.count === 0 ? 0 : this.min, max: this.max, sum: this.sum };
  }

  /** Rebuilds a histogram sent by another process; rejects malformed input instead of corrupting counts. */
  static fromJSON(json: HistogramJSON): Histogram {
    const histogram = new Histogram();
    for (const [index, count] of json.buckets) {
      if (!Number.isInteger(index) || index < 0 || index >= BUCKET_COUNT || !(count >= 0)) {
        throw new Error(`Invalid histogram bucket [${index}, ${count}]`);
      }
      histogram.addToBucket(index, count);
    }
    histogram.count = json.count;
    histogram.sum = json.sum;
    histogram.max = json.max;
    histogram.min = json.count === 0 ? Infinity : json.min;
    return histogram;
  }
}
