/**
 * The vacate window for live webhook subscribers. WebhookEventSource (src/webhooks/events.ts) decides
 * which events wait (`timing.hold`: channel_vacated, member_removed) and which cancel a waiting one
 * (`timing.cancels`: channel_occupied, member_added); the webhooks outbox applies that durably for
 * endpoints, this applies it in memory for GraphQL subscribers: a held event is released after its
 * delay unless cancelled, and a cancelling event that found its match is not reported either.
 */
import type { EventTiming } from '../webhooks/events.js';

interface Held<T> {
  value: T;
  timer: NodeJS.Timeout;
}

export class HeldEvents<T> {
  private readonly held = new Map<string, Held<T>>();

  constructor(
    private readonly release: (value: T) => void,
    /** Beyond this many waiting events, new ones are released at once (bounded memory). */
    private readonly maxHeld = 10_000,
  ) {}

  /** Handles one event of `scope` (an app id) according to its timing. */
  offer(scope: string, value: T, timing: EventTiming): void {
    if (timing.cancels !== undefined) {
      const key = `${scope}\0${timing.cancels}`;
      const waiting = this.held.get(key);
      if (waiting) {
        clearTimeout(waiting.timer);
        this.held.delete(key);
        return;
      }
    }
    if (timing.hold && this.held.size < this.maxHeld) {
      const key = `${scope}\0${timing.hold.key}`;
      // A second hold for the same key cannot happen without a cancel in between; be safe anyway.
      const previous = this.held.get(key);
      if (previous) {
        clearTimeout(previous.timer);
        this.release(previous.value);
      }
      const timer = setTimeout(() => {
        this.held.delete(key);
        this.release(value);
      }, timing.hold.ms);
      timer.unref();
      this.held.set(key, { value, timer });
      return;
    }
    this.release(value);
  }

  /** Drops every waiting event (shutdown). */
  clear(): void {
    for (const entry of this.held.values()) clearTimeout(entry.timer);
    this.held.clear();
  }

  get size(): number {
    return this.held.size;
  }
}
