/**
 * Delivery accounting for the soak run. Every published message (API event, batch event, client
 * event) is registered with the sessions expected to receive it: those whose subscription was
 * confirmed before the send started, minus an excluded socket. A session is one WebSocket
 * connection; a reconnect is a new session. Anything not received within `graceMs` is lost;
 * anything received twice by one session is duplicated; an excluded socket receiving is an error.
 */

export interface WindowStats {
  published: number;
  deliveries: number;
  lost: number;
  duplicated: number;
  errors: number;
  latencies: number[];
  errorSamples: string[];
}

interface PendingMessage {
  key: string;
  sentAt: number;
  /** True until the send is confirmed: the HTTP API answered, or a ping after a client event came back. */
  awaitingAck: boolean;
  /** When the send was confirmed (or sent, when no confirmation is awaited). */
  settledAt: number;
  expected: Set<number>;
  received: Set<number>;
  excluded?: number;
}

const MAX_SAMPLES = 10;
/** A session closing within this long of a send may legitimately miss the message. */
const UNCERTAIN_MS = 2000;

export function emptyWindow(): WindowStats {
  return { published: 0, deliveries: 0, lost: 0, duplicated: 0, errors: 0, latencies: [], errorSamples: [] };
}

export class DeliveryTracker {
  private readonly pending = new Map<string, PendingMessage>();
  /** Keys finalized recently: a late arrival is reported as late, not as unknown. */
  private readonly finalized = new Map<string, number>();
  window: WindowStats = emptyWindow();
  readonly totals = { published: 0, deliveries: 0, lost: 0, duplicated: 0, errors: 0 };

  constructor(private readonly graceMs: number) {}

  expect(key: string, sentAt: number, expected: Iterable<number>, options: { excluded?: number; awaitsAck?: boolean } = {}): void {
    const awaitingAck = options.awaitsAck ?? false;
    this.pending.set(key, { key, sentAt, settledAt: sentAt, awaitingAck, expected: new Set(expected), received: new Set(), excluded: options.excluded });
    this.window.published++;
    this.totals.published++;
  }

  acknowledged(key: string, at: number): void {
    const msg = this.pending.get(key);
    if (!msg) return;
    msg.awaitingAck = false;
    msg.settledAt = at;
  }

  /** The send failed: nobody should receive it, and the failure is an error. */
  failed(key: string, why: string): void {
    this.pending.delete(key);
    this.error(`publish ${key} failed: ${why}`);
  }

  received(key: string, session: number, at: number): void {
    const msg = this.pending.get(key);
    if (!msg) {
      this.error(this.finalized.has(key) ? `late delivery of ${key} to session ${session} (after ${this.graceMs} ms)` : `unknown message ${key}`);
      return;
    }
    if (msg.excluded === session) {
      this.error(`socket_id exclusion ignored: ${key} reached the excluded session ${session}`);
      return;
    }
    if (msg.received.has(session)) {
      this.window.duplicated++;
      this.totals.duplicated++;
      this.sample(`duplicate ${key} to session ${session}`);
      return;
    }
    msg.received.add(session);
    this.window.deliveries++;
    this.totals.deliveries++;
    this.window.latencies.push(at - msg.sentAt);
  }

  /** A session is going away: messages sent just before may or may not reach it. */
  sessionClosing(session: number, now: number): void {
    for (const msg of this.pending.values()) {
      if (!msg.expected.has(session) || msg.received.has(session)) continue;
      if (msg.awaitingAck || now - msg.settledAt < UNCERTAIN_MS) msg.expected.delete(session);
    }
  }

  /** Counts what messages older than the grace period never delivered. */
  finalize(now: number, all = false): void {
    for (const [key, msg] of this.pending) {
      if (!all && now - msg.sentAt < this.graceMs) continue;
      this.pending.delete(key);
      this.finalized.set(key, now);
      const missing = [...msg.expected].filter((s) => !msg.received.has(s));
      if (missing.length > 0) {
        this.window.lost += missing.length;
        this.totals.lost += missing.length;
        this.sample(`lost ${key} for session(s) ${missing.slice(0, 5).join(',')}`);
      }
    }
    for (const [key, at] of this.finalized) if (now - at > 60_000) this.finalized.delete(key);
  }

  error(detail: string): void {
    this.window.errors++;
    this.totals.errors++;
    this.sample(detail);
  }

  private sample(detail: string): void {
    if (this.window.errorSamples.length < MAX_SAMPLES) this.window.errorSamples.push(detail);
  }

  /** Returns the current window and starts a new one. */
  rotate(): WindowStats {
    const done = this.window;
    this.window = emptyWindow();
    return done;
  }
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
