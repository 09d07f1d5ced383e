/** Prometheus /metrics: values move as stock clients connect, publish and leave. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { nextEvent, eventually } from '../helpers/wait.js';
import { AppStatsTable, OTHER_APPS, PendingPublishes } from '../../src/metrics/app-stats.js';
import { createServer } from 'node:http';
import { readWebhookGauges, readWebhookQueueDepth, toDelivery } from '../../src/metrics/sources.js';
import { METRICS_SERVICE } from '../../src/metrics/module.js';

/** Parses one sample value from Prometheus text, e.g. sample(text, 'herald_connections', {app: 'x'}). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const part of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) got[part[1]!] = part[2]!;
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  return res.text();
}

async function connected(h: TestHerald) {
  const client = h.pusherClient();
  await nextEvent(client.connection, 'connected');
  return client;
}

test('metrics follow connections, publishes, deliveries and HTTP calls', async (t) => {
  const h = await startTestHerald();
  t.after(() => h.stop());
  const app = { app: h.app.id };
  const metricsUrl = `${h.httpUrl}/metrics`;

  let text = await scrape(metricsUrl);
  assert.equal(sample(text, 'herald_info', { broker: 'memory' }), 1);
  assert.equal(sample(text, 'herald_broker_up', { broker: 'memory' }), 1);
  assert.ok(sample(text, 'herald_nodejs_eventloop_lag_seconds') !== undefined, 'default metrics include event-loop lag');
  // Herald's own 100 ms delay gauges replace prom-client's (event-loop-delay.ts): one series each.
  for (const key of ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99']) {
    const name = `herald_nodejs_eventloop_lag_${key}_seconds`;
    assert.equal(text.split('\n').filter((line) => line.startsWith(`${name} `)).length, 1, `${name}: one series`);
    assert.ok(sample(text, name)! >= 0, `${name} is a delay, never negative`);
  }
  assert.equal(sample(text, 'herald_webhook_queue_depth'), 0);

  const a = await connected(h);
  const b = await connected(h);
  const channelA = a.subscribe('metrics-room');
  const channelB = b.subscribe('metrics-room');
  await Promise.all([nextEvent(channelA, 'pusher:subscription_succeeded'), nextEvent(channelB, 'pusher:subscription_succeeded')]);

  text = await scrape(metricsUrl);
  assert.equal(sample(text, 'herald_connections', app), 2);
  assert.equal(sample(text, 'herald_connections_opened_total', app), 2);
  assert.equal(sample(text, 'herald_channels', app), 1);

  const received = Promise.all([nextEvent(channelA, 'greeting'), nextEvent(channelB, 'greeting')]);
  await h.pusherServer().trigger('metrics-room', 'greeting', { hello: 'world' });
  await received;

  text = await scrape(metricsUrl);
  assert.equal(sample(text, 'herald_messages_received_total', { ...app, source: 'api' }), 1);
  assert.equal(sample(text, 'herald_messages_sent_total', app), 2);
  const dataBytes = Buffer.byteLength(JSON.stringify({ hello: 'world' }));
  assert.equal(sample(text, 'herald_message_bytes_received_total', { ...app, source: 'api' }), dataBytes);
  assert.equal(sample(text, 'herald_message_bytes_sent_total', app), dataBytes * 2);
  assert.equal(sample(text, 'herald_publish_latency_seconds_count', { broker: 'memory' }), 1);
  assert.equal(sample(text, 'herald_http_requests_total', { route: 'POST /apps/:appId/events', status: '200' }), 1);
  assert.ok((sample(text, 'herald_http_requests_total', { route: 'GET /metrics', status: '200' }) ?? 0) >= 2);
  assert.equal(sample(text, 'herald_http_request_duration_seconds_count', { route: 'POST /apps/:appId/events' }), 1);
  assert.equal(sample(text, 'herald_http_request_duration_seconds_bucket', { route: 'POST /apps/:appId/events', le: '+Inf' }), 1);
  assert.ok((sample(text, 'herald_network_received_bytes_total') ?? 0) > 0);
  assert.ok((sample(text, 'herald_network_sent_bytes_total') ?? 0) > 0);

  a.disconnect();
  await eventually(async () => sample(await scrape(metricsUrl), 'herald_connections', app) === 1, 5000, 'connection gauge to drop');
  text = await scrape(metricsUrl);
  assert.equal(sample(text, 'herald_connections_closed_total', app), 1);

  // Refused handshakes are counted by close code (4001: unknown app key).
  const { WebSocket } = await import('ws');
  const ws = new WebSocket(`${h.wsUrl}/app/no-such-key?protocol=7`);
  await new Promise((resolve) => ws.on('close', resolve));
  text = await scrape(metricsUrl);
  assert.equal(sample(text, 'herald_connections_refused_total', { code: '4001' }), 1);
});

test('HERALD_METRICS_PORT moves /metrics to its own listener', async (t) => {
  const h = await startTestHerald({ config: { metricsPort: 0 } });
  t.after(() => h.stop());
  const service = h.herald.services.get(METRICS_SERVICE)!;
  assert.ok(service.port && service.port !== h.port);
  const text = await scrape(`http://127.0.0.1:${service.port}/metrics`);
  assert.match(text, /# TYPE herald_connections gauge/);
  assert.equal((await fetch(`${h.httpUrl}/metrics`)).status, 404, 'not on the main port any more');
  assert.equal((await fetch(`http://127.0.0.1:${service.port}/other`)).status, 404);
});

test('per-app labels are capped; later apps share "(other)"', () => {
  const table = new AppStatsTable(2);
  table.get('a').messagesOut += 1;
  table.get('b').messagesOut += 2;
  table.get('c').messagesOut += 3;
  table.get('d').messagesOut += 4;
  table.get('a').messagesOut += 10;
  const byLabel = Object.fromEntries([...table.labels()].map((s) => [s.label, s.messagesOut]));
  assert.deepEqual(byLabel, { a: 11, b: 2, [OTHER_APPS]: 7 });
});

test('pending publishes are bounded and matched oldest first', () => {
  const pending = new PendingPublishes(3);
  const key = PendingPublishes.key('app', 'ch', 'ev');
  pending.add(key, 1);
  pending.add(key, 2);
  pending.add(PendingPublishes.key('app', 'other', 'ev'), 3);
  pending.add(PendingPublishes.key('app', 'third', 'ev'), 4);
  assert.equal(pending.size, 3);
  assert.equal(pending.take(key), 2, 'the oldest entry was evicted to stay within the bound');
  assert.equal(pending.take(key), undefined);
});

test('webhook deliveries are counted from the webhooks service', async (t) => {
  const received: string[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push(body);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  const h = await startTestHerald({ app: { webhooks: [{ url, events: ['channel_occupied'] }] } });
  t.after(async () => {
    await h.stop();
    receiver.close();
  });
  const client = await connected(h);
  const channel = client.subscribe('hooked');
  await nextEvent(channel, 'pusher:subscription_succeeded');
  const app = h.app.id;
  const text: string = await eventually(async () => {
    const scraped = await scrape(`${h.httpUrl}/metrics`);
    return (sample(scraped, 'herald_webhook_requests_total', { app, outcome: 'delivered' }) ?? 0) >= 1 ? scraped : '';
  }, 30_000, 'a delivered webhook to be counted');
  assert.ok(received.some((b) => b.includes('channel_occupied')));
  assert.ok((sample(text, 'herald_webhook_events_total', { app, outcome: 'delivered' }) ?? 0) >= 1);
  assert.ok((sample(text, 'herald_webhook_request_duration_seconds_count') ?? 0) >= 1);
});

test('the webhooks service is read defensively', async () => {
  assert.equal(readWebhookGauges(undefined), undefined);
  assert.equal(readWebhookGauges({}), undefined);
  assert.equal(readWebhookGauges({ stats: () => { throw new Error('boom'); } }), undefined);
  assert.deepEqual(readWebhookGauges({ stats: () => ({ buffered: 3, dropped: -1 }) }), { buffered: 3, dropped: 0 });
  assert.equal(await readWebhookQueueDepth({ stats: () => ({ buffered: 4 }) }), 4, 'falls back to the buffer');
  assert.equal(await readWebhookQueueDepth({ queueDepth: async () => 9, stats: () => ({ buffered: 4 }) }), 9);
  assert.equal(await readWebhookQueueDepth({ queueDepth: () => new Promise(() => undefined), stats: () => ({ buffered: 2 }) }, 20), 2, 'a hung queueDepth() does not hang the scrape');
  assert.equal(toDelivery({ appId: 'a', outcome: 'weird', events: 2 })?.outcome, 'other', 'outcome labels stay bounded');
  assert.equal(toDelivery({ outcome: 'delivered' }), undefined);
});

test('HERALD_METRICS_HOST binds the metrics listener to its own interface, off the public one', async (t) => {
  const h = await startTestHerald({ config: { metricsPort: 0, metricsHost: '127.0.0.2' } });
  t.after(() => h.stop());
  const service = h.herald.services.get(METRICS_SERVICE)!;
  assert.match(await scrape(`http://127.0.0.2:${service.port}/metrics`), /# TYPE herald_connections gauge/);
  await assert.rejects(fetch(`http://127.0.0.1:${service.port}/metrics`), 'nothing listens on the main interface at that port');
  assert.equal((await fetch(`${h.httpUrl}/metrics`)).status, 404, 'not on the main port');
});

test('network byte counters include open WebSocket connections and keep what closed ones moved', async (t) => {
  const h = await startTestHerald();
  t.after(() => h.stop());
  const metricsUrl = `${h.httpUrl}/metrics`;
  const received = async () => sample(await scrape(metricsUrl), 'herald_network_received_bytes_total') ?? 0;
  const { WebSocket } = await import('ws');
  const ws = new WebSocket(`${h.wsUrl}/app/${h.app.key}?protocol=7`);
  const messages: string[] = [];
  const next = (event: string) =>
    new Promise<void>((resolve) => {
      const check = () => (messages.some((m) => JSON.parse(m).event === event) ? resolve() : ws.once('message', () => check()));
      check();
    });
  ws.on('message', (data) => messages.push(String(data)));
  await next('pusher:connection_established');
  const before = await received();
  // 10 KB from the client (under the 14 KB message limit), answered with a pong once Herald has read it.
  ws.send(JSON.stringify({ event: 'pusher:ping', data: { pad: 'x'.repeat(10_000) } }));
  await next('pusher:pong');
  const whileOpen = await received();
  assert.ok(whileOpen - before >= 10_000, `an open connection's bytes are counted (grew by ${whileOpen - before})`);
  ws.close();
  await eventually(async () => sample(await scrape(metricsUrl), 'herald_connections', { app: h.app.id }) === 0, 5000, 'the connection to close');
  assert.ok((await received()) >= whileOpen, 'a closed connection\'s bytes stay in the total');
});
