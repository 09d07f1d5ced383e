// Scenario gc's C subscribers (bench/reference/c-subscribers.c) against a real Herald: they
// connect and subscribe, ignore the warm-up phase, count every delivery of the measured phase and
// the out-of-order ones, and report latency. Skipped when no C compiler is installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { join } from 'node:path';
import { compileCSubscribers } from '../../bench/lib/scenarios/c-subscribers.js';
import { BENCH_EVENT, encodePayload } from '../../bench/lib/payload.js';
import { startTestHerald } from '../helpers/herald.js';

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
