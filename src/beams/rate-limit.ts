/** Per-instance token bucket for the Publish API (Beams allows 100 requests per second → 429). */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  /** True when a request may proceed; `perSecond` 0 means unlimited. Burst = one second's worth. */
  take(key: string, perSecond: number): boolean {
    if (perSecond <= 0) return true;
    const now = Date.now();
    const bucket = this.buckets.get(key) ?? { tokens: perSecond, at: now };
    bucket.tokens = Math.min(perSecond, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    if (this.buckets.size > 10_000) this.buckets.clear();
    this.buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
