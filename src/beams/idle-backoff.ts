/**
 * The waits of a worker that polls a queue in the store (the delivery worker's publish queue, the
 * webhooks' outbox). Checking an empty queue every second costs an idle node a store query a
 * second, so while checks find nothing the wait doubles from `minMs` up to `maxMs`; work found,
 * or a local wake() (this node just queued something), brings it back to `minMs`. Work this node
 * itself put off (a retry) wakes it when it falls due, whatever the wait has grown to. What other
 * nodes queue is only seen by polling: `maxMs` bounds how late that is picked up.
 */
export class IdleBackoff {
  private nextWaitMs: number;
  private readonly maxMs: number;
  private woken = false;
  private wakeUp: (() => void) | undefined;
  /** Pending wake-ups for work put off until later: timer → when it fires (unix ms). */
  private readonly dueWakes = new Map<NodeJS.Timeout, number>();

  constructor(private readonly minMs: number, maxMs: number) {
    this.maxMs = Math.max(minMs, maxMs);
    this.nextWaitMs = minMs;
  }

  /** The queue was found empty: the wait before the next check (the one after is twice as long, up to maxMs). */
  backOff(): number {
    const waitMs = this.nextWaitMs;
    this.nextWaitMs = Math.min(waitMs * 2, this.maxMs);
    return waitMs;
  }

  /** Work was found: the next idle wait is minMs again. */
  reset(): void {
    this.nextWaitMs = this.minMs;
  }

  /** Waits `ms`, cut short by wake(); ends at once if wake() was called since the last wait ended. */
  wait(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        this.woken = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }

  /** Check now: ends the current wait (or the next one, if the worker is busy) and resets the back-off. */
  wake(): void {
    this.woken = true;
    this.reset();
    this.wakeUp?.();
  }

  /**
   * wake() when work put off by `delayMs` falls due. With `slackMs`, a wake-up already pending
   * between then and `slackMs` later serves instead (else a new one fires `slackMs` late), so a
   * burst of failures with the same delay costs one timer per slackMs, not one per failure.
   */
  wakeIn(delayMs: number, slackMs = 0): void {
    const dueAt = Date.now() + delayMs;
    for (const at of this.dueWakes.values()) if (at >= dueAt && at <= dueAt + slackMs) return;
    const timer = setTimeout(() => {
      this.dueWakes.delete(timer);
      this.wake();
    }, delayMs + slackMs);
    // Never what keeps the process alive: the wake-up is only useful while the worker runs.
    timer.unref();
    this.dueWakes.set(timer, dueAt + slackMs);
  }

  /** Cancels pending wake-ups and ends the current wait (the worker is stopping). */
  close(): void {
    for (const timer of this.dueWakes.keys()) clearTimeout(timer);
    this.dueWakes.clear();
    this.wake();
  }
}
