/**
 * Spec A.3: subscriber counts go out on each change, but at most every 5 s for channels over
 * 100 subscribers. Written once; used for the pusher_internal:subscription_count frames a node
 * sends its sockets and for the `subscriptionCount` observer of the node that made a change.
 */
import type { Clock, TimerHandle } from '../scaling/clock.js';

export const COUNT_THROTTLE_ABOVE = 100;
export const COUNT_THROTTLE_MS = 5000;

export class CountThrottle {
  private sentAt = Number.NEGATIVE_INFINITY;
  private latest = 0;
  private timer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly fire: (count: number) => void,
  ) {}

  /** A new count: fired now, or (above the threshold) at the end of the current 5 s window with the latest value. */
  offer(count: number): void {
    this.latest = count;
    if (count <= COUNT_THROTTLE_ABOVE) {
      this.cancel();
      return this.flush();
    }
    if (this.timer) return;
    const wait = this.sentAt + COUNT_THROTTLE_MS - this.clock.now();
    if (wait <= 0) return this.flush();
    this.timer = this.clock.setTimeout(() => this.flush(), wait);
  }

  /** True while a throttled count waits for its window. */
  get waiting(): boolean {
    return this.timer !== undefined;
  }

  /** Nothing waits and the last window has passed: forgetting this throttle changes nothing. */
  idle(now: number): boolean {
    return this.timer === undefined && now - this.sentAt >= COUNT_THROTTLE_MS;
  }

  cancel(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private flush(): void {
    this.timer = undefined;
    this.sentAt = this.clock.now();
    this.fire(this.latest);
  }
}
