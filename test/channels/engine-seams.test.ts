/**
 * The engine through its cluster seams, without sockets: synchronous on the memory backends,
 * correct on asynchronous ones (DeferredBackends), throttles and deadlines driven by a manual
 * clock, and no state shared between two engines in one process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { App } from '../../src/apps/app.js';
import { memoryScaling, type Scaling } from '../../src/scaling/scaling.js';
import { DeferredBackends, harness, signInFrame, subscribeFrame } from './fake.js';

test('memory backends: subscribe, presence and sign-in are answered synchronously (no await)', () => {
  const { engine, open } = harness();
  const a = open();
  engine.receive(a.conn, subscribeFrame(a.conn, 'presence-room', { user_id: 'ann' }));
  assert.equal(a.transport.frames().at(-1)?.event, 'pusher_internal:subscription_succeeded');
  assert.equal(a.conn.pending, undefined, 'nothing left in flight');
  engine.receive(a.conn, signInFrame(a.conn, { id: 'ann', watchlist: ['bob'] }));
  assert.deepEqual(a.transport.data('pusher_internal:watchlist_events'), [{ events: [{ name: 'offline', user_ids: ['bob'] }] }]);
  const b = open();
  engine.receive(b.conn, signInFrame(b.conn, { id: 'bob' }));
  assert.deepEqual(a.transport.data('pusher_internal:watchlist_events').at(-1), { events: [{ name: 'online', user_ids: ['bob'] }] });
});

test('subscription_count above 100 subscribers: at most every 5 s, to sockets and to the observer, per engine', () => {
  const run = () => {
    const h = harness({ subscriptionCountEvents: true });
    const observed: number[] = [];
    h.engine.observe({ subscriptionCount: (_app: App, _channel: string, count: number) => observed.push(count) });
    const clients = Array.from({ length: 103 }, () => h.open());
    for (const c of clients) h.engine.receive(c.conn, subscribeFrame(c.conn, 'news'));
    return { ...h, clients, observed };
  };
  // Two engines in one process, same app id and channel: each keeps its own throttles.
  const first = run();
  const second = run();
  for (const { clients, observed, clock, engine } of [first, second]) {
    const counts = () => clients[0]!.transport.data('pusher_internal:subscription_count').map((d) => (d as { subscription_count: number }).subscription_count);
    assert.deepEqual(counts(), Array.from({ length: 100 }, (_, i) => i + 1), 'every change up to 100, then the window');
    assert.deepEqual(observed, Array.from({ length: 100 }, (_, i) => i + 1));
    clock.advance(4999);
    assert.equal(counts().length, 100);
    clock.advance(1);
    assert.equal(counts().at(-1), 103, 'the latest count at the end of the window');
    assert.equal(observed.at(-1), 103);
    for (const c of clients) engine.disconnect(c.conn);
    assert.equal(clock.pending, 0, 'no timer left once the channel is gone');
  }
});

test('authorization deadline: a connection that neither signs in nor subscribes privately is closed with 4009', () => {
  const { engine, open, clock } = harness({ userAuthentication: { required: true, timeoutMs: 1000 } });
  const idle = open();
  const authorized = open();
  engine.receive(authorized.conn, subscribeFrame(authorized.conn, 'private-x'));
  clock.advance(999);
  assert.equal(idle.transport.closedWith, undefined);
  clock.advance(1);
  assert.deepEqual(idle.transport.closedWith, [4009, 'Connection not authorized within timeout']);
  assert.equal(authorized.transport.closedWith, undefined, 'a private subscription authorized it in time');
});

test('asynchronous backends: frames keep their order and answers arrive once the backends answer', async () => {
  const deferred = new DeferredBackends();
  let inner!: Scaling;
  const { engine, open } = harness({}, { scaling: (clock) => deferred.wrap((inner = memoryScaling(clock))) });
  const a = open();
  engine.receive(a.conn, subscribeFrame(a.conn, 'presence-room', { user_id: 'ann' }));
  engine.receive(a.conn, subscribeFrame(a.conn, 'news'));
  assert.equal(a.transport.frames().length, 1, 'only connection_established so far');
  await deferred.flush();
  const answered = a.transport.frames().filter((f) => f.event === 'pusher_internal:subscription_succeeded').map((f) => f.channel);
  assert.deepEqual(answered, ['presence-room', 'news']);
  assert.equal(inner.membership.subscriptionCount('1', 'news'), 1);
});

test('asynchronous backends: a socket closed before its join was sent leaves nothing counted', async () => {
  const deferred = new DeferredBackends();
  let inner!: Scaling;
  const { engine, open } = harness({}, { scaling: (clock) => deferred.wrap((inner = memoryScaling(clock))) });
  const seen: string[] = [];
  engine.observe({ channelOccupied: (_app: App, channel: string) => seen.push(channel), channelVacated: (_app: App, channel: string) => seen.push(channel) });
  const a = open();
  const b = open();
  engine.receive(a.conn, subscribeFrame(a.conn, 'presence-room', { user_id: 'ann' }));
  engine.receive(b.conn, subscribeFrame(b.conn, 'news'));
  // Both wait for the broker subscription; neither join has reached the membership yet.
  engine.disconnect(a.conn);
  engine.disconnect(b.conn);
  assert.equal(engine.state('1')?.channels.size, 0, 'the hub forgot both channels at once');
  await deferred.flush();
  assert.equal(a.transport.frames().some((f) => f.event === 'pusher_internal:subscription_succeeded'), false);
  assert.equal(inner.membership.subscriptionCount('1', 'presence-room'), 0);
  assert.equal(inner.membership.userCount('1', 'presence-room'), 0);
  assert.equal(inner.membership.subscriptionCount('1', 'news'), 0);
  assert.deepEqual(seen, [], 'never counted, so never occupied or vacated');
});

test('asynchronous backends: a join counted just before the socket closed is undone by the leave queued behind it', async () => {
  const deferred = new DeferredBackends();
  let inner!: Scaling;
  const { engine, open } = harness({}, { scaling: (clock) => deferred.wrap((inner = memoryScaling(clock))) });
  const seen: string[] = [];
  engine.observe({
    channelOccupied: (_app: App, channel: string) => seen.push(`occupied ${channel}`),
    channelVacated: (_app: App, channel: string) => seen.push(`vacated ${channel}`),
    memberAdded: (_app: App, _channel: string, userId: string) => seen.push(`added ${userId}`),
    memberRemoved: (_app: App, _channel: string, userId: string) => seen.push(`removed ${userId}`),
  });
  const a = open();
  engine.receive(a.conn, subscribeFrame(a.conn, 'presence-room', { user_id: 'ann' }));
  await deferred.step(); // the broker subscription is answered: the join goes out and is counted
  assert.equal(inner.membership.subscriptionCount('1', 'presence-room'), 1);
  engine.disconnect(a.conn); // before the join's answer arrives
  await deferred.flush();
  assert.equal(inner.membership.subscriptionCount('1', 'presence-room'), 0);
  assert.deepEqual(seen, ['occupied presence-room', 'added ann', 'removed ann', 'vacated presence-room']);
  assert.equal(a.transport.frames().some((f) => f.event === 'pusher_internal:subscription_succeeded'), false);
});
