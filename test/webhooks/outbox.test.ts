/** The outbox's SQL semantics on the embedded store: order, per-channel blocking, leases, holds. */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Database } from '../../src/storage/database.js';
import { openDatabase } from '../../src/storage/open.js';
import { OutboxStore, type NewOutboxRow } from '../../src/webhooks/outbox.js';

const T0 = 1_700_000_000_000;
const APP = 'app-1';
const URL_A = 'http://a.example/hook';

function row(channel: string, name: string, extra: Partial<NewOutboxRow> = {}): NewOutboxRow {
  return { appId: APP, url: URL_A, channel, event: JSON.stringify({ name, channel }), createdAt: T0, expiresAt: T0 + 3_600_000, ...extra };
}

const names = (rows: Array<{ event: string }>) => rows.map((r) => `${(JSON.parse(r.event) as { name: string; channel: string }).channel}:${(JSON.parse(r.event) as { name: string }).name}`);

describe('webhook outbox store', () => {
  let db: Database;
  let store: OutboxStore;
  const claim = (now: number, maxEvents = 100, maxBytes = 1_000_000, owner = store) =>
    owner.claim({ appId: APP, url: URL_A, now, maxEvents, maxBytes, leaseUntil: now + 15_000 });

  before(async () => {
    db = await openDatabase({ dataDir: null });
    store = new OutboxStore(db, 'owner-1');
  });
  after(() => db.close());
  beforeEach(async () => {
    await db.query('DELETE FROM herald_webhook_outbox');
  });

  it('claims in write order, bounded by count and bytes (the first event always fits)', async () => {
    await store.write([row('a', 'e1'), row('b', 'e2'), row('a', 'e3'), row('c', 'e4')], T0);
    assert.deepEqual(names(await claim(T0, 2)), ['a:e1', 'b:e2']);
    await store.releaseLeases(T0);
    assert.deepEqual(names(await claim(T0, 100, 10)), ['a:e1'], 'a single oversized event is still sent alone');
  });

  it('blocks a channel behind its failed batch while other channels flow, then resumes in order', async () => {
    await store.write([row('a', 'e1'), row('b', 'e2')], T0);
    const first = await claim(T0, 1);
    assert.deepEqual(names(first), ['a:e1']);
    await store.fail(first.map((r) => r.id), [], T0 + 5000, { appId: APP, url: URL_A, at: T0, outcome: 'failed', events: 1, attempt: 1, sample: [] });
    await store.write([row('a', 'e3'), row('b', 'e4')], T0);
    assert.deepEqual(names(await claim(T0 + 10)), ['b:e2', 'b:e4'], 'a:e3 waits behind a:e1');
    assert.equal(await store.nextDue(APP, URL_A, T0 + 10), T0 + 5000);
    const retry = await claim(T0 + 5000);
    assert.deepEqual(names(retry), ['a:e1', 'a:e3']);
    assert.deepEqual(retry.map((r) => r.attempts), [1, 0]);
  });

  it('leases claimed rows: another node cannot take them (or later rows of their channels) until the lease ends', async () => {
    const other = new OutboxStore(db, 'owner-2');
    await store.write([row('a', 'e1'), row('a', 'e2'), row('b', 'e3')], T0);
    assert.deepEqual(names(await claim(T0, 1)), ['a:e1']);
    assert.deepEqual(names(await claim(T0, 100, 1_000_000, other)), ['b:e3']);
    assert.deepEqual(names(await claim(T0 + 1000, 100, 1_000_000, other)), [], 'a:e2 waits behind the leased a:e1');
    // The first owner died without settling: once the leases run out the rows are due again.
    assert.deepEqual(names(await claim(T0 + 15_000, 100, 1_000_000, other)), ['a:e1', 'a:e2', 'b:e3']);
  });

  it('gives back its own leases on stop, and removes delivered or expired rows', async () => {
    await store.write([row('a', 'e1'), row('b', 'e2')], T0);
    const leased = await claim(T0);
    await store.releaseLeases(T0 + 1);
    assert.equal((await claim(T0 + 1)).length, 2);
    const record = { appId: APP, url: URL_A, at: T0, outcome: 'delivered' as const, events: 1, attempt: 1, sample: [] };
    await store.complete([leased[0]!.id], record);
    const [failure] = await store.fail([], [leased[1]!.id], T0, { ...record, outcome: 'failed' }, { ...record, outcome: 'expired' });
    assert.equal(failure!.outcome, 'failed');
    assert.equal(await store.pendingCount(APP), 0);
  });

  it('holds removals and cancels them (with the re-add) when the client comes back in time', async () => {
    const key = '["vacated","c"]';
    const held = row('c', 'channel_vacated', { hold: { key, until: T0 + 3000 } });
    // Within one write batch.
    assert.deepEqual(await store.write([held, row('c', 'channel_occupied', { cancels: key })], T0), { written: 0, cancelled: 2 });
    // Also in one batch (buffered while the database was down), but back after the hold: both reported.
    assert.deepEqual(await store.write([held, row('c', 'channel_occupied', { cancels: key, createdAt: T0 + 60_000 })], T0 + 61_000), { written: 2, cancelled: 0 });
    assert.deepEqual(names(await claim(T0 + 61_000)), ['c:channel_vacated', 'c:channel_occupied']);
    await db.query('DELETE FROM herald_webhook_outbox');
    // Across batches: the held row is stored, not due yet, then cancelled.
    await store.write([held], T0);
    assert.equal((await claim(T0 + 1000)).length, 0);
    assert.equal(await store.nextDue(APP, URL_A, T0 + 1000), T0 + 3000);
    assert.deepEqual(await store.write([row('c', 'channel_occupied', { cancels: key, createdAt: T0 + 1000 })], T0 + 1000), { written: 0, cancelled: 2 });
    assert.equal(await store.pendingCount(APP), 0);
    // Too late: the hold is over, both are reported, in order.
    await store.write([held], T0);
    assert.deepEqual(await store.write([row('c', 'channel_occupied', { cancels: key })], T0 + 4000), { written: 1, cancelled: 0 });
    assert.deepEqual(names(await claim(T0 + 4000)), ['c:channel_vacated', 'c:channel_occupied']);
  });

  it('a cancel-only row (an endpoint that does not want the re-add) cancels the held removal and is never stored', async () => {
    const key = '["vacated","d"]';
    const held = row('d', 'channel_vacated', { hold: { key, until: T0 + 3000 } });
    const cancelOnly = row('d', 'channel_occupied', { cancels: key, cancelOnly: true });
    assert.deepEqual(await store.write([held, cancelOnly], T0), { written: 0, cancelled: 1 });
    await store.write([held], T0);
    assert.deepEqual(await store.write([cancelOnly], T0 + 1000), { written: 0, cancelled: 1 });
    assert.equal(await store.pendingCount(APP), 0);
    // Nothing held to cancel: still not stored.
    assert.deepEqual(await store.write([cancelOnly], T0 + 1000), { written: 0, cancelled: 0 });
    assert.equal(await store.pendingCount(APP), 0);
  });

  it('does not block a channel behind a held removal, and a claimed held row can no longer be cancelled', async () => {
    const key = '["removed","presence-p","u1"]';
    await store.write([row('presence-p', 'member_removed', { hold: { key, until: T0 + 3000 } }), row('presence-p', 'client_event')], T0);
    assert.deepEqual(names(await claim(T0)), ['presence-p:client_event']);
    assert.deepEqual(names(await claim(T0 + 3000)), ['presence-p:member_removed']);
    assert.deepEqual(await store.write([row('presence-p', 'member_added', { cancels: key })], T0 + 3001), { written: 1, cancelled: 0 });
  });

  it('drops the rows of endpoints no longer configured', async () => {
    await store.write([row('a', 'e1'), { ...row('a', 'e2'), url: 'http://gone.example/' }], T0);
    assert.deepEqual(await store.dropUnconfigured(APP, [URL_A]), [{ url: 'http://gone.example/', count: 1 }]);
    assert.equal(await store.pendingCount(APP), 1);
  });
  it('summarizes each endpoint\'s queue and "retry now" makes waiting retries due, leaving leases and holds alone', async () => {
    await store.write([row('a', 'e1'), row('b', 'e2'), row('c', 'channel_vacated', { hold: { key: 'k', until: T0 + 3000 } })], T0);
    const failed = await claim(T0, 1);
    await store.fail(failed.map((r) => r.id), [], T0 + 60_000, { appId: APP, url: URL_A, at: T0, outcome: 'failed', events: 1, attempt: 1, error: 'HTTP 500', sample: [] });
    const leased = await claim(T0 + 10, 1); // b:e2 in flight
    assert.deepEqual(names(leased), ['b:e2']);
    const [queue] = await store.queueSummary(APP);
    assert.deepEqual({ ...queue, nextAttemptAt: undefined }, { url: URL_A, pending: 3, nextAttemptAt: undefined, attempts: 1, lastError: 'HTTP 500' });
    assert.equal(queue!.nextAttemptAt, T0 + 3000, 'the earliest waiting row: the held removal');

    assert.equal(await store.retryNow(APP, URL_A, T0 + 20), 1, 'only the failed row moves');
    assert.deepEqual(names(await claim(T0 + 20)), ['a:e1'], 'due now instead of at T0 + 60 s');
    assert.deepEqual(await store.queueSummary('other-app'), []);
  });
});
