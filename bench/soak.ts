/**
 * Soak test: `npm run soak -- --minutes 30` (docs/hardening.md).
 *
 * Starts `herald start` as a child process and runs mixed traffic against it for the given time:
 * raw protocol-7 WebSocket listeners on public, private and presence channels (each reconnecting
 * now and then), client events, HTTP publishes (some excluding a subscriber by socket_id), batch
 * events and presence churn. Every --report seconds it prints errors, lost and duplicated
 * deliveries, publish→delivery latency (p50/p99/max), server RSS and V8 heap after a forced GC,
 * and open connections. At the end the presence rosters each listener was told about are compared
 * with the HTTP API. Exits 1 on any loss, duplicate or error.
 *
 * Options: --minutes N (30) --listeners N (48) --rate N API events/s (20) --churners N (6)
 *          --report S (60) --seed N --json FILE (per-window figures)
 */
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { metricSum, startChildHerald, type ChildHerald } from './hardening/child-herald.js';
import { signedPost } from './hardening/peer.js';
import { SoakClients } from './hardening/soak-clients.js';
import { DeliveryTracker, percentile, type WindowStats } from './hardening/soak-tracker.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    listeners: { type: 'string', default: '48' },
    rate: { type: 'string', default: '20' },
    churners: { type: 'string', default: '6' },
    report: { type: 'string', default: '60' },
    seed: { type: 'string', default: '7' },
    json: { type: 'string' },
  },
});
const minutes = Number(args.minutes);
const listenerCount = Number(args.listeners);
const apiRate = Number(args.rate);
const churnerCount = Number(args.churners);
const reportSeconds = Number(args.report);
if (![minutes, listenerCount, apiRate, churnerCount, reportSeconds].every((n) => Number.isFinite(n) && n > 0)) {
  console.error('usage: npm run soak -- [--minutes 30] [--listeners 48] [--rate 20] [--churners 6] [--report 60] [--json out.json]');
  process.exit(2);
}

