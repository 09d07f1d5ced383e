/**
 * Per-app counters kept as plain numbers (the hot path is one Map lookup and an addition) and
 * read by the Prometheus collectors at scrape time.
 *
 * Label cardinality is capped: the first `maxApps` apps seen get their own `app` label and every
 * later one shares OTHER_APPS. Assignment is first-come and permanent on purpose: a counter that
 * moved between label sets (as a "top N by traffic" ranking would make it) would look like a
 * counter reset to Prometheus and break rate().
 */

/** Label value shared by apps beyond the cap; parentheses cannot occur in an app id. */
export const OTHER_APPS = '(other)';

export class AppStats {
  /** Open connections (gauge). */
  connections = 0;
  connectionsOpened = 0;
  connectionsClosed = 0;
  /** Occupied channels (gauge). */
  channels = 0;
  /** Events accepted from the HTTP API, one per channel, on the node that received the call. */
  apiMessagesIn = 0;
  apiBytesIn = 0;
  /** Client events accepted from this node's sockets. */
  clientMessagesIn = 0;
  clientBytesIn = 0;
  /** Event deliveries to this node's sockets (one per recipient). */
  messagesOut = 0;
  /** Event data bytes delivered (data size × recipients; frame envelope not included). */
  bytesOut = 0;

  constructor(readonly label: string) {}
}

export class AppStatsTable {
  private readonly byApp = new Map<string, AppStats>();
  private readonly byLabel = new Map<string, AppStats>();
  private ownLabels = 0;

  constructor(readonly maxApps: number) {
    if (!Number.isInteger(maxApps) || maxApps < 0) throw new RangeError('maxApps must be a whole number ≥ 0');
  }

  /** The stats object an app's numbers go to (its own, or the shared overflow one). */
  get(appId: string): AppStats {
    const existing = this.byApp.get(appId);
    if (existing) return existing;
    let label = OTHER_APPS;
    if (this.ownLabels < this.maxApps) {
      label = appId;
      this.ownLabels++;
    }
    let stats = this.byLabel.get(label);
    if (!stats) {
      stats = new AppStats(label);
      this.byLabel.set(label, stats);
    }
    this.byApp.set(appId, stats);
    return stats;
  }

  /** One entry per label value, for collectors. */
  labels(): Iterable<AppStats> {
    return this.byLabel.values();
  }
}

/**
 * HTTP publishes waiting for their local delivery, to time publish → delivery (which includes the
 * broker round trip: the publishing node receives its own events through the broker) and to count
 * API events only once they are actually published. Bounded: the oldest entries are dropped.
 */
export class PendingPublishes {
  private readonly entries = new Map<string, number[]>();
  private count = 0;

  constructor(private readonly max = 10_000) {}

  static key(appId: string, channel: string, event: string): string {
    return `${appId}\u0000${channel}\u0000${event}`;
  }

  add(key: string, at: number): void {
    while (this.count >= this.max) this.evictOldest();
    const queue = this.entries.get(key);
    if (queue) queue.push(at);
    else this.entries.set(key, [at]);
    this.count++;
  }

  /** The time the oldest pending publish with this key was admitted, removing it. */
  take(key: string): number | undefined {
    const queue = this.entries.get(key);
    if (!queue) return undefined;
    const at = queue.shift();
    if (queue.length === 0) this.entries.delete(key);
    this.count--;
    return at;
  }

  get size(): number {
    return this.count;
  }

  private evictOldest(): void {
    const first = this.entries.keys().next();
    if (first.done) {
      this.count = 0;
      return;
    }
    this.take(first.value);
  }
}
