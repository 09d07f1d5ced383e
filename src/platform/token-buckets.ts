/**
 * Keyed token buckets: `perSecond` requests per key, bursts of one second's worth. Used for the
 * HTTP API and GraphQL (one shared per-app budget) and the Beams Publish API (per instance).
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  /** Bounds memory when keys come from callers: past this many keys the table starts over. */
  constructor(private readonly maxKeys = 100_000) {}

  /**
   * True when a request costing `units` may proceed (all units taken at once, or none); `perSecond`
   * 0 means unlimited. More units than one second's worth never fit.
   */
  take(key: string, perSecond: number, now?: number, units = 1): boolean {
    if (perSecond <= 0) return true;
    // The clock is read past the check above, not as a default parameter: the HTTP API asks on
    // every request, and most apps have no limit.
    const at = now ?? Date.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.maxKeys) this.buckets.clear();
      bucket = { tokens: perSecond, at };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(perSecond, bucket.tokens + ((at - bucket.at) * perSecond) / 1000);
    bucket.at = at;
    if (bucket.tokens < units) return false;
    bucket.tokens -= units;
    return true;
  }
}
