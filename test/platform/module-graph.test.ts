/**
 * The module graph without a server: start plans (order, missing services, cycles) and typed
 * service access (declared reads only, optional and later services).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ModuleGraphError, planStart, serviceKey, ServiceRegistry, type ModuleDeclaration } from '../../src/platform/module-graph.js';

const DATABASE = serviceKey<() => string>('database');
const APPS = serviceKey<{ count: number }>('apps');
const WEBHOOKS = serviceKey<string>('webhooks');

const names = (modules: ModuleDeclaration[]) => modules.map((m) => m.name);

test('a list that satisfies its declarations starts as listed', () => {
  const modules: ModuleDeclaration[] = [
    { name: 'storage', provides: [DATABASE] },
    { name: 'apps', provides: [APPS], needs: [DATABASE] },
    { name: 'webhooks', provides: [WEBHOOKS], needs: [DATABASE], optional: [APPS] },
    { name: 'metrics', optional: [WEBHOOKS] },
  ];
  assert.deepEqual(names(planStart(modules)), ['storage', 'apps', 'webhooks', 'metrics']);
});

test('providers start before the modules that need them, ties keep the listed order', () => {
  const modules: ModuleDeclaration[] = [
    { name: 'metrics', optional: [WEBHOOKS] },
    { name: 'webhooks', provides: [WEBHOOKS], needs: [DATABASE] },
    { name: 'console' },
    { name: 'storage', provides: [DATABASE] },
  ];
  assert.deepEqual(names(planStart(modules)), ['console', 'storage', 'webhooks', 'metrics']);
});

test('a later read adds no order; an after constraint does', () => {
  const modules: ModuleDeclaration[] = [
    { name: 'graphql', later: [APPS] },
    { name: 'metrics', after: [{ module: 'apps', why: 'hook order' }] },
    { name: 'apps', provides: [APPS] },
  ];
  assert.deepEqual(names(planStart(modules)), ['graphql', 'apps', 'metrics']);
});

test('an after constraint naming an absent module is ignored', () => {
  assert.deepEqual(names(planStart([{ name: 'metrics', after: [{ module: 'apps', why: 'hook order' }] }])), ['metrics']);
});

test('a decorator runs after the provider and before every other reader', () => {
  const modules: ModuleDeclaration[] = [
    { name: 'beams', needs: [DATABASE] },
    { name: 'storage', provides: [DATABASE] },
    { name: 'apps', needs: [DATABASE], decorates: [DATABASE] },
  ];
  assert.deepEqual(names(planStart(modules)), ['storage', 'apps', 'beams']);
});

test('a missing required service fails the plan, naming the module, the service and the list', () => {
  const modules: ModuleDeclaration[] = [{ name: 'apps', needs: [DATABASE] }, { name: 'console' }];
  assert.throws(
    () => planStart(modules),
    (err: unknown) => err instanceof ModuleGraphError && /module 'apps' needs the service 'database'/.test(err.message) && /\(apps, console\)/.test(err.message),
  );
});

test('an absent optional service is no error', () => {
  assert.deepEqual(names(planStart([{ name: 'metrics', optional: [WEBHOOKS] }])), ['metrics']);
});

test('a cycle fails the plan with its path', () => {
  const modules: ModuleDeclaration[] = [
    { name: 'a', provides: [APPS], needs: [WEBHOOKS] },
    { name: 'b', provides: [WEBHOOKS], optional: [APPS] },
    { name: 'c', needs: [APPS] },
  ];
  assert.throws(
    () => planStart(modules),
    (err: unknown) => err instanceof ModuleGraphError && /cycle: (a → b → a|b → a → b)/.test(err.message),
  );
});

test('two providers of one service fail the plan', () => {
  const modules: ModuleDeclaration[] = [
    { name: 'storage', provides: [DATABASE] },
    { name: 'remote-storage', provides: [DATABASE] },
  ];
  assert.throws(() => planStart(modules), /'storage' and 'remote-storage' both provide the service 'database'/);
});

test('typed access: need, optional, provide', () => {
  const services = new ServiceRegistry();
  const storage = services.accessFor({ name: 'storage', provides: [DATABASE] });
  storage.provide(DATABASE, () => 'db');
  const apps = services.accessFor({ name: 'apps', needs: [DATABASE], optional: [WEBHOOKS] });
  assert.equal(apps.need(DATABASE)(), 'db');
  assert.equal(apps.optional(WEBHOOKS), undefined);
});

test('reading or providing a service not declared is an error naming the module', () => {
  const services = new ServiceRegistry();
  services.accessFor({ name: 'storage', provides: [DATABASE] }).provide(DATABASE, () => 'db');
  const console = services.accessFor({ name: 'console', optional: [WEBHOOKS] });
  assert.throws(() => console.need(DATABASE), /module 'console' reads the service 'database' without declaring it in 'needs'/);
  assert.throws(() => console.optional(DATABASE), /without declaring it in 'optional'/);
  assert.throws(() => console.later(DATABASE), /without declaring it in 'later'/);
  assert.throws(() => console.provide(WEBHOOKS, 'x'), /module 'console' provides the service 'webhooks' without declaring it/);
});

test('a needed service its provider did not register is an error', () => {
  const services = new ServiceRegistry();
  assert.throws(() => services.accessFor({ name: 'apps', needs: [DATABASE] }).need(DATABASE), /did not register at start/);
});

test('a later service answers only once every module has started', () => {
  const services = new ServiceRegistry();
  const read = services.accessFor({ name: 'graphql', later: [APPS, WEBHOOKS] });
  const apps = read.later(APPS);
  const webhooks = read.later(WEBHOOKS);
  services.accessFor({ name: 'apps', provides: [APPS] }).provide(APPS, { count: 2 });
  assert.equal(apps(), undefined);
  services.allStarted();
  assert.deepEqual(apps(), { count: 2 });
  assert.equal(webhooks(), undefined, 'nobody provides it');
});

test('decorate wraps the value every later reader sees', () => {
  const services = new ServiceRegistry();
  services.accessFor({ name: 'storage', provides: [DATABASE] }).provide(DATABASE, () => 'db');
  services.accessFor({ name: 'apps', decorates: [DATABASE] }).decorate(DATABASE, (open) => () => `locked ${open()}`);
  assert.equal(services.accessFor({ name: 'beams', needs: [DATABASE] }).need(DATABASE)(), 'locked db');
});
