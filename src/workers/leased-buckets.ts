/**
 * The API rate limit of a worker, counted for the whole node: the tokens live in the primary's
 * bucket (NodeHub), and each worker holds a small lease of them per key, refilled in the
 * background before it runs out. The check stays synchronous (no IPC on the request path);
 * the node as a whole admits at most `perSecond` per key, plus at most one request per
 * key and worker when a key is first seen (taken on credit: the next lease pays it back), and
 * less than one lease per worker stays stranded.
 */
import { TokenBuckets } from '../platform/token-buckets.js';
import type { IpcPeer } from '../platform/ipc.js';

interface Lease {
  tokens: number;
  refilling: boolean;
}

/** Past this many keys the table starts over (keys come from callers). */
const MAX_KEYS = 100_000;

export class LeasedBuckets extends TokenBuckets {
  private readonly leases = new Map<string, Lease>();

  constructor(
    private readonly primary: IpcPeer,
    /** Workers of the node: a lease is a share of one second's budget. */
    private readonly workers: number,
  ) {
    super();
  }

  override take(key: string, perSecond: number): boolean {
    if (perSecond <= 0) return true;
    let lease = this.leases.get(key);
    if (!lease) {
      if (this.leases.size >= MAX_KEYS) this.leases.clear();
      // First sight of the key here: admit this request on credit (the first lease pays it back)
      // and fetch a lease for the next ones.
      this.leases.set(key, (lease = { tokens: -1, refilling: false }));
      this.refill(key, lease, perSecond);
      return true;
    }
    const admitted = lease.tokens >= 1;
    if (admitted) lease.tokens--;
    if (lease.tokens < this.leaseSize(perSecond) / 2) this.refill(key, lease, perSecond);
    return admitted;
  }

  private leaseSize(perSecond: number): number {
    return Math.max(1, Math.floor(perSecond / (this.workers * 4)));
  }

  private refill(key: string, lease: Lease, perSecond: number): void {
    if (lease.refilling) return;
    lease.refilling = true;
    this.primary.request<number>('rate.lease', { key, perSecond, want: this.leaseSize(perSecond) }).then(
      (granted) => {
        lease.tokens += granted;
        lease.refilling = false;
      },
      () => {
        lease.refilling = false;
      },
    );
  }
}
