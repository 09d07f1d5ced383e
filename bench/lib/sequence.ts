/**
 * Per-subscriber sequence accounting. Publishes that are in flight at the same time on different
 * HTTP connections may legitimately reach the server (and so the subscriber) in either order, so
 * a gap is not a loss yet: the window remembers which of the 32 numbers below the highest one have
 * arrived, telling a late arrival (reordered) from a second copy (duplicate). Loss is decided at
 * the end: published − distinct received.
 */

export type Arrival = 'new' | 'reordered' | 'duplicate';

const WINDOW = 32;

export class SequenceWindow {
  /** Highest sequence number received (0 = none). */
  highest = 0;
  /** Distinct sequence numbers received. */
  received = 0;
  reordered = 0;
  duplicates = 0;
  /** Bit i set = sequence number `highest - 1 - i` arrived. */
  private seen = 0;

  record(seq: number): Arrival {
    if (seq > this.highest) {
      const shift = seq - this.highest;
      if (this.highest === 0) this.seen = 0;
      else if (shift > WINDOW) this.seen = 0;
      else if (shift === WINDOW) this.seen = 1 << (WINDOW - 1);
      else this.seen = ((this.seen << shift) | (1 << (shift - 1))) >>> 0;
      this.highest = seq;
      this.received++;
      return 'new';
    }
    if (seq === this.highest) {
      this.duplicates++;
      return 'duplicate';
    }
    const distance = this.highest - 1 - seq;
    if (distance >= WINDOW) {
      // Too old to tell apart; reordering that far means something is badly wrong anyway.
      this.received++;
      this.reordered++;
      return 'reordered';
    }
    const bit = 1 << distance;
    if (this.seen & bit) {
      this.duplicates++;
      return 'duplicate';
    }
    this.seen = (this.seen | bit) >>> 0;
    this.received++;
    this.reordered++;
    return 'reordered';
  }

  reset(): void {
    this.highest = 0;
    this.received = 0;
    this.reordered = 0;
    this.duplicates = 0;
    this.seen = 0;
  }
}
