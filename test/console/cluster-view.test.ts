/**
 * The console's cluster view without sockets: engines over one in-process control bus and a
 * manual clock. Connection counts travel between nodes; nothing is forwarded while no console
 * watches; forwarding is rate-limited and stops when the watcher leaves or its TTL runs out;
 * whatever arrives from the bus is validated and bounded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterView, FORWARD_PER_SECOND, HEARTBEAT_MS, NODE_TTL_MS } from '../../src/console/cluster.js';
import type { LogEntry } from '../../src/console/live-feed.js';
import type { ControlMessage } from '../../src/scaling/broker.js';
import { decodeBrokerMessage, encodeBrokerMessage } from '../../src/scaling/wire.js';
import { sharedNodes, subscribeFrame } from '../channels/fake.js';

function cluster(count = 2) {
  const shared = sharedNodes(count);
  const sent: ControlMessage[] = [];
  const views = shared.nodes.map((node) => {
    const view = new ClusterView(node.engine);
    const send = node.engine.control.send;
    node.engine.control.send = (message) => {
      sent.push(message);
      return send(message);
    };
    view.start();
    return view;
  });
  const bodies = (kind: string) => sent.filter((m) => m.type === 'module' && (m.body as { k: string }).k === kind).map((m) => (m as { body: any }).body);
  return { ...shared, views, sent, bodies };
}

const entry = (n: number, appId = '1'): LogEntry => ({ at: 1, appId, kind: 'api_event', text: `event ${n}`, channel: 'c', event: 'e', data: '{}' });

test('each node counts the connections of every node, and lists the nodes', () => {
  const { nodes, views, clock } = cluster();
  nodes[0]!.open();
  nodes[0]!.open();
  nodes[1]!.open();
  clock.advance(1000);
  assert.equal(views[0]!.connectionCount('1'), 3);
  assert.equal(views[1]!.connectionCount('1'), 3);
  const list = views[1]!.nodeList('1');
  assert.deepEqual(list.map((n) => [n.id, n.self, n.appConnections]), [
    [views[1]!.nodeId, true, 1],
    [views[0]!.nodeId, false, 2],
  ]);
  views[0]!.stop();
  assert.equal(views[1]!.connectionCount('1'), 1, 'a node that stops is forgotten at once');
});

test('nothing is forwarded, and entries are not wanted, while no console watches anywhere', () => {
  const { nodes, views, clock, bodies } = cluster();
  const { conn } = nodes[0]!.open();
  nodes[0]!.engine.receive(conn, subscribeFrame(conn, 'news'));
  for (let i = 0; i < 50; i++) views[0]!.forward(entry(i));
  clock.advance(60_000);
  assert.equal(views[0]!.wanted('1'), false);
  assert.equal(bodies('feed').length, 0);
  // Idle nodes only heartbeat (plus one report after a change).
  const reports = bodies('report').filter((b) => b.node === views[0]!.nodeId).length;
  assert.ok(reports <= 60_000 / HEARTBEAT_MS + 2, `${reports} reports in a minute`);
});

test('a watching console gets the apps it watches, at most FORWARD_PER_SECOND entries a second, the rest counted', () => {
  const { views, clock, bodies } = cluster();
  const got: Array<{ node: string; entries: LogEntry[]; dropped: Map<string, number> }> = [];
  views[1]!.onEntries((node, entries, dropped) => got.push({ node, entries, dropped }));
  views[1]!.watching(new Set(['1']));
  assert.equal(views[0]!.wanted('1'), true);
  assert.equal(views[0]!.wanted('2'), false);
  assert.equal(views[1]!.wanted('1'), false, 'a node does not forward to its own consoles');
  for (let i = 0; i < 3 * FORWARD_PER_SECOND; i++) views[0]!.forward(entry(i));
  views[0]!.forward(entry(0, '2'));
  clock.advance(250);
  const received = got.flatMap((g) => g.entries);
  assert.equal(received.length, FORWARD_PER_SECOND);
  assert.ok(received.every((e) => e.node === views[0]!.nodeId && e.appId === '1'));
  assert.equal(got.reduce((n, g) => n + (g.dropped.get('1') ?? 0), 0), 2 * FORWARD_PER_SECOND);
  assert.ok(bodies('feed').length <= 2);

  // The watcher stays registered while it refreshes, and is dropped when it stops watching.
  clock.advance(60_000);
  assert.equal(views[0]!.wanted('1'), true);
  views[1]!.watching(undefined);
  assert.equal(views[0]!.wanted('1'), false);
  const feeds = bodies('feed').length;
  for (let i = 0; i < 10; i++) views[0]!.forward(entry(i));
  clock.advance(1000);
  assert.equal(bodies('feed').length, feeds, 'nothing is sent once nobody watches');
});

test('a watcher that goes silent expires with its TTL, a silent node with NODE_TTL_MS', () => {
  const { nodes, views, clock } = cluster();
  const control = nodes[0]!.engine.control;
  void control.send({ type: 'module', appId: '', module: 'console', body: { k: 'watch', node: 'ghost', apps: '*', ttl: 15_000 } });
  void control.send({ type: 'module', appId: '', module: 'console', body: { k: 'report', node: 'ghost', conns: [['1', 7]] } });
  assert.equal(views[0]!.wanted('any-app'), true);
  assert.equal(views[0]!.connectionCount('1'), 7);
  clock.advance(Math.max(15_000, NODE_TTL_MS) + 1000);
  assert.equal(views[0]!.wanted('any-app'), false);
  assert.equal(views[0]!.connectionCount('1'), 0);
  assert.ok(!views[0]!.nodeList().some((n) => n.id === 'ghost'));
});

test('malformed or oversized messages from the bus are ignored or cut to size, never thrown', () => {
  const { nodes, views } = cluster();
  const got: LogEntry[] = [];
  views[1]!.onEntries((_node, entries) => got.push(...entries));
  const send = (body: unknown) => void nodes[0]!.engine.control.send({ type: 'module', appId: '', module: 'console', body });
  for (const body of [null, 42, 'x', [], { k: 'report' }, { k: 'report', node: 'n', conns: 'x' }, { k: 'report', node: 'n', conns: [['1', -1], ['1', 1.5], [{}, 2]] }, { k: 'feed', node: 'n', entries: [null, { at: 'x' }] }, { k: 'watch', node: 'w', apps: 5 }, { k: 'nope', node: 'n' }]) {
    send(body);
  }
  assert.equal(views[1]!.connectionCount('1'), 0);
  assert.equal(views[1]!.wanted('1'), false);
  send({ k: 'feed', node: 'n', entries: [{ at: 1, appId: '1', kind: 'api_event', text: 'x'.repeat(10_000), data: 'd'.repeat(10_000), extra: '<script>' }, { at: 1, appId: '1', kind: 'evil', text: 'x' }], dropped: [] });
  assert.equal(got.length, 1);
  assert.ok(got[0]!.text.length <= 400 && got[0]!.data!.length <= 320);
  assert.equal((got[0] as unknown as Record<string, unknown>).extra, undefined);
});

test('module messages cross the wire unchanged', () => {
  const message: ControlMessage = { type: 'module', appId: '', module: 'console', body: { k: 'report', node: 'n', conns: [['app', 3]] } };
  assert.deepEqual(decodeBrokerMessage(encodeBrokerMessage(message)), message);
  assert.equal(decodeBrokerMessage(JSON.stringify([1, 'x', '', 'm'.repeat(65), {}])), undefined);
});
