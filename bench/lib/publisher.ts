/**
 * Signed HTTP publisher (POST /apps/{id}/events) over keep-alive connections.
 *
 * One loop covers the three ways the scenarios drive load:
 * - `rate`: open loop, N events/s spread evenly (a, b, f); it never waits for deliveries, so a slow
 *   server shows up as latency rather than as a lower send rate;
 * - no rate: as fast as `concurrency` requests in flight allow (c);
 * - `gate`: as fast as possible while the gate is open; saturation (e) closes it while too many
 *   events are still undelivered, so the server's send buffers stay bounded.
 */
import http from 'node:http';
import { Histogram, type HistogramJSON } from './histogram.js';
import { encodePayload, makePadding, nowMillis, BENCH_EVENT } from './payload.js';
import { signedQuery, type AppCredentials } from './signing.js';
import { roundRobin } from './round-robin.js';

export interface PublishTarget {
  host: string;
  port: number;
  app: AppCredentials;
}

export interface PublishPlan {
  channels: string[];
  durationMs: number;
  /** Requests in flight at most. */
  concurrency: number;
  /** Events per second; omitted = as fast as possible. */
  rate?: number;
  phase: number;
  payloadBytes: number;
  /** Per-request timeout. */
  requestTimeoutMs?: number;
  /**
   * Publish exactly this many events: the run ends when they are all answered, however long that
   * takes (the rate still spaces them). Without it the run ends at `durationMs`.
   */
  count?: number;
}

export interface PublishResult {
  published: number;
  failed: number;
  firstError?: string;
  elapsedMs: number;
  /** HTTP response time of successful publishes. */
  responseTimes: HistogramJSON;
  /** Highest sequence number sent per channel (sequences start at 1 each phase). */
  lastSeq: Record<string, number>;
  /** Times the open-loop schedule could not be met because `concurrency` requests were pending. */
  lateSends: number;
}

const MAX_CONSECUTIVE_FAILURES = 200;

export class Publisher {
  private readonly agent: http.Agent;
  private gateOpen: () => boolean = () => true;
  private wake: (() => void) | undefined;
  /** Highest sequence number sent so far per channel in the current run (read by gates). */
  sentSeq: Record<string, number> = {};

  constructor(private readonly target: PublishTarget, maxSockets: number) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  /** Installs a gate that pauses sending while it returns false (call `poke()` when it may reopen). */
  setGate(gate: () => boolean): void {
    this.gateOpen = gate;
  }

  /** Re-evaluates the gate now instead of at the next poll. */
  poke(): void {
    this.wake?.();
  }

  close(): void {
    this.agent.destroy();
  }

  run(plan: PublishPlan): Promise<PublishResult> {
    const padding = makePadding(plan.payloadBytes);
    const responseTimes = new Histogram();
    const lastSeq: Record<string, number> = Object.fromEntries(plan.channels.map((c) => [c, 0]));
    this.sentSeq = lastSeq;
    const start = nowMillis();
    const deadline = start + plan.durationMs;
    let inFlight = 0;
    let sent = 0;
    let published = 0;
    let failed = 0;
    let consecutiveFailures = 0;
    let lateSends = 0;
    let firstError: string | undefined;
    let nextChannel = 0;
    let timer: NodeJS.Timeout | undefined;

    return new Promise<PublishResult>((resolve) => {
      const sendingOver = () =>
        consecutiveFailures >= MAX_CONSECUTIVE_FAILURES || (plan.count !== undefined ? sent >= plan.count : nowMillis() >= deadline);
      const finishIfDone = () => {
        const stopped = sendingOver();
        if (!stopped || inFlight > 0) return false;
        if (timer) clearTimeout(timer);
        this.wake = undefined;
        resolve({
          published,
          failed,
          firstError,
          elapsedMs: nowMillis() - start,
          responseTimes: responseTimes.toJSON(),
          lastSeq,
          lateSends,
        });
        return true;
      };

      const sendOne = () => {
        const channel = roundRobin(plan.channels, nextChannel, 'publish channels');
        nextChannel = (nextChannel + 1) % plan.channels.length;
        const seq = (lastSeq[channel] ?? 0) + 1;
        lastSeq[channel] = seq;
        sent++;
        inFlight++;
        const sentAt = nowMillis();
        const body = JSON.stringify({
          name: BENCH_EVENT,
          channels: [channel],
          data: encodePayload(seq, plan.phase, padding, sentAt),
        });
        this.post(body, plan.requestTimeoutMs ?? 10_000, (error) => {
          inFlight--;
          if (error) {
            failed++;
            consecutiveFailures++;
            firstError ??= error;
          } else {
            published++;
            consecutiveFailures = 0;
            responseTimes.recordMillis(nowMillis() - sentAt);
          }
          pump();
        });
      };

      const pump = () => {
        if (timer) {
          clearTimeout(timer);
          timer = undefined;
        }
        if (finishIfDone()) return;
        const now = nowMillis();
        if (sendingOver()) return; // wait for the requests in flight
        while (inFlight < plan.concurrency && this.gateOpen() && !sendingOver()) {
          if (plan.rate !== undefined) {
            const due = Math.floor(((nowMillis() - start) / 1000) * plan.rate) + 1;
            if (sent >= due) break;
          }
          sendOne();
        }
        if (plan.rate !== undefined && inFlight >= plan.concurrency) {
          const due = Math.floor(((now - start) / 1000) * plan.rate) + 1;
          if (sent < due) lateSends++;
        }
        // Wake up for the next scheduled send, or poll the gate.
        let delay = 5;
        if (plan.rate !== undefined) {
          const nextDueAt = start + (sent / plan.rate) * 1000;
          delay = Math.max(0, Math.min(50, nextDueAt - nowMillis()));
        } else if (inFlight >= plan.concurrency) {
          return; // a completion will pump again
        }
        timer = setTimeout(pump, plan.count !== undefined ? delay : Math.min(delay, deadline - nowMillis()));
      };

      this.wake = pump;
      pump();
    });
  }

  /** One signed POST; `done(error?)` is called exactly once. */
  private post(body: string, timeoutMs: number, done: (error?: string) => void): void {
    const { app, host, port } = this.target;
    const path = `/apps/${app.id}/events`;
    let finished = false;
    const finish = (error?: string) => {
      if (finished) return;
      finished = true;
      done(error);
    };
    const request = http.request(
      {
        agent: this.agent,
        host,
        port,
        method: 'POST',
        path: `${path}?${signedQuery(app, 'POST', path, body)}`,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: timeoutMs,
      },
      (response) => {
        const status = response.statusCode ?? 0;
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (text.length < 500) text += chunk;
        });
        response.on('end', () => finish(status === 200 ? undefined : `HTTP ${status}: ${text.slice(0, 200)}`));
        response.on('error', (error) => finish(error.message));
      },
    );
    request.on('timeout', () => request.destroy(new Error(`request timed out after ${timeoutMs} ms`)));
    request.on('error', (error) => finish(error.message));
    request.end(body);
  }
}
