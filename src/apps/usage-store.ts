/**
 * Per-app daily usage in the shared database. Nodes add their in-memory counters every few
 * seconds (one upsert per app and day), so rows hold the sum over every node. With PostgreSQL,
 * each node also reports its current connection counts so quotas and stats see the whole cluster.
 */
import type { Database } from '../storage/database.js';
import { registerMigrations } from '../storage/migrations.js';

registerMigrations([
  {
    id: '0101_app_usage',
    sql: `
CREATE TABLE IF NOT EXISTS herald_app_usage (
  app_id TEXT NOT NULL,
  day DATE NOT NULL,
  messages_sent BIGINT NOT NULL DEFAULT 0,
  client_events BIGINT NOT NULL DEFAULT 0,
  messages_delivered BIGINT NOT NULL DEFAULT 0,
  api_calls BIGINT NOT NULL DEFAULT 0,
  webhooks_sent BIGINT NOT NULL DEFAULT 0,
  connections BIGINT NOT NULL DEFAULT 0,
  peak_connections INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (app_id, day)
);
CREATE TABLE IF NOT EXISTS herald_app_node_connections (
  node_id TEXT NOT NULL,
  app_id TEXT NOT NULL,
  connections INTEGER NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (node_id, app_id)
);
`,
  },
]);

/** Daily history kept; older rows are pruned. */
export const USAGE_RETENTION_DAYS = 400;

/** One app's counters for one UTC day. */
export interface UsageCounters {
  /** Events published: one per channel of an HTTP publish, one per client event. */
  messagesSent: number;
  /** Of messagesSent, the client events. */
  clientEvents: number;
  /** Copies delivered to sockets (what Pusher bills as messages). */
  messagesDelivered: number;
  /** Authenticated calls to the Pusher HTTP API. */
  apiCalls: number;
  /** Webhook requests sent. */
  webhooksSent: number;
  /** Connections opened. */
  connections: number;
  /** Highest concurrent connections seen (cluster-wide estimate). */
  peakConnections: number;
}

export interface DailyUsage extends UsageCounters {
  /** UTC day, YYYY-MM-DD. */
  date: string;
  /** Pusher-style message count: messages sent plus messages delivered. */
  messages: number;
}

export function emptyCounters(): UsageCounters {
  return { messagesSent: 0, clientEvents: 0, messagesDelivered: 0, apiCalls: 0, webhooksSent: 0, connections: 0, peakConnections: 0 };
}

export function addCounters(into: UsageCounters, from: UsageCounters): void {
  into.messagesSent += from.messagesSent;
  into.clientEvents += from.clientEvents;
  into.messagesDelivered += from.messagesDelivered;
  into.apiCalls += from.apiCalls;
  into.webhooksSent += from.webhooksSent;
  into.connections += from.connections;
  into.peakConnections = Math.max(into.peakConnections, from.peakConnections);
}

/** Today in UTC as YYYY-MM-DD (Pusher counts daily limits from 00:00 UTC). */
export function utcDay(ms = Date.now()): string {
  return new Date(ms).toISOString().slice(0, 10);
}

interface UsageRow {
  app_id: string;
  day: string;
  messages_sent: string | number;
  client_events: string | number;
  messages_delivered: string | number;
  api_calls: string | number;
  webhooks_sent: string | number;
  connections: string | number;
  peak_connections: string | number;
}

const COLUMNS = `app_id, to_char(day, 'YYYY-MM-DD') AS day, messages_sent, client_events, messages_delivered, api_calls, webhooks_sent, connections, peak_connections`;

function toDaily(row: UsageRow): DailyUsage {
  const usage = {
    date: row.day,
    messagesSent: Number(row.messages_sent),
    clientEvents: Number(row.client_events),
    messagesDelivered: Number(row.messages_delivered),
    apiCalls: Number(row.api_calls),
    webhooksSent: Number(row.webhooks_sent),
    connections: Number(row.connections),
    peakConnections: Number(row.peak_connections),
  };
  return { ...usage, messages: usage.messagesSent + usage.messagesDelivered };
}

