/** UsageTracker without a server: UTC day rollover, quota estimates, counters kept when a flush fails. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseApp, type App } from '../../src/apps/app.js';
import { UsageTracker } from '../../src/apps/usage.js';
import { emptyCounters, type DailyUsage, type UsageCounters, type UsageStore } from '../../src/apps/usage-store.js';
import type { ChannelsEngine } from '../../src/channels/engine.js';
import { createLogger } from '../../src/platform/logger.js';
import { DomainError } from '../../src/platform/errors.js';

const app: App = parseApp({ id: 'unit-app', key: 'unit-key', secret: 'unit-secret', quotas: { dailyMessages: 10, maxConnections: 2 } });

function fakeEngine(subscribers: number, connections = 0): ChannelsEngine {
  return {
    apps: { list: () => [app] },
    connectionCount: () => connections,
    subscriptionCount: () => subscribers,
    occupiedChannels: () => [],
  } as unknown as ChannelsEngine;
}

/** A store in memory that can be told to fail its next write. */
class FakeUsageStore {
  rows = new Map<string, UsageCounters & { date: string }>();
  failNext = false;
  async add(batch: Array<{ appId: string; day: string; counters: UsageCounters }>) {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('database down');
    }
    for (const { appId, day, counters } of batch) {
      const row = this.rows.get(`${appId}|${day}`) ?? { date: day, ...emptyCounters() };
      for (const k of Object.keys(counters) as Array<keyof UsageCounters>) {
        row[k] = k === 'peakConnections' ? Math.max(row[k], counters[k]) : row[k] + counters[k];
      }
      this.rows.set(`${appId}|${day}`, row);
    }
  }
  async day(day: string) {
    const out = new Map<string, DailyUsage>();
    for (const [key, row] of this.rows) {
      const [appId, rowDay] = key.split('|') as [string, string];
      if (rowDay === day) out.set(appId, { ...row, messages: row.messagesSent + row.messagesDelivered });
    }
    return out;
  }
  async history() {
    return [];
  }
  async prune() {}
}

const logger = createLogger('silent', false);

test('the daily quota counts sent + delivered messages and resets at 00:00 UTC', async () => {
  let now = Date.parse('2030-01-01T23:59:00Z');
  const tracker = new UsageTracker({ engine: fakeEngine(4), nodeId: 'n', cluster: false, flushIntervalMs: 1000, logger, now: () => now });
  const event = { name: 'e', data: '{}', channels: ['a'], info: [] };
  tracker.checkPublish(app, [event]); // estimate 1 + 4 = 5: fits in 10
  tracker.delivered(app, 4);
  assert.equal(tracker.messagesToday(app.id), 5);
  tracker.checkPublish(app, [event]); // 5 + 5 = 10: still fits
  tracker.delivered(app, 4);
  assert.throws(
    () => tracker.checkPublish(app, [event]),
    (err: unknown) => err instanceof DomainError && err.kind === 'quota' && err.code === 'daily_message_quota_exceeded' && /10 of 10 messages used today/.test(err.message),
  );
  now = Date.parse('2030-01-02T00:00:01Z');
  assert.equal(tracker.messagesToday(app.id), 0, 'a new UTC day starts from zero');
  tracker.checkPublish(app, [event]);
});

test('a publish with info counts as two messages (seed 003), in usage and in the quota estimate', () => {
  const tracker = new UsageTracker({ engine: fakeEngine(0), nodeId: 'n', cluster: false, flushIntervalMs: 1000, logger });
  tracker.checkPublish(app, [{ channels: ['a'], info: [] }]);
  assert.equal(tracker.messagesToday(app.id), 1);
  tracker.checkPublish(app, [{ channels: ['a'], info: ['subscription_count'] }]);
  assert.equal(tracker.messagesToday(app.id), 3, 'the publish with info added two');
  // 3 used + 8 estimated for 7 channels with info (7 + 1) = 11 > 10: refused because of the info message.
  const sevenWithInfo = { name: 'e', data: '{}', channels: ['a', 'b', 'c', 'd', 'e', 'f', 'g'], info: ['subscription_count'] };
  assert.throws(() => tracker.checkPublish(app, [sevenWithInfo]), (err: unknown) => err instanceof DomainError && err.kind === 'quota' && /needs about 8/.test(err.message));
  tracker.checkPublish(app, [{ ...sevenWithInfo, info: [] }]);
  assert.equal(tracker.messagesToday(app.id), 10);
});

test('the connection quota counts this node plus what other nodes report', () => {
  const tracker = new UsageTracker({ engine: fakeEngine(0, 1), nodeId: 'n', cluster: true, flushIntervalMs: 1000, logger });
  assert.equal(tracker.admit(app, 1), undefined);
  assert.deepEqual(tracker.admit(app, 2), { code: 4004, reason: 'Application is over connection quota' });
});

test('counters survive a failed flush and are saved by the next one', async () => {
  const store = new FakeUsageStore();
  const tracker = new UsageTracker({ engine: fakeEngine(0), nodeId: 'n', cluster: false, flushIntervalMs: 1000, logger });
  await tracker.attach(store as unknown as UsageStore);
  tracker.apiCall(app);
  tracker.clientEvent(app);
  store.failNext = true;
  await tracker.flush();
  assert.equal(store.rows.size, 0);
  assert.equal(tracker.messagesToday(app.id), 1, 'still counted while unsaved');
  tracker.apiCall(app);
  await tracker.flush();
  const row = [...store.rows.values()][0]!;
  assert.equal(row.apiCalls, 2);
  assert.equal(row.messagesSent, 1);
  assert.equal(row.clientEvents, 1);
  assert.equal(tracker.messagesToday(app.id), 1, 'counted once after the save, not twice');
  await tracker.stop();
});

test('counts after a flush and after forget() land in fresh entries (the last entry is not reused)', async () => {
  const store = new FakeUsageStore();
  const tracker = new UsageTracker({ engine: fakeEngine(0), nodeId: 'n', cluster: false, flushIntervalMs: 1000, logger });
  await tracker.attach(store as unknown as UsageStore);
  tracker.apiCall(app);
  await tracker.flush();
  tracker.apiCall(app);
  tracker.apiCall(app);
  await tracker.flush();
  assert.equal([...store.rows.values()][0]!.apiCalls, 3, 'the calls after the first flush are saved by the second');
  tracker.apiCall(app);
  tracker.forget(app.id);
  tracker.apiCall(app);
  await tracker.flush();
  assert.equal([...store.rows.values()][0]!.apiCalls, 4, 'the call before forget() is dropped, the one after it is saved');
  await tracker.stop();
});
