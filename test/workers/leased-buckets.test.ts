/** API rate limits of a multi-worker node are counted for the node: workers lease tokens from the hub. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { NodeHub } from '../../src/workers/hub.js';
import { IpcPeer, type IpcEndpoint } from '../../src/platform/ipc.js';
import { LeasedBuckets } from '../../src/workers/leased-buckets.js';

function channel(): [IpcEndpoint, IpcEndpoint] {
  const a = new EventEmitter() as IpcEndpoint & EventEmitter;
  const b = new EventEmitter() as IpcEndpoint & EventEmitter;
  a.send = (m) => (setImmediate(() => b.emit('message', structuredClone(m))), true);
  b.send = (m) => (setImmediate(() => a.emit('message', structuredClone(m))), true);
  return [a, b];
}

const settle = () => new Promise((r) => setTimeout(r, 20));

test('two workers together admit about one budget per second, not one each', async () => {
  const hub = new NodeHub(() => Promise.reject(new Error('no store')));
  const workers = ['w1', 'w2'].map((node) => {
    const [primarySide, workerSide] = channel();
    hub.attach(node, new IpcPeer(primarySide));
    return new LeasedBuckets(new IpcPeer(workerSide), 2);
  });
  const perSecond = 40;
  let admitted = 0;
  const started = Date.now();
  // Requests arrive on both workers in turn, far faster than the budget refills.
  for (let round = 0; round < 100; round++) {
    for (const w of workers) if (w.take('app', perSecond)) admitted++;
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
  }
  const elapsedS = (Date.now() - started) / 1000;
  hub.stop();
  // One budget (40) plus what refilled meanwhile, plus each worker's first-sight request.
  const allowed = perSecond * (1 + elapsedS) + 2;
  assert.ok(admitted <= allowed, `admitted ${admitted} > ${allowed.toFixed(1)}: more than the node's budget`);
  assert.ok(admitted >= perSecond * 0.75, `admitted ${admitted}: the node's budget is usable`);
});

test('an unlimited app is never refused and asks nothing', () => {
  const [, workerSide] = channel();
  const buckets = new LeasedBuckets(new IpcPeer(workerSide), 2);
  for (let i = 0; i < 1000; i++) assert.equal(buckets.take('app', 0), true);
});
