/** The shared node lifecycle (heartbeats, reaper, eviction, clean leave) over a fake registry, on a manual clock. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/scaling/clock.js';
import type { ClusterChanges } from '../../src/scaling/cluster-state.js';
import { NodeLifecycle, type RegistryStore } from '../../src/scaling/node-lifecycle.js';
import { createLogger } from '../../src/platform/logger.js';

/** Registrations with an expiry on the shared clock, as Redis or the NATS KV keep them. */
class FakeRegistry implements RegistryStore {
  readonly expiries = new Map<string, number>();
  readonly removed: string[] = [];
  constructor(
    private readonly clock: ManualClock,
    private readonly timeoutMs: number,
  ) {}
  private key = (appId: string, token: string) => `${appId} ${token}`;
  async register(appId: string, token: string) {
    this.expiries.set(this.key(appId, token), this.clock.now() + this.timeoutMs);
  }
  async heartbeat(appId: string, token: string) {
    const key = this.key(appId, token);
    if (!this.expiries.has(key)) return false;
    this.expiries.set(key, this.clock.now() + this.timeoutMs);
    return true;
  }
  async expired() {
    return [...this.expiries].filter(([, at]) => at <= this.clock.now()).map(([key]) => ({ appId: key.split(' ')[0]!, token: key.split(' ')[1]! }));
  }
  async remove(appId: string, token: string): Promise<ClusterChanges | undefined> {
    if (!this.expiries.delete(this.key(appId, token))) return undefined; // claimed by someone else
    this.removed.push(token);
    return { channels: [{ channel: 'c', subscriptionCount: 0, revision: 1 }], members: [], usersOffline: [] };
  }
}

const logger = createLogger('silent', false);
const settle = () => new Promise((resolve) => setImmediate(resolve));

function node(registry: FakeRegistry, clock: ManualClock, linkHealthy = () => true) {
  const lifecycle = new NodeLifecycle({ store: registry, logger, clock, nodeTimeoutMs: 3000, linkHealthy });
  const reaped: string[] = [];
  const evicted: string[] = [];
  lifecycle.onReaped((appId) => reaped.push(appId));
  lifecycle.onEvicted((appId) => evicted.push(appId));
  return { lifecycle, reaped, evicted };
}

test('a node that stops heartbeating is reaped once, by exactly one survivor', async () => {
  const clock = new ManualClock();
  const registry = new FakeRegistry(clock, 3000);
  const dead = node(registry, new ManualClock(42)); // its own clock never moves: it never heartbeats
  const a = node(registry, clock);
  const b = node(registry, clock);
  const deadToken = await dead.lifecycle.token('app');
  await a.lifecycle.token('app');
  await b.lifecycle.token('app');
  a.lifecycle.start();
  b.lifecycle.start();
  clock.advance(2999);
  await settle();
  assert.deepEqual(registry.removed, []);
  clock.advance(2000); // the dead node's registration expired; survivors heartbeat every 1 s
  await settle();
  await a.lifecycle.reap();
  await b.lifecycle.reap();
  assert.deepEqual(registry.removed, [deadToken], 'removed once');
  assert.deepEqual([...a.reaped, ...b.reaped], ['app'], 'reported by exactly one survivor');
  assert.deepEqual([...a.evicted, ...b.evicted], [], 'the survivors heartbeated and stay');
  await a.lifecycle.stop();
  await b.lifecycle.stop();
  assert.equal(clock.pending, 0, 'no timer left after stop');
});

test('a node that finds its registration gone is evicted once and registers under a new epoch', async () => {
  const clock = new ManualClock();
  const registry = new FakeRegistry(clock, 3000);
  const n = node(registry, clock);
  const first = await n.lifecycle.token('app');
  registry.expiries.clear(); // reaped by another node while this one was cut off
  await n.lifecycle.heartbeat();
  assert.deepEqual(n.evicted, ['app']);
  assert.equal(n.lifecycle.isCurrent('app', first), false);
  n.lifecycle.evicted('app', first); // a late operation with the old token reports nothing more
  assert.deepEqual(n.evicted, ['app']);
  const second = await n.lifecycle.token('app');
  assert.notEqual(second, first);
  assert.match(second, /\.2$/, 'the epoch moved on');
});

test('stop removes this node at once and reports it; nothing is reaped while the link is down', async () => {
  const clock = new ManualClock();
  const registry = new FakeRegistry(clock, 3000);
  let up = true;
  const n = node(registry, clock, () => up);
  const token = await n.lifecycle.token('app');
  n.lifecycle.start();
  up = false;
  clock.advance(10_000);
  await n.lifecycle.reap();
  assert.deepEqual(registry.removed, [], 'no reaping without the link');
  up = true;
  await n.lifecycle.stop();
  assert.deepEqual(registry.removed, [token]);
  assert.deepEqual(n.reaped, ['app']);
  assert.equal(clock.pending, 0);
});
