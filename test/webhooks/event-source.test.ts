/** Mapping engine observer calls to webhook events (spec C.2, C.3), on the event source alone. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseApp, type App } from '../../src/apps/app.js';
import { WebhookEventSource, type EventTiming, type WebhookEvent } from '../../src/webhooks/events.js';

const app: App = parseApp({ id: 'a1', key: 'k1', secret: 'secret-123', webhooks: [{ url: 'http://127.0.0.1:1/hook' }] });
const quiet: App = parseApp({ id: 'a2', key: 'k2', secret: 'secret-123' });

function recorder(vacateDelayMs: number) {
  const events: Array<{ event: WebhookEvent; timing: EventTiming; at: number }> = [];
  let clock = 1_000;
  const source = new WebhookEventSource({ vacateDelayMs, now: () => clock, sink: (_app, event, at, timing) => events.push({ event, timing, at }) });
  return { source, events, advance: (ms: number) => (clock += ms) };
}

describe('webhook event source', () => {
  it('holds channel_vacated and lets channel_occupied cancel it (same key)', () => {
    const { source, events } = recorder(3000);
    source.channelOccupied(app, 'c1');
    source.channelVacated(app, 'c1');
    assert.deepEqual(events[0]!.event, { name: 'channel_occupied', channel: 'c1' });
    assert.deepEqual(events[1]!.event, { name: 'channel_vacated', channel: 'c1' });
    const cancels = events[0]!.timing.cancels;
    assert.ok(cancels);
    assert.deepEqual(events[1]!.timing.hold, { key: cancels, ms: 3000 });
    assert.equal(events[1]!.timing.cancels, undefined);
  });

  it('holds member_removed per user and lets that user\'s member_added cancel it', () => {
    const { source, events } = recorder(3000);
    source.memberRemoved(app, 'presence-x', 'u1');
    source.memberAdded(app, 'presence-x', 'u1', { name: 'x' });
    source.memberAdded(app, 'presence-x', 'u2', {});
    assert.deepEqual(events.map((e) => e.event), [
      { name: 'member_removed', channel: 'presence-x', user_id: 'u1' },
      { name: 'member_added', channel: 'presence-x', user_id: 'u1' },
      { name: 'member_added', channel: 'presence-x', user_id: 'u2' },
    ]);
    assert.equal(events[1]!.timing.cancels, events[0]!.timing.hold!.key);
    assert.notEqual(events[2]!.timing.cancels, events[0]!.timing.hold!.key);
    // A vacancy key never cancels a departure (different kinds on the same channel).
    source.channelOccupied(app, 'presence-x');
    assert.notEqual(events[3]!.timing.cancels, events[0]!.timing.hold!.key);
  });

  it('reports without hold or cancellation when the delay is 0', () => {
    const { source, events } = recorder(0);
    source.channelVacated(app, 'c4');
    source.channelOccupied(app, 'c4');
    assert.deepEqual(events.map((e) => e.timing), [{}, {}]);
  });

  it('de-duplicates cache_miss until the channel is published to through the API (not a client event) or the window passes', () => {
    const { source, events, advance } = recorder(0);
    source.cacheMiss(app, 'cache-a');
    source.cacheMiss(app, 'cache-a');
    source.cacheMiss(app, 'cache-b');
    // A client event is not cached: the channel is still empty, the next miss no news.
    source.published(app, 'private-cache-b', 'client-e', '{}', 1, 'client');
    source.cacheMiss(app, 'private-cache-b');
    source.published(app, 'private-cache-b', 'client-e', '{}', 1, 'client');
    source.cacheMiss(app, 'private-cache-b');
    source.published(app, 'cache-a', 'e', '{}', 0, 'api');
    source.cacheMiss(app, 'cache-a');
    advance(5000);
    source.cacheMiss(app, 'cache-b');
    assert.deepEqual(events.map((e) => e.event), [
      { name: 'cache_miss', channel: 'cache-a' },
      { name: 'cache_miss', channel: 'cache-b' },
      { name: 'cache_miss', channel: 'private-cache-b' },
      { name: 'cache_miss', channel: 'cache-a' },
      { name: 'cache_miss', channel: 'cache-b' },
    ]);
  });

  it('ignores apps without webhooks and internal #server-to-user channels; user_id only when given', () => {
    const { source, events } = recorder(0);
    source.channelOccupied(quiet, 'c1');
    source.channelOccupied(app, '#server-to-user-u1');
    source.clientEvent(app, 'private-x', 'client-e', '{}', '1.2');
    source.clientEvent(app, 'presence-x', 'client-e', '"s"', '1.3', 'u9');
    source.subscriptionCount(app, 'private-x', 4);
    assert.deepEqual(events.map((e) => e.event), [
      { name: 'client_event', channel: 'private-x', event: 'client-e', data: '{}', socket_id: '1.2' },
      { name: 'client_event', channel: 'presence-x', event: 'client-e', data: '"s"', socket_id: '1.3', user_id: 'u9' },
      { name: 'subscription_count', channel: 'private-x', subscription_count: 4 },
    ]);
    assert.equal(events[0]!.at, 1000);
  });
});
