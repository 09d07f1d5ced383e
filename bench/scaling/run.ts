/**
 * Scaling benchmark: deliveries/s and latency for 1, 2 and 3 Herald nodes sharing a broker.
 *
 *   node --import tsx bench/scaling/run.ts [--brokers redis,nats] [--nodes 1,2,3]
 *        [--clients 600] [--channels 20] [--in-flight 16] [--seconds 10] [--generators 2]
 *        [--repeat 1] [--json out.json]
 *
 * Every configuration starts fresh `node bin/herald.js start` processes (HERALD_BROKER=…, its own
 * cluster prefix), spreads the subscribers round-robin over the nodes and publishes through the
 * nodes in turn, so most deliveries cross the broker. A 1-node run with HERALD_BROKER=memory is
 * the baseline. Figures are measured, never asserted; the generator shares the machine, so on a
 * small machine the totals show the cost of clustering more than its capacity.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { cleanupNamespace } from './cleanup.js';
import { startNodes } from './nodes.js';
import { percentile, Publisher, Subscribers, type App } from './load.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface Options {
  brokers: string[];
  nodes: number[];
  clients: number;
  channels: number;
  inFlight: number;
  seconds: number;
  generators: number;
  /** Runs per configuration; the best (most deliveries/s) is reported: others share this machine. */
  repeat: number;
  json?: string;
}

function parse(argv: string[]): Options {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const list = (v: string | undefined, d: string) => (v ?? d).split(',').map((s) => s.trim()).filter(Boolean);
  const int = (v: string | undefined, d: number) => {
    const n = v === undefined ? d : Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`expected a positive whole number, got ${v}`);
    return n;
  };
  return {
    brokers: list(get('brokers'), 'redis,nats'),
    nodes: list(get('nodes'), '1,2,3').map((n) => int(n, 1)),
    clients: int(get('clients'), 600),
    channels: int(get('channels'), 20),
    inFlight: int(get('in-flight'), 16),
    seconds: int(get('seconds'), 10),
    generators: int(get('generators'), 2),
    repeat: int(get('repeat'), 1),
    json: get('json'),
  };
}

/** The local Redis / NATS server's pid (for its CPU figure), if one runs on this machine. */
function brokerProcess(broker: string): number | undefined {
  if (broker === 'memory') return undefined;
  try {
    const out = execFileSync('pgrep', ['-x', broker === 'redis' ? 'redis-server' : 'nats-server'], { encoding: 'utf8' });
    return Number(out.split('\n')[0]) || undefined;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) of a process in ms, from /proc (Linux). */
function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

interface Row {
  broker: string;
  nodes: number;
  deliveriesPerSecond: number;
  publishesPerSecond: number;
  p50: number;
  p99: number;
  max: number;
  /** Average CPU of each node over the measurement, in % of one core. */
  nodeCpu: number[];
  /** CPU of the Redis / NATS server process (shared with anything else using it). */
  brokerCpu: number;
  /** Deliveries per second of node CPU: the cost of a delivery, whatever limits the totals. */
  perCoreSecond: number;
  failedPublishes: number;
}

async function measure(broker: string, nodeCount: number, options: Options): Promise<Row> {
  const prefix = `bench_${randomBytes(4).toString('hex')}`;
  const app: App = { id: `bench-${prefix}`, key: `key-${prefix}`, secret: `secret-${prefix}` };
  const set = await startNodes(ROOT, nodeCount, {
    HERALD_BROKER: broker,
    HERALD_CLUSTER_PREFIX: prefix,
    HERALD_APP_ID: app.id,
    HERALD_APP_KEY: app.key,
    HERALD_APP_SECRET: app.secret,
  });
  const ports = set.nodes.map((n) => n.port);
  const subscribers = new Subscribers(options.generators);
  const brokerPid = brokerProcess(broker);
  const publisher = new Publisher(ports, app, options.channels);
  try {
    await subscribers.connect(ports, app, options.clients, options.channels);
    const running = publisher.start(options.inFlight);
    await new Promise((r) => setTimeout(r, 2000)); // warm-up (JIT, connection pools)
    const before = await subscribers.report();
    const start = { at: performance.now(), published: publisher.published, cpu: set.nodes.map((n) => cpuMs(n.pid)), broker: brokerPid ? cpuMs(brokerPid) : NaN };
    subscribers.record(true);
    await new Promise((r) => setTimeout(r, options.seconds * 1000));
    subscribers.record(false);
    const elapsed = (performance.now() - start.at) / 1000;
    const end = { published: publisher.published, cpu: set.nodes.map((n) => cpuMs(n.pid)), broker: brokerPid ? cpuMs(brokerPid) : NaN };
    const after = await subscribers.report();
    publisher.stop();
    await running;
    const sorted = after.samples.sort((a, b) => a - b);
    const nodeCpu = end.cpu.map((c, i) => Math.round(((c - start.cpu[i]!) / (elapsed * 1000)) * 100));
    const deliveriesPerSecond = Math.round((after.deliveries - before.deliveries) / elapsed);
    return {
      broker,
      nodes: nodeCount,
      deliveriesPerSecond,
      publishesPerSecond: Math.round((end.published - start.published) / elapsed),
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      max: sorted[sorted.length - 1] ?? NaN,
      nodeCpu,
      brokerCpu: Math.round(((end.broker - start.broker) / (elapsed * 1000)) * 100),
      perCoreSecond: Math.round(deliveriesPerSecond / (nodeCpu.reduce((a, b) => a + b, 0) / 100)),
      failedPublishes: publisher.failed,
    };
  } finally {
    publisher.close();
    subscribers.close();
    await set.stop();
    await cleanupNamespace(broker, prefix);
  }
}

function table(rows: Row[], options: Options, load: number): string {
  const lines = [
    `${options.clients} subscribers on ${options.channels} channels (${options.clients / options.channels} per channel) in ${options.generators} processes, ${options.inFlight} HTTP publishes in flight, ${options.seconds} s measured (best of ${options.repeat}), ${cpus().length} CPU cores, load average at start: ${load.toFixed(1)}`,
    '',
    '| broker | nodes | deliveries/s | publishes/s | p50 ms | p99 ms | max ms | node CPU % | broker CPU % | deliveries per node-CPU-second |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const broker = Number.isNaN(r.brokerCpu) ? '–' : String(r.brokerCpu);
    lines.push(
      `| ${r.broker} | ${r.nodes} | ${r.deliveriesPerSecond} | ${r.publishesPerSecond} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} | ${r.nodeCpu.join(' / ')} | ${broker} | ${r.perCoreSecond} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const options = parse(process.argv.slice(2));
  const load = loadavg()[0]!;
  const plan: Array<[string, number]> = [['memory', 1]];
  for (const broker of options.brokers) for (const n of options.nodes) plan.push([broker, n]);
  const rows: Row[] = [];
  for (const [broker, n] of plan) {
    let best: Row | undefined;
    for (let attempt = 1; attempt <= options.repeat; attempt++) {
      process.stderr.write(`measuring ${broker} × ${n} node(s), run ${attempt}/${options.repeat}…\n`);
      const row = await measure(broker, n, options);
      if (!best || row.deliveriesPerSecond > best.deliveriesPerSecond) best = row;
    }
    rows.push(best!);
  }
  const output = table(rows, options, load);
  console.log(output);
  if (options.json) writeFileSync(options.json, JSON.stringify({ options, rows, at: new Date().toISOString() }, null, 2));
  else writeFileSync(join(ROOT, 'bench', 'scaling', 'last-run.md'), `${output}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
