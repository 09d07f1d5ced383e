/**
 * The hub's part in what is observed once per node, without sockets: which workers forward an
 * app's observer events (only while another worker watches it), where they go, and the node's
 * one decision per cache miss.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { NodeHub } from '../../src/workers/hub.js';
import { IpcPeer, type IpcEndpoint } from '../../src/platform/ipc.js';
import { EVENT_OP, IpcBroker } from '../../src/workers/ipc-broker.js';
import type { ChannelEvent } from '../../src/scaling/broker.js';
import { encodeEvent } from '../../src/protocol/messages.js';
import { RELAY_EVENT_OP, RELAY_WANTED_OP, RELAY_WATCH_OP, type RelayedEvent } from '../../src/workers/observer-relay.js';
import { CACHE_MISS_OP } from '../../src/core/worker-services.js';
import { eventually } from '../helpers/wait.js';

function channel(): [IpcEndpoint, IpcEndpoint] {
  const a = new EventEmitter() as IpcEndpoint & EventEmitter;
  const b = new EventEmitter() as IpcEndpoint & EventEmitter;
  a.send = (m) => (setImmediate(() => b.emit('message', structuredClone(m))), true);
  b.send = (m) => (setImmediate(() => a.emit('message', structuredClone(m))), true);
  return [a, b];
}

interface FakeWorker {
  peer: IpcPeer;
  wanted: Map<string, boolean>;
  relayed: RelayedEvent[];
}

function nodeOf(count: number, now: () => number = Date.now): { hub: NodeHub; workers: FakeWorker[] } {
  const hub = new NodeHub(() => Promise.reject(new Error('no store in this test')), now);
  const workers: FakeWorker[] = [];
  for (let i = 0; i < count; i++) {
    const [hubSide, workerSide] = channel();
    hub.attach(`w${i}`, new IpcPeer(hubSide));
    const worker: FakeWorker = { peer: new IpcPeer(workerSide), wanted: new Map(), relayed: [] };
    worker.peer.handle(RELAY_WANTED_OP, (args) => {
      const { appId, wanted } = args as { appId: string; wanted: boolean };
      worker.wanted.set(appId, wanted);
    });
    worker.peer.handle(RELAY_EVENT_OP, (args) => worker.relayed.push(args as RelayedEvent));
    hub.ready(`w${i}`);
    workers.push(worker);
  }
  return { hub, workers };
}

let barriers = 0;
/** A round trip through the hub: what the hub sent `worker` before has arrived (the channels keep order). */
const roundTrip = (worker: FakeWorker) => worker.peer.request(CACHE_MISS_OP, { appId: 'barrier', channel: String(barriers++) });

test('an app is wanted from the other workers only while one watches it; events go to its watchers only', async () => {
  const { hub, workers } = nodeOf(3);
  const [w0, w1, w2] = workers as [FakeWorker, FakeWorker, FakeWorker];
  try {
    // The watch settles once every other worker knows it must forward.
    await w0.peer.request(RELAY_WATCH_OP, { appId: 'a', watching: true });
    assert.equal(w1.wanted.get('a'), true);
    assert.equal(w2.wanted.get('a'), true);
    assert.equal(w0.wanted.get('a'), false, 'its own events reach the watcher locally');

    const event: RelayedEvent = { appId: 'a', event: 'memberAdded', args: ['presence-x', 'u1', null] };
    w1.peer.notify(RELAY_EVENT_OP, event);
    w0.peer.notify(RELAY_EVENT_OP, { ...event, args: ['presence-x', 'u2', null] });
    w1.peer.notify(RELAY_EVENT_OP, { appId: 'other-app', event: 'memberAdded', args: [] });
    await Promise.all(workers.map(roundTrip));
    assert.deepEqual(w0.relayed, [event]);
    assert.deepEqual(w1.relayed, [], 'not to a worker that does not watch');
    assert.deepEqual(w2.relayed, []);

    // A second watcher: w0 now forwards to w2, and w1 to both.
    await w2.peer.request(RELAY_WATCH_OP, { appId: 'a', watching: true });
    assert.equal(w0.wanted.get('a'), true);
    await w0.peer.request(RELAY_WATCH_OP, { appId: 'a', watching: false });
    await w2.peer.request(RELAY_WATCH_OP, { appId: 'a', watching: false });
    assert.deepEqual([w0.wanted.get('a'), w1.wanted.get('a'), w2.wanted.get('a')], [false, false, false]);
  } finally {
    hub.stop();
  }
});

test('a watching worker that exits stops the forwarding', async () => {
  const { hub, workers } = nodeOf(2);
  const [w0, w1] = workers as [FakeWorker, FakeWorker];
  try {
    await w0.peer.request(RELAY_WATCH_OP, { appId: 'a', watching: true });
    assert.equal(w1.wanted.get('a'), true);
    hub.detach('w0', true);
    await eventually(() => w1.wanted.get('a') === false, 5000, 'w1 to stop forwarding');
  } finally {
    hub.stop();
  }
});

test('a cache miss is news once per node and channel; again after an API publish (not a client event) or the window', async () => {
  let now = 1_000_000;
  const { hub, workers } = nodeOf(2, () => now);
  const [w0, w1] = workers as [FakeWorker, FakeWorker];
  const miss = (w: FakeWorker, channel = 'cache-x') => w.peer.request<boolean>(CACHE_MISS_OP, { appId: 'a', channel });
  try {
    assert.equal(await miss(w0), true);
    assert.equal(await miss(w1), false, 'the other worker missing it too is no news');
    assert.equal(await miss(w1, 'cache-y'), true, 'per channel');
    w1.peer.notify(EVENT_OP, { appId: 'a', channel: 'cache-x', frame: '', eventName: 'client-e', data: '', source: 'client' });
    assert.equal(await miss(w0), false, 'a client event is not cached: still no news');
    w1.peer.notify(EVENT_OP, { appId: 'a', channel: 'cache-x', frame: '', eventName: 'e', data: '', source: 'api' });
    assert.equal(await miss(w0), true, 'after a publish');
    now += 4999;
    assert.equal(await miss(w1), false);
    now += 1;
    assert.equal(await miss(w1), true, 'after the window');
  } finally {
    hub.stop();
  }
});

test('a worker\'s publish reaches its own engine and the other workers with its frame, serialized once by the publisher', async () => {
  const { hub, workers } = nodeOf(2);
  const [w0, w1] = workers as [FakeWorker, FakeWorker];
  try {
    const publisher = new IpcBroker(w0.peer);
    const other = new IpcBroker(w1.peer);
    const seen: Array<[string, ChannelEvent]> = [];
    publisher.onEvent((event) => seen.push(['w0', event]));
    other.onEvent((event) => seen.push(['w1', event]));
    await other.subscribe('a', 'c');
    const event: ChannelEvent = { appId: 'a', channel: 'c', eventName: 'e', data: '{"x":"é"}', source: 'api' };
    publisher.publish(event);
    assert.equal(event.frame, encodeEvent('e', 'c', '{"x":"é"}'), 'built before it left');
    await eventually(() => seen.length === 2);
    assert.deepEqual(
      seen.map(([worker, e]) => [worker, e.frame]),
      [['w0', event.frame], ['w1', event.frame]],
    );
  } finally {
    hub.stop();
  }
});
