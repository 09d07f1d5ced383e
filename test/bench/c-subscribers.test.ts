// Scenario gc's C subscribers (bench/reference/c-subscribers.c) against a real Herald: they
// connect and subscribe, ignore the warm-up phase, count every delivery of the measured phase and
// the out-of-order ones, and report latency. Skipped when no C compiler is installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileCSubscribers } from '../../bench/lib/scenarios/c-subscribers.js';
import { BENCH_EVENT, encodePayload } from '../../bench/lib/payload.js';
import { startTestHerald } from '../helpers/herald.js';
import { eventually } from '../helpers/wait.js';

const ROOT = join(import.meta.dirname, '..', '..');
const binary = compileCSubscribers(ROOT);

test('c-subscribers: every measured delivery counted once, the warm-up ignored, a repeated sequence number counted out of order', { skip: binary ? false : 'no C compiler', timeout: 60_000 }, async () => {
  const h = await startTestHerald();
  const child = spawn(binary!, ['--port', String(h.port), '--key', h.app.key, '--channel', 'gc-test', '--subs', '20', '--clients', '2']);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  try {
    const ready = (await lines.next()).value as string;
    assert.match(ready, /^ready \d+,\d+$/);
    const sdk = h.pusherServer();
    const publish = (seq: number, phase: number) => sdk.trigger('gc-test', BENCH_EVENT, encodePayload(seq, phase, 'x'));
    await publish(1, 1); // warm-up: read and ignored
    child.stdin.write('phase 2\n');
    assert.equal((await lines.next()).value, 'phase 2', 'the measured phase is in place before anything is published');
    for (const seq of [1, 2, 2]) await publish(seq, 2);
    child.stdin.write('end 60\n');
    const outcome = JSON.parse((await lines.next()).value as string) as Record<string, number>;
    assert.equal(outcome.frames, 60, '3 events × 20 subscribers, the warm-up event not counted');
    assert.equal(outcome.expected, 60);
    assert.equal(outcome.order, 20, 'the repeated sequence number, once per subscriber');
    assert.equal(outcome.bad, 0);
    assert.ok(outcome.p50! > 0 && outcome.p50! <= outcome.p99! && outcome.p99! <= outcome.max!, JSON.stringify(outcome));
    await once(child, 'exit');
    assert.equal(child.exitCode, 0);
  } finally {
    child.kill();
    await h.stop();
  }
});

test('c-subscribers --defer-ms: deliveries timed by the kernel\'s receive timestamp, each counted once', { skip: binary ? false : 'no C compiler', timeout: 60_000 }, async () => {
  const h = await startTestHerald();
  const child = spawn(binary!, ['--port', String(h.port), '--key', h.app.key, '--channel', 'gk-test', '--subs', '20', '--clients', '2', '--defer-ms', '50']);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  try {
    assert.match((await lines.next()).value as string, /^ready \d+,\d+$/);
    child.stdin.write('phase 2\n');
    assert.equal((await lines.next()).value, 'phase 2');
    const sdk = h.pusherServer();
    for (const seq of [1, 2]) await sdk.trigger('gk-test', BENCH_EVENT, encodePayload(seq, 2, 'x'));
    child.stdin.write('end 40\n');
    const outcome = JSON.parse((await lines.next()).value as string) as Record<string, number>;
    assert.equal(outcome.frames, 40, '2 events × 20 subscribers, read after the deferral');
    assert.equal(outcome.unstamped, 0, 'every read carried the kernel\'s receive timestamp');
    assert.equal(outcome.order, 0);
    assert.equal(outcome.bad, 0);
    await once(child, 'exit');
    assert.equal(child.exitCode, 0);
  } finally {
    child.kill();
    await h.stop();
  }
});

test('c-subscribers: its client processes go when it is killed before it stops them', { skip: binary ? false : 'no C compiler', timeout: 60_000 }, async () => {
  const h = await startTestHerald();
  const child = spawn(binary!, ['--port', String(h.port), '--key', h.app.key, '--channel', 'gc-kill', '--subs', '4', '--clients', '2']);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  try {
    const pids = ((await lines.next()).value as string).slice('ready '.length).split(',').map(Number);
    // Running or sleeping; a zombie waiting for whoever adopted it to reap it has exited.
    const alive = (pid: number) => {
      try {
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    assert.ok(pids.every(alive));
    child.kill('SIGKILL');
    await eventually(() => !pids.some(alive), 10_000, 'the client processes to exit');
  } finally {
    child.kill();
    await h.stop();
  }
});
