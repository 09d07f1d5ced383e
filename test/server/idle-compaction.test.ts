/** Idle compaction decides from CPU use and heap growth alone; probes stand in for the process. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { idleCompactor } from '../../src/server/idle-compaction.js';

const MB = 1024 * 1024;

function fakeProcess() {
  const state = { cpu: 0, heap: 40 * MB, collections: 0 };
  const probes = {
    cpuMicros: () => state.cpu,
    heapBytes: () => state.heap,
    collect: () => {
      state.collections++;
      state.heap = 20 * MB;
    },
  };
  return { state, probes };
}

test('a busy interval never collects; the first idle interval after growth collects once', () => {
  const { state, probes } = fakeProcess();
  const compactor = idleCompactor(probes, { intervalMs: 10_000, idleShare: 0.02, minHeapGrowthBytes: 4 * MB });
  state.cpu += 5_000_000; // 50 % of a core over 10 s
  assert.equal(compactor.check(), false);
  assert.equal(state.collections, 0);
  state.cpu += 10_000; // 0.1 %
  assert.equal(compactor.check(), true);
  assert.equal(state.collections, 1);
  assert.equal(compactor.check(), false, 'nothing grew since: no second collection');
  assert.equal(state.collections, 1);
});

test('after a collection, growth below the threshold is left alone and growth above it collects again when idle', () => {
  const { state, probes } = fakeProcess();
  const compactor = idleCompactor(probes, { intervalMs: 10_000, minHeapGrowthBytes: 4 * MB });
  assert.equal(compactor.check(), true);
  state.heap += 3 * MB;
  assert.equal(compactor.check(), false);
  state.heap += 2 * MB;
  state.cpu += 3_000_000; // busy again
  assert.equal(compactor.check(), false);
  assert.equal(compactor.check(), true);
  assert.equal(state.collections, 2);
});
