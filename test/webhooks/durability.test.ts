/**
 * Durable delivery: a receiver that is down and comes back gets every event; a Herald restarted
 * mid-retry (same data directory, or the same PostgreSQL) loses nothing.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { HeraldConfigInput } from '../../src/config/schema.js';
import { startTestHerald } from '../helpers/herald.js';
import { RawClient } from '../helpers/raw-client.js';
import { eventually } from '../helpers/wait.js';
import { FAST_RETRY, nextDelivery, postgresUrl, webhookService, WAIT_MS } from './support.js';
import { countDuplicates, WebhookReceiver, type ReceivedEvent } from './receiver.js';
import { WEBHOOK_EVENT_TYPES } from '../../src/apps/app.js';

const eventKey = (e: ReceivedEvent) => `${e.name}|${e.channel}|${String(e.subscription_count ?? '')}`;

/** Names of the delivered events per channel, first occurrence of each (for order checks). */
function namesOn(events: ReceivedEvent[], channel: string): string[] {
  const names: string[] = [];
  for (const e of events) if (e.channel === channel && !names.includes(e.name)) names.push(e.name);
  return names;
}

describe('durable webhook delivery', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('delivers every event to a receiver that was down and came back', async () => {
    const app = { id: 'wh-down-up', key: 'wh-down-up-key', secret: 'wh-down-up-secret' };
    const receiver = await WebhookReceiver.start(app);
    cleanups.push(() => receiver.close());
    const h = await startTestHerald({ app: { ...app, webhooks: [{ url: receiver.url, events: [...WEBHOOK_EVENT_TYPES] }] }, config: { ...FAST_RETRY, webhookTimeoutMs: 10_000 } });
    cleanups.push(() => h.stop());
    const service = webhookService(h);

    await receiver.goDown();
    const refused = nextDelivery(service, (r) => r.outcome === 'failed' && /ECONNREFUSED/.test(r.error ?? ''), WAIT_MS, 'a refused attempt');
    const raw = await RawClient.established(h.wsUrl, app.key);
    const channels = Array.from({ length: 10 }, (_, i) => `down-${i}`);
    for (const channel of channels) raw.send({ event: 'pusher:subscribe', data: { channel } });
    await refused;
    await receiver.reopen();

    await receiver.waitUntil(() => channels.every((c) => receiver.deliveredMatching('subscription_count', c).length > 0), WAIT_MS, 'all events after the outage');
    raw.close();
    assert.equal(receiver.invalidCount, 0);
    const { unique, duplicates } = countDuplicates(receiver.delivered, eventKey);
    assert.equal(unique, 20);
    assert.equal(duplicates, 0);
    for (const channel of channels) assert.deepEqual(namesOn(receiver.delivered, channel), ['channel_occupied', 'subscription_count']);
  });

  /** Events queued and failing on one Herald are delivered by the next one on the same store. */
  async function restartMidRetry(storage: Partial<HeraldConfigInput>, app: { id: string; key: string; secret: string }) {
    const receiver = await WebhookReceiver.start(app, 'fail');
    cleanups.push(() => receiver.close());
    const options = {
      app: { ...app, webhooks: [{ url: receiver.url, events: [...WEBHOOK_EVENT_TYPES] }] },
      // The vacancies happen during shutdown (the drain must write them) and are still held when it ends.
      config: { ...FAST_RETRY, ...storage, webhookVacateDelayMs: 500 },
    };
    const first = await startTestHerald(options);
    const raw = await RawClient.established(first.wsUrl, app.key);
    const channels = Array.from({ length: 5 }, (_, i) => `restart-${i}`);
    for (const channel of channels) raw.send({ event: 'pusher:subscribe', data: { channel } });
    // Every event has been attempted (and refused with 503) at least once: they are mid-retry.
    await receiver.waitUntil(
      () => channels.every((c) => receiver.requests.some((r) => r.events.some((e) => e.channel === c && e.name === 'subscription_count'))),
      WAIT_MS,
      'first attempts',
    );
    assert.equal(receiver.delivered.length, 0);
    // The client stays connected: closing the Herald disconnects it (4200) and the drain records the vacancies.
    await first.stop();
    await raw.closed;

    receiver.mode = 'ok';
    const second = await startTestHerald(options);
    cleanups.push(() => second.stop());
    await receiver.waitUntil(
      () => channels.every((c) => receiver.deliveredMatching('channel_vacated', c).length > 0),
      WAIT_MS * 2,
      'every event after the restart',
    );
    assert.equal(receiver.invalidCount, 0);
    for (const channel of channels) assert.deepEqual(namesOn(receiver.delivered, channel), ['channel_occupied', 'subscription_count', 'channel_vacated']);
    const { unique } = countDuplicates(receiver.delivered, eventKey);
    assert.equal(unique, 15);
    // The attempts before the restart are in the log the new Herald serves.
    // (The receiver may see a batch a moment before its log record commits.)
    await eventually(async () => {
      const log = await webhookService(second).recentDeliveries(app.id, 1000);
      return log.some((r) => r.outcome === 'failed') && log.some((r) => r.outcome === 'delivered');
    }, WAIT_MS, 'failed and delivered records in the log');
    return second;
  }

  it('loses nothing when Herald restarts mid-retry (embedded store, same data directory)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'herald-webhooks-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    await restartMidRetry({ dataDir }, { id: 'wh-restart-embedded', key: 'wh-restart-embedded-key', secret: 'wh-restart-embedded-secret' });
  });

  it('loses nothing when Herald restarts mid-retry (PostgreSQL)', async (t) => {
    const pg = await postgresUrl();
    if (!pg.url) {
      t.skip(pg.reason);
      return;
    }
    const suffix = randomBytes(4).toString('hex');
    const app = { id: `wh-restart-pg-${suffix}`, key: `wh-restart-pg-key-${suffix}`, secret: 'wh-restart-pg-secret' };
    cleanups.push(async () => {
      const { default: pgLib } = await import('pg');
      const client = new pgLib.Client({ connectionString: pg.url });
      await client.connect();
      await client.query('DELETE FROM herald_webhook_outbox WHERE app_id = $1', [app.id]);
      await client.query('DELETE FROM herald_webhook_deliveries WHERE app_id = $1', [app.id]);
      await client.end();
    });
    await restartMidRetry({ databaseUrl: pg.url }, app);
  });
});
