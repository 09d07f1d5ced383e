/**
 * How often the Beams webhooks' outbox is checked, without a store or sockets: a fake database
 * answers the outbox's queries (counting the checks for due rows) and Node's mock timers drive the
 * waits. As with the delivery worker (delivery-polling.test.ts), the wait doubles from pollMs while
 * the outbox stays empty, up to maxIdlePollMs; a row written here is sent at once and starts the
 * waits again from pollMs, and a failed row is tried again when its retry falls due.
 */
import { afterEach, beforeEach, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { BeamsWebhooks } from '../../src/beams/webhooks.js';
import type { PublishJob } from '../../src/beams/publishes.js';

/** Lets the outbox's loop run what the last timer released (promise turns, no timers). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** The outbox's queries, faked: `due` endpoints and `claimable` rows are handed out once each. */
function fakeOutbox() {
  const db = {
    kind: 'embedded' as const,
    /** Checks for due rows (OutboxStore.dueEndpoints). */
    checks: 0,
    written: 0,
    claimed: 0,
    due: [] as Array<{ app_id: string; url: string }>,
    claimable: [] as Array<Record<string, unknown>>,
    async query(sql: string): Promise<unknown[]> {
      if (sql.startsWith('SELECT DISTINCT app_id, url FROM herald_webhook_outbox WHERE next_attempt_at')) {
        db.checks++;
        return db.due.splice(0);
      }
      throw new Error(`unexpected query: ${sql}`);
    },
    async transaction<T>(fn: (tx: { query: (sql: string) => Promise<unknown[]> }) => Promise<T>): Promise<T> {
      return fn({
        async query(sql: string) {
          if (sql.startsWith('INSERT INTO herald_webhook_outbox')) db.written++;
          if (sql.startsWith('WITH candidates')) {
            db.claimed++;
            return db.claimable.splice(0);
          }
          // The delivery log's INSERT … RETURNING id, and the outbox's updates.
          return [{ id: 1 }];
        },
      });
    },
    async close() {},
  };
  return db;
}

function outboxOf(options: { pollMs: number; maxIdlePollMs: number; retryDelaysMs?: number[] }) {
  const db = fakeOutbox();
  const silent = { info() {}, warn() {}, error() {}, debug() {} };
  const webhooks = new BeamsWebhooks(async () => db as never, {} as never, silent as never, { timeoutMs: 3000, retryDelaysMs: [10_000], ...options });
  return { webhooks, db };
}

/** Advances the mock clock to just before `waitMs`, then to it: whether a check came exactly then. */
async function checkedAfter(db: { checks: number }, waitMs: number): Promise<boolean> {
  mock.timers.tick(waitMs - 1);
  await settle();
  const before = db.checks;
  mock.timers.tick(1);
  await settle();
  return before === db.checks - 1;
}

beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
afterEach(() => mock.timers.reset());

test('an empty outbox is checked after 1, 2, 4… pollMs, never less often than maxIdlePollMs', async () => {
  const { webhooks, db } = outboxOf({ pollMs: 1000, maxIdlePollMs: 4000 });
  webhooks.start();
  await settle();
  assert.equal(db.checks, 1, 'rows left by a previous run are looked for at start');
  for (const wait of [1000, 2000, 4000, 4000, 4000]) {
    assert.ok(await checkedAfter(db, wait), `a check ${wait} ms after the previous one`);
  }
  const stopped = webhooks.stop();
  await settle();
  await stopped;
});

test('a row written here is looked for at once, and the waits start again from pollMs', async () => {
  const { webhooks, db } = outboxOf({ pollMs: 1000, maxIdlePollMs: 8000 });
  webhooks.start();
  await settle();
  for (const wait of [1000, 2000, 4000]) {
    mock.timers.tick(wait);
    await settle();
  }
  assert.equal(db.checks, 4); // now waiting 8 s
  const job = { id: 'p1', instanceId: 'i1', kind: 'interests', targets: ['a'], payload: { webhookUrl: 'http://example.test/hook' } } as unknown as PublishJob;
  await webhooks.publishHook(job, 'STARTED');
  await settle();
  assert.equal(db.written, 1);
  assert.equal(db.checks, 5, 'the new row is looked for at once');
  assert.ok(await checkedAfter(db, 1000), 'then the next check comes after pollMs again');
  const stopped = webhooks.stop();
  await settle();
  await stopped;
});

test('a row that failed is tried again when its retry falls due, not at the next idle check', async () => {
  const { webhooks, db } = outboxOf({ pollMs: 1000, maxIdlePollMs: 60_000, retryDelaysMs: [5000] });
  // An unparsable URL fails in the HTTP client before any socket is opened.
  db.due.push({ app_id: 'beams:i1', url: 'not a url' });
  const request = { body: '{}', eventType: 'publish.started', requestId: 'r1' };
  db.claimable.push({ id: 1, channel: 'p1', event: JSON.stringify(request), created_at: 0, expires_at: 1e15, attempts: 0 });
  webhooks.start();
  await settle();
  assert.equal(db.claimed, 1, 'the row was attempted');
  // Checks since the failure: after 1 s (work was found), then 2 s (at 3 s), then 4 s (at 7 s).
  assert.ok(await checkedAfter(db, 1000));
  assert.ok(await checkedAfter(db, 2000));
  // The retry falls due 5 s after the failure; failures within pollMs of each other share one
  // wake-up, so it is looked for pollMs later: at 6 s, before the idle check due at 7 s.
  assert.ok(await checkedAfter(db, 3000), 'the retry is looked for 6 s after the failure');
  assert.ok(await checkedAfter(db, 1000), 'then the waits start again from pollMs');
  const stopped = webhooks.stop();
  await settle();
  await stopped;
});

test('a row another node left is found by the idle checks, which then start again from pollMs', async () => {
  const { webhooks, db } = outboxOf({ pollMs: 1000, maxIdlePollMs: 8000 });
  webhooks.start();
  await settle();
  for (const wait of [1000, 2000]) {
    mock.timers.tick(wait);
    await settle();
  }
  assert.equal(db.checks, 3); // now waiting 4 s
  // Only a check can see it (no local wake-up): maxIdlePollMs bounds how late that is.
  db.due.push({ app_id: 'beams:i1', url: 'not a url' });
  const request = { body: '{}', eventType: 'publish.started', requestId: 'r1' };
  db.claimable.push({ id: 1, channel: 'p1', event: JSON.stringify(request), created_at: 0, expires_at: 1e15, attempts: 0 });
  mock.timers.tick(3999);
  await settle();
  assert.equal(db.claimed, 0);
  mock.timers.tick(1);
  await settle();
  assert.equal(db.claimed, 1, 'the next idle check found the row');
  assert.equal(db.checks, 5, 'and, after sending it, looked again at once');
  assert.ok(await checkedAfter(db, 1000), 'work was found: the next check comes after pollMs');
  const stopped = webhooks.stop();
  await settle();
  await stopped;
});
