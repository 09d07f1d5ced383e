/**
 * How often an idle delivery worker checks the publish queue, without a store or sockets: a fake
 * queue counts claims and Node's mock timers drive the waits. The wait doubles from pollMs while
 * the queue stays empty, up to maxIdlePollMs, and wake() (a publish accepted here) resets it; a job
 * put back for a retry wakes the worker when the retry falls due.
 */
import { afterEach, beforeEach, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { DeliveryWorker } from '../../src/beams/delivery.js';

/** Lets the worker's loop run what the last timer released (promise turns, no timers). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** `job`, when given, is handed out by the first claim; `instances` replaces an empty stub. */
function idleWorker(options: { pollMs: number; maxIdlePollMs: number }, given: { job?: object; instances?: object } = {}) {
  let job = given.job;
  const queue = {
    claims: 0,
    /** The delay of each release (a job put back for a retry). */
    released: [] as Array<number | undefined>,
    async claim() {
      queue.claims++;
      const next = job;
      job = undefined;
      return next;
    },
    async release(_id: string, _owner: string, delayMs?: number) {
      queue.released.push(delayMs);
    },
    async purgeFinished() {
      return 0;
    },
  };
  const silent = { info() {}, warn() {}, error() {}, debug() {} };
  const deps = { publishes: queue, devices: {}, instances: given.instances ?? {}, providers: {}, logger: silent };
  const worker = new DeliveryWorker(deps as never, options);
  return { worker, queue };
}

beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
afterEach(() => mock.timers.reset());

test('an empty queue is checked after 1, 2, 4… pollMs, never less often than maxIdlePollMs', async () => {
  const { worker, queue } = idleWorker({ pollMs: 1000, maxIdlePollMs: 4000 });
  worker.start();
  await settle();
  assert.equal(queue.claims, 1);
  const expectedWaits = [1000, 2000, 4000, 4000, 4000];
  for (const wait of expectedWaits) {
    mock.timers.tick(wait - 1);
    await settle();
    const before: number = queue.claims;
    mock.timers.tick(1);
    await settle();
    assert.equal(queue.claims, before + 1, `a check ${wait} ms after the previous one`);
  }
  const stopped = worker.stop();
  await settle();
  await stopped;
});

test('wake() checks at once and starts the waits again from pollMs', async () => {
  const { worker, queue } = idleWorker({ pollMs: 1000, maxIdlePollMs: 8000 });
  worker.start();
  await settle();
  for (const wait of [1000, 2000, 4000]) {
    mock.timers.tick(wait);
    await settle();
  }
  assert.equal(queue.claims, 4); // now waiting 8 s
  worker.wake();
  await settle();
  assert.equal(queue.claims, 5, 'a local publish is looked for at once');
  mock.timers.tick(1000);
  await settle();
  assert.equal(queue.claims, 6, 'then the next check comes after pollMs again');
  const stopped = worker.stop();
  await settle();
  await stopped;
});

test('a job put back for a retry is looked for when the retry falls due, not at the next idle check', async () => {
  // attempts 2: the worker puts the job back for 1000 × 2² = 4000 ms (delivery.ts, runJob's catch).
  const job = { id: 'p1', instanceId: 'i1', kind: 'interests', targets: ['a'], payload: {}, cursor: '', attempts: 2 };
  // The instance lookup failing is a retryable interruption of the job.
  const instances = {
    async get() {
      throw new Error('store unavailable');
    },
  };
  const { worker, queue } = idleWorker({ pollMs: 10_000, maxIdlePollMs: 60_000 }, { job, instances });
  worker.start();
  await settle();
  assert.deepEqual(queue.released, [4000], 'the job went back to the queue with a 4 s delay');
  // The finished job woke the worker once; its idle check now waits pollMs (10 s), past the retry.
  const afterFailure: number = queue.claims;
  mock.timers.tick(3999);
  await settle();
  assert.equal(queue.claims, afterFailure, 'nothing is due before the retry');
  mock.timers.tick(1);
  await settle();
  assert.equal(queue.claims, afterFailure + 1, 'the queue is checked when the retry falls due');
  mock.timers.tick(9999);
  await settle();
  assert.equal(queue.claims, afterFailure + 1, 'then the idle waits start again from pollMs');
  mock.timers.tick(1);
  await settle();
  assert.equal(queue.claims, afterFailure + 2);
  const stopped = worker.stop();
  await settle();
  await stopped;
});
