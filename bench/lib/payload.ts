/**
 * Benchmark event payloads and the receiver's fast frame decoder.
 *
 * The publisher puts a send timestamp, a per-channel sequence number and a phase number in the
 * event data: `{"t":<ms>,"s":<seq>,"p":<phase>,"x":"<padding>"}`. Receivers compute latency from
 * `t`, detect loss and duplicates from `s`, and ignore stragglers of an earlier phase (warm-up).
 *
 * Timestamps are `performance.timeOrigin + performance.now()` (sub-millisecond wall-clock) so that
 * separate processes on the same machine agree to within a few microseconds.
 */
import { performance } from 'node:perf_hooks';

export const BENCH_EVENT = 'bench-event';

export function nowMillis(): number {
  return performance.timeOrigin + performance.now();
}

export interface BenchPayload {
  sentAt: number;
  seq: number;
  phase: number;
}

/** Event data string (what goes into the HTTP API `data` field). */
export function encodePayload(seq: number, phase: number, padding: string, sentAt: number = nowMillis()): string {
  return `{"t":${sentAt.toFixed(3)},"s":${seq},"p":${phase},"x":"${padding}"}`;
}

export function makePadding(payloadBytes: number): string {
  // ~45 bytes are taken by the fields themselves.
  return 'x'.repeat(Math.max(0, Math.min(10_000, payloadBytes - 45)));
}

// Inside the frame the data is a JSON string, so its quotes appear escaped: \"t\":123.456
const ESCAPED_FIELDS = /\\"t\\":([0-9.]+),\\"s\\":(\d+),\\"p\\":(\d+)/;

/**
 * Extracts the payload of a benchmark channel event from a raw frame. A regular expression on the
 * raw text avoids two JSON.parse calls per delivery, which matters when the generator shares the
 * machine with the server; it falls back to full parsing if a server formats frames differently.
 */
export function decodeBenchFrame(frame: string): BenchPayload | undefined {
  const match = ESCAPED_FIELDS.exec(frame);
  if (match) return { sentAt: Number(match[1]), seq: Number(match[2]), phase: Number(match[3]) };
  try {
    const outer = JSON.parse(frame) as { data?: unknown };
    const inner = typeof outer.data === 'string' ? JSON.parse(outer.data) : outer.data;
    if (inner && typeof inner === 'object') {
      const { t, s, p } = inner as Record<string, unknown>;
      if (typeof t === 'number' && typeof s === 'number' && typeof p === 'number') return { sentAt: t, seq: s, phase: p };
    }
  } catch {
    /* not a benchmark payload */
  }
  return undefined;
}

/** Cheap event-name check on the raw frame text (the server writes `"event":"name"` without spaces). */
export function frameEventName(frame: string): string | undefined {
  const start = frame.indexOf('"event":"');
  if (start < 0) return undefined;
  const end = frame.indexOf('"', start + 9);
  return end < 0 ? undefined : frame.slice(start + 9, end);
}
