/**
 * The start plans of the real module lists, without starting anything: the declarations agree
 * with the listed order (so start order is what src/server/modules.ts reads), and a worker's
 * modules start after the worker module that provides their IPC services.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema } from '../../src/config/schema.js';
import { planStart } from '../../src/platform/module-graph.js';
import { defaultModules } from '../../src/server/modules.js';
import { IpcPeer } from '../../src/platform/ipc.js';
import { workerParts } from '../../src/workers/worker.js';

const names = (modules: { name: string }[]) => modules.map((m) => m.name);

test('the default modules start in their listed order', () => {
  const modules = defaultModules();
  assert.deepEqual(names(planStart(modules)), names(modules));
  assert.equal(names(planStart(modules)).at(-1), 'metrics');
});

test("a worker's modules start after the worker module, metrics after apps", () => {
  for (const input of [{}, { databaseUrl: 'postgres://127.0.0.1/none' }, { broker: 'redis' as const }]) {
    const config = configSchema.parse(input);
    const peer = new IpcPeer({ send: () => true, on: () => undefined });
    const parts = workerParts(peer, config, 'worker-test');
    const order = names(planStart(parts.modules!));
    assert.deepEqual(order, names(parts.modules!), JSON.stringify(input));
    assert.equal(order[0], 'worker');
    assert.ok(order.indexOf('apps') < order.indexOf('metrics'));
    parts.disconnected();
  }
});

test('a list without storage fails before anything starts, naming who needs it', () => {
  const modules = defaultModules().filter((m) => m.name !== 'storage');
  assert.throws(() => planStart(modules), /module 'apps' needs the service 'database', which no listed module provides/);
});