export class UsageStore {
  constructor(readonly db: Database) {}

  /** Adds counters (keyed by app id and day) to the stored totals, in one transaction. */
  async add(batch: Array<{ appId: string; day: string; counters: UsageCounters }>): Promise<void> {
    if (batch.length === 0) return;
    await this.db.transaction(async (tx) => {
      for (const { appId, day, counters: c } of batch) {
        await tx.query(
          `INSERT INTO herald_app_usage AS u (app_id, day, messages_sent, client_events, messages_delivered, api_calls, webhooks_sent, connections, peak_connections)
           VALUES ($1, $2::date, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (app_id, day) DO UPDATE SET
             messages_sent = u.messages_sent + EXCLUDED.messages_sent,
             client_events = u.client_events + EXCLUDED.client_events,
             messages_delivered = u.messages_delivered + EXCLUDED.messages_delivered,
             api_calls = u.api_calls + EXCLUDED.api_calls,
             webhooks_sent = u.webhooks_sent + EXCLUDED.webhooks_sent,
             connections = u.connections + EXCLUDED.connections,
             peak_connections = GREATEST(u.peak_connections, EXCLUDED.peak_connections)`,
          [appId, day, c.messagesSent, c.clientEvents, c.messagesDelivered, c.apiCalls, c.webhooksSent, c.connections, c.peakConnections],
        );
      }
    });
  }

  /** Every app's stored usage for one day (quotas read the message totals from it). */
  async day(day: string): Promise<Map<string, DailyUsage>> {
    const rows = await this.db.query<UsageRow>(`SELECT ${COLUMNS} FROM herald_app_usage WHERE day = $1::date`, [day]);
    return new Map(rows.map((r) => [r.app_id, toDaily(r)]));
  }

  /** One app's days from `from` to `to` inclusive (YYYY-MM-DD), oldest first. */
  async history(appId: string, from: string, to: string): Promise<DailyUsage[]> {
    const rows = await this.db.query<UsageRow>(
      `SELECT ${COLUMNS} FROM herald_app_usage WHERE app_id = $1 AND day BETWEEN $2::date AND $3::date ORDER BY day`,
      [appId, from, to],
    );
    return rows.map(toDaily);
  }

  async deleteApp(appId: string): Promise<void> {
    await this.db.query('DELETE FROM herald_app_usage WHERE app_id = $1', [appId]);
  }

  async prune(today: string): Promise<void> {
    await this.db.query(`DELETE FROM herald_app_usage WHERE day < $1::date - ${USAGE_RETENTION_DAYS}`, [today]);
  }

  /**
   * Records this node's connection counts (apps with none are removed) and returns the other
   * live nodes' counts per app; a node silent for `staleSeconds` is ignored (crashed or gone).
   */
  async exchangeConnections(nodeId: string, local: Map<string, number>, staleSeconds: number): Promise<Map<string, number>> {
    await this.db.transaction(async (tx) => {
      await tx.query('DELETE FROM herald_app_node_connections WHERE node_id = $1', [nodeId]);
      for (const [appId, count] of local) {
        if (count > 0) {
          await tx.query('INSERT INTO herald_app_node_connections (node_id, app_id, connections) VALUES ($1, $2, $3)', [nodeId, appId, count]);
        }
      }
    });
    await this.db.query(`DELETE FROM herald_app_node_connections WHERE updated_at < now() - interval '1 hour'`);
    const rows = await this.db.query<{ app_id: string; total: string | number }>(
      `SELECT app_id, sum(connections) AS total FROM herald_app_node_connections
       WHERE node_id <> $1 AND updated_at > now() - make_interval(secs => $2::double precision) GROUP BY app_id`,
      [nodeId, staleSeconds],
    );
    return new Map(rows.map((r) => [r.app_id, Number(r.total)]));
  }

  async forgetNode(nodeId: string): Promise<void> {
    await this.db.query('DELETE FROM herald_app_node_connections WHERE node_id = $1', [nodeId]);
  }
}