/** mulberry32, so a run's choices can be replayed with --seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(Number(args.seed));
const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;

const GRACE_MS = 10_000;
const MAX_HTTP_IN_FLIGHT = 40;
const started = performance.now();
const stamp = () => `[${((performance.now() - started) / 60_000).toFixed(1).padStart(5)} min]`;

interface Row {
  minute: number;
  published: number;
  deliveries: number;
  lost: number;
  duplicated: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
  rssMb: number;
  heapMb: number;
  serverConnections: number;
  clientConnections: number;
  skipped: number;
}

async function main(): Promise<number> {
  const server = await startChildHerald();
  console.log(`${stamp()} herald pid ${server.pid} on ${server.httpUrl}; ${minutes} min, ${listenerCount} listeners, ${apiRate} API events/s, ${churnerCount} churners`);
  const tracker = new DeliveryTracker(GRACE_MS);
  const channels = {
    public: Array.from({ length: 8 }, (_, i) => `soak-public-${i}`),
    private: Array.from({ length: 4 }, (_, i) => `private-soak-${i}`),
    presence: Array.from({ length: 2 }, (_, i) => `presence-soak-${i}`),
  };
  const allChannels = [...channels.public, ...channels.private, ...channels.presence];
  const clients = new SoakClients(server.wsUrl, server.app, channels, tracker);
  const rows: Row[] = [];
  let exitCode = 0;
  try {
    await clients.startListeners(listenerCount);
    const baseline = await server.collectGarbage();
    console.log(`${stamp()} ${listenerCount} listeners subscribed; server RSS ${mb(baseline.rss)} MB, heap ${mb(baseline.heapUsed)} MB after GC`);

    let seq = 0;
    let inFlight = 0;
    let skipped = 0;
    const publish = (path: string, body: unknown, keys: string[]) => {
      inFlight++;
      void signedPost(server.httpUrl, server.app, path, body)
        .then(
          (res) => {
            const at = performance.now();
            if (res.status === 200) for (const k of keys) tracker.acknowledged(k, at);
            else for (const k of keys) tracker.failed(k, `${res.status} ${res.text.slice(0, 120)}`);
          },
          (err: Error) => {
            for (const k of keys) tracker.failed(k, err.message);
          },
        )
        .finally(() => inFlight--);
    };
    /** One API event to 1–2 channels, excluding a subscriber's socket 30% of the time. */
    const apiEvent = (single: boolean): { body: Record<string, unknown>; keys: string[] } => {
      const targets = !single && random() < 0.2 ? [pick(allChannels), pick(allChannels)].filter((c, i, a) => a.indexOf(c) === i) : [pick(allChannels)];
      const id = `a${++seq}`;
      const at = performance.now();
      let excluded: { session: number; socketId: string } | undefined;
      if (random() < 0.3) {
        const candidates = clients.subscribers(targets[0]!, at);
        const session = candidates.length ? clients.sessions.get(pick(candidates)) : undefined;
        if (session) excluded = { session: session.id, socketId: session.peer.socketId };
      }
      const keys = targets.map((channel) => {
        const key = `${id}|${channel}`;
        tracker.expect(key, at, clients.subscribers(channel, at, excluded?.session), { excluded: excluded?.session, awaitsAck: true });
        return key;
      });
      const body: Record<string, unknown> = { name: 'soak', data: JSON.stringify({ id, t: Date.now() }) };
      // A batch event takes a single "channel"; POST /events takes "channels".
      if (single) body.channel = targets[0];
      else body.channels = targets;
      if (excluded) body.socket_id = excluded.socketId;
      return { body, keys };
    };

    const timers: NodeJS.Timeout[] = [];
    const every = (ms: number, fn: () => void) => timers.push(setInterval(fn, ms));
    every(1000 / apiRate, () => {
      if (inFlight >= MAX_HTTP_IN_FLIGHT) return void skipped++;
      const event = apiEvent(false);
      publish('/events', event.body, event.keys);
    });
    every(1000, () => {
      if (inFlight >= MAX_HTTP_IN_FLIGHT) return void skipped++;
      const batch = Array.from({ length: 10 }, () => apiEvent(true));
      publish('/batch_events', { batch: batch.map((b) => b.body) }, batch.flatMap((b) => b.keys));
    });
    every(200, () => {
      const session = clients.randomListener(random);
      if (!session) return;
      const channel = pick([...session.subscribedAt.keys()].filter((c) => !c.startsWith('soak-public-')));
      const id = `c${++seq}`;
      const at = performance.now();
      const key = `${id}|${channel}`;
      tracker.expect(key, at, clients.subscribers(channel, at, session.id), { awaitsAck: true });
      clients.sendClientEvent(session, channel, key, { id, t: Date.now() });
    });
    every(3000, () => void clients.reconnect(Math.floor(random() * clients.listenerCount())));
    every(1000, () => tracker.finalize(performance.now()));
    const churning = Array.from({ length: churnerCount }, (_, j) => clients.churn(j, random));

    const endAt = started + minutes * 60_000;
    let nextReport = performance.now() + reportSeconds * 1000;
    while (performance.now() < endAt) {
      await new Promise((r) => setTimeout(r, Math.max(0, Math.min(nextReport, endAt) - performance.now())));
      if (performance.now() >= nextReport || performance.now() >= endAt) {
        rows.push(await report(server, tracker.rotate(), clients, skipped));
        skipped = 0;
        nextReport += reportSeconds * 1000;
      }
    }

    // Wind down: no new traffic, churners leave, then every outstanding message is settled.
    for (const t of timers) clearInterval(t);
    clients.running = false;
    await Promise.all(churning);
    const quietUntil = performance.now() + GRACE_MS;
    while (inFlight > 0 || performance.now() < quietUntil) await new Promise((r) => setTimeout(r, 200));
    tracker.finalize(performance.now(), true);
    await checkPresence(server, clients, tracker);
    rows.push(await report(server, tracker.rotate(), clients, skipped));
    await clients.closeAll();
    const emptied = await waitEmpty(server);
    if (emptied) tracker.error(emptied);
    const after = await server.collectGarbage();
    const t = tracker.totals;
    console.log(
      `${stamp()} TOTAL published ${t.published}, deliveries ${t.deliveries}, lost ${t.lost}, duplicated ${t.duplicated}, errors ${t.errors}; ` +
        `${clients.reconnects} reconnects, ${clients.churnJoins} presence churn joins; ` +
        `server RSS ${mb(baseline.rss)} → ${mb(after.rss)} MB, heap ${mb(baseline.heapUsed)} → ${mb(after.heapUsed)} MB (after GC, all clients gone)`,
    );
    // The embedded store opens on the first usage flush after one minute (+~200 MB of WASM
    // memory), so the memory trend is judged from the first report after minute 2.
    const steady = rows.find((r) => r.minute >= 2);
    const last = rows[rows.length - 1];
    if (steady && last && steady !== last) {
      console.log(`${stamp()} memory trend from minute ${steady.minute} to ${last.minute}: RSS ${steady.rssMb} → ${last.rssMb} MB, heap after GC ${steady.heapMb} → ${last.heapMb} MB`);
    }
    if (tracker.window.errorSamples.length) for (const s of tracker.window.errorSamples) console.log(`  ! ${s}`);
    if (t.lost > 0 || t.duplicated > 0 || t.errors > 0) exitCode = 1;
    if (args.json) writeFileSync(args.json, JSON.stringify({ minutes, listeners: listenerCount, apiRate, churners: churnerCount, rows, totals: t, baseline, after }, null, 2));
  } catch (err) {
    console.error(`${stamp()} soak aborted: ${(err as Error).stack}`);
    console.error(server.output().slice(-2000));
    exitCode = 1;
  } finally {
    await clients.closeAll().catch(() => undefined);
    const how = await server.stop();
    if (how !== 'code 0') console.log(`${stamp()} server stopped with ${how}`);
  }
  return exitCode;
}

