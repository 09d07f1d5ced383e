// Scenario gc's C subscribers (bench/reference/c-subscribers.c) against a real Herald: they
// connect and subscribe, ignore the warm-up phase, count every delivery of the measured phase and
// the out-of-order ones, and report latency. Skipped when no C compiler is installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileCSubscribers } from '../../bench/lib/scenarios/c-subscribers.js';
import { BENCH_EVENT, encodePayload } from '../../bench/lib/payload.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { eventually } from '../helpers/wait.js';

const ROOT = join(import.meta.dirname, '..', '..');
const binary = compileCSubscribers(ROOT);

const SKIP = { skip: binary ? false : 'no C compiler', timeout: 60_000 };

interface Run {
  h: TestHerald;
  child: ChildProcessWithoutNullStreams;
  /** The client processes ("ready <pids>"). */
  pids: number[];
  nextLine(): Promise<string>;
  /** Publishes a bench event of `phase` with sequence number `seq`. */
  publish(seq: number, phase: number): Promise<unknown>;
  /** Selects the measured phase (answered once in place). */
  measure(phase: number): Promise<void>;
  /** "end <expected>" and the JSON report. */
  report(expected: number): Promise<Record<string, number>>;
}

/** A Herald and c-subscribers' `subs` connections to `channel`, ready; both stopped after `body`. */
async function withSubscribers(channel: string, subs: number, extra: string[], body: (run: Run) => Promise<void>): Promise<void> {
  const h = await startTestHerald();
  const child = spawn(binary!, ['--port', String(h.port), '--key', h.app.key, '--channel', channel, '--subs', String(subs), '--clients', '2', ...extra]);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const nextLine = async () => (await lines.next()).value as string;
  try {
    const ready = await nextLine();
    assert.match(ready, /^ready \d+,\d+$/);
    const sdk = h.pusherServer();
    await body({
      h,
      child,
      pids: ready.slice('ready '.length).split(',').map(Number),
      nextLine,
      publish: (seq, phase) => sdk.trigger(channel, BENCH_EVENT, encodePayload(seq, phase, 'x')),
      async measure(phase) {
        child.stdin.write(`phase ${phase}\n`);
        assert.equal(await nextLine(), `phase ${phase}`, 'the measured phase is in place before anything is published');
      },
      async report(expected) {
        child.stdin.write(`end ${expected}\n`);
        return JSON.parse(await nextLine()) as Record<string, number>;
      },
    });
  } finally {
    child.kill();
    await h.stop();
  }
}

test('c-subscribers: every measured delivery counted once, the warm-up ignored, a repeated sequence number counted out of order', SKIP, () =>
  withSubscribers('gc-test', 20, [], async ({ child, publish, measure, report }) => {
    await publish(1, 1); // warm-up: read and ignored
    await measure(2);
    for (const seq of [1, 2, 2]) await publish(seq, 2);
    const outcome = await report(60);
    assert.equal(outcome.frames, 60, '3 events × 20 subscribers, the warm-up event not counted');
    assert.equal(outcome.expected, 60);
    assert.equal(outcome.order, 20, 'the repeated sequence number, once per subscriber');
    assert.equal(outcome.bad, 0);
    assert.ok(outcome.p50! > 0 && outcome.p50! <= outcome.p99! && outcome.p99! <= outcome.max!, JSON.stringify(outcome));
    await once(child, 'exit');
    assert.equal(child.exitCode, 0);
  }),
);

test("c-subscribers --defer-ms: deliveries timed by the kernel's receive timestamp, each counted once", SKIP, () =>
  withSubscribers('gk-test', 20, ['--defer-ms', '50'], async ({ child, publish, measure, report }) => {
    await measure(2);
    for (const seq of [1, 2]) await publish(seq, 2);
    const outcome = await report(40);
    assert.equal(outcome.frames, 40, '2 events × 20 subscribers, read after the deferral');
    assert.equal(outcome.unstamped, 0, "every read carried the kernel's receive timestamp");
    assert.equal(outcome.order, 0);
    assert.equal(outcome.bad, 0);
    await once(child, 'exit');
    assert.equal(child.exitCode, 0);
  }),
);

/** Running or sleeping; a zombie waiting for whoever adopted it to reap it has exited. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

test('c-subscribers: its client processes go when it is killed before it stops them', SKIP, () =>
  withSubscribers('gc-kill', 4, [], async ({ child, pids }) => {
    assert.ok(pids.every(alive));
    child.kill('SIGKILL');
    await eventually(() => !pids.some(alive), 10_000, 'the client processes to exit');
  }),
);
