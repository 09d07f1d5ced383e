/**
 * How often an idle delivery worker checks the publish queue, without a store or sockets: a fake
 * queue counts claims and Node's mock timers drive the waits. The wait doubles from pollMs while
 * the queue stays empty, up to maxIdlePollMs, and wake() (a publish accepted here) resets it.
 */
import { afterEach, beforeEach, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { DeliveryWorker } from '../../src/beams/delivery.js';

/** Lets the worker's loop run what the last timer released (promise turns, no timers). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function idleWorker(options: { pollMs: number; maxIdlePollMs: number }) {
  const queue = {
    claims: 0,
    async claim() {
      queue.claims++;
      return undefined;
    },
    async purgeFinished() {
      return 0;
    },
  };
  const silent = { info() {}, warn() {}, error() {}, debug() {} };
  const worker = new DeliveryWorker({ publishes: queue, devices: {}, instances: {}, providers: {}, logger: silent } as never, options);
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