async function report(server: ChildHerald, w: WindowStats, clients: SoakClients, skipped: number): Promise<Row> {
  const sorted = w.latencies.sort((a, b) => a - b);
  let heap = 0;
  let serverConnections = -1;
  try {
    heap = (await server.collectGarbage()).heapUsed;
    serverConnections = metricSum(await server.metrics(), 'herald_connections');
  } catch (err) {
    w.errorSamples.push(`metrics: ${(err as Error).message}`);
  }
  const row: Row = {
    minute: Math.round(((performance.now() - started) / 60_000) * 10) / 10,
    published: w.published,
    deliveries: w.deliveries,
    lost: w.lost,
    duplicated: w.duplicated,
    errors: w.errors,
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1] ?? 0),
    rssMb: mb(server.rss()),
    heapMb: mb(heap),
    serverConnections,
    clientConnections: clients.openConnections(),
    skipped,
  };
  console.log(
    `${stamp()} published ${row.published} deliveries ${row.deliveries} lost ${row.lost} dup ${row.duplicated} errors ${row.errors} | ` +
      `latency p50 ${row.p50} p99 ${row.p99} max ${row.max} ms | RSS ${row.rssMb} MB heap ${row.heapMb} MB | ` +
      `connections server ${row.serverConnections} clients ${row.clientConnections}${skipped ? ` | ${skipped} sends skipped (HTTP backlog)` : ''}`,
  );
  for (const s of w.errorSamples) console.log(`  ! ${s}`);
  return row;
}

/** Each open listener's roster of its presence channel must equal the HTTP API's. */
async function checkPresence(server: ChildHerald, clients: SoakClients, tracker: DeliveryTracker): Promise<void> {
  for (const channel of clients.channels.presence) {
    const users = await server.api<{ users: Array<{ id: string }> }>(`/channels/${channel}/users`);
    const official = users.users.map((u) => u.id).sort().join(',');
    for (const session of clients.sessions.values()) {
      const seen = session.members.get(channel);
      if (!seen || session.closing) continue;
      const mine = [...seen].sort().join(',');
      if (mine !== official) tracker.error(`session ${session.id} sees ${channel} members [${mine.slice(0, 200)}], the API says [${official.slice(0, 200)}]`);
    }
  }
}

/** After every client left: no channel, presence member or connection may remain. */
async function waitEmpty(server: ChildHerald): Promise<string | undefined> {
  let last = '';
  for (let i = 0; i < 50; i++) {
    const channels = Object.keys((await server.api<{ channels: Record<string, unknown> }>('/channels')).channels);
    const connections = metricSum(await server.metrics(), 'herald_connections');
    if (channels.length === 0 && connections === 0) return undefined;
    last = `after all clients left: ${channels.length} occupied channels (${channels.slice(0, 5).join(', ')}), ${connections} connections`;
    await new Promise((r) => setTimeout(r, 200));
  }
  return last;
}

const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;
const round = (ms: number) => Math.round(ms * 10) / 10;

process.exitCode = await main();
