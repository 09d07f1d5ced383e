/**
 * A `herald start` child process for the churn and soak runs: the server is measured as its own
 * process (RSS from /proc/<pid>/status) while the load runs here. The Node inspector is opened on
 * a random loopback port so a run can force a full GC before reading memory (RSS right after a
 * burst mostly measures garbage not yet collected).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { signedQuery, type AppCredentials } from './peer.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ChildHerald {
  pid: number;
  port: number;
  httpUrl: string;
  wsUrl: string;
  app: AppCredentials;
  adminToken: string;
  /** Resident set size in bytes (VmRSS). */
  rss(): number;
  /** Forces a full GC in the server through the inspector, then reads RSS and V8 heap. */
  collectGarbage(): Promise<{ rss: number; heapUsed: number }>;
  /** A signed GET of the Pusher HTTP API (e.g. `/channels`), parsed. */
  api<T = any>(path: string, params?: Record<string, string>): Promise<T>;
  /** The Prometheus text of GET /metrics. */
  metrics(): Promise<string>;
  /** Everything the server wrote to stderr/stdout (tail). */
  output(): string;
  stop(): Promise<string>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = net.createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolvePort(port));
    });
  });
}

export function rssOf(pid: number): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** Sums the samples of one Prometheus metric (all label sets). */
export function metricSum(text: string, name: string, labelFilter = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    if (labelFilter && !rest.includes(labelFilter)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  }
  return sum;
}

export async function startChildHerald(options: { env?: Record<string, string>; nodeArgs?: string[] } = {}): Promise<ChildHerald> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-hardening-'));
  const app: AppCredentials = { id: 'hardening', key: 'hardening-key', secret: 'hardening-secret-0123456789' };
  const adminToken = 'hardening-admin-token-0123456789';
  const child: ChildProcess = spawn(
    process.execPath,
    ['--inspect=127.0.0.1:0', ...(options.nodeArgs ?? []), join(ROOT, 'bin', 'herald.js'), 'start', '--port', String(port), '--host', '127.0.0.1'],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        HERALD_APP_ID: app.id,
        HERALD_APP_KEY: app.key,
        HERALD_APP_SECRET: app.secret,
        HERALD_ADMIN_TOKEN: adminToken,
        HERALD_DATA_DIR: dataDir,
        HERALD_LOG_LEVEL: 'warn',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let tail = '';
  let inspectorUrl: string | undefined;
  const keep = (chunk: Buffer) => {
    const text = chunk.toString();
    tail = (tail + text).slice(-8000);
    inspectorUrl ??= /Debugger listening on (ws:\/\/\S+)/.exec(tail)?.[1];
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`herald exited during startup:\n${tail}`);
    if (await canConnect(port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`herald did not listen within 60 s:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const httpUrl = `http://127.0.0.1:${port}`;
  const pid = child.pid!;

  return {
    pid,
    port,
    httpUrl,
    wsUrl: `ws://127.0.0.1:${port}`,
    app,
    adminToken,
    rss: () => rssOf(pid),
    async collectGarbage() {
      if (!inspectorUrl) throw new Error('the server inspector URL was not printed');
      const usage = await inspect(inspectorUrl);
      return { rss: rssOf(pid), heapUsed: usage.heapUsed };
    },
    async api(path, params = {}) {
      const full = `/apps/${app.id}${path}`;
      const res = await fetch(`${httpUrl}${full}?${signedQuery(app, 'GET', full, '', params)}`);
      const text = await res.text();
      if (res.status !== 200) throw new Error(`GET ${path} → ${res.status} ${text.slice(0, 200)}`);
      return JSON.parse(text);
    },
    async metrics() {
      const res = await fetch(`${httpUrl}/metrics`);
      return res.text();
    },
    output: () => tail,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dataDir, { recursive: true, force: true });
      return child.signalCode ?? `code ${child.exitCode}`;
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

/** Runs HeapProfiler.collectGarbage (twice: weak references need a second pass) and reads memoryUsage. */
async function inspect(url: string): Promise<{ heapUsed: number }> {
  const ws = new WebSocket(url);
  await new Promise<void>((done, fail) => {
    ws.once('open', () => done());
    ws.once('error', fail);
  });
  let id = 0;
  const call = (method: string, params: object = {}) =>
    new Promise<any>((done, fail) => {
      const mine = ++id;
      const timer = setTimeout(() => fail(new Error(`inspector ${method} timed out`)), 30_000);
      const onMessage = (raw: WebSocket.RawData) => {
        const msg = JSON.parse(raw.toString());
        if (msg.id !== mine) return;
        clearTimeout(timer);
        ws.off('message', onMessage);
        if (msg.error) fail(new Error(msg.error.message));
        else done(msg.result);
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ id: mine, method, params }));
    });
  try {
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
    const result = await call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true });
    return JSON.parse(result.result.value);
  } finally {
    ws.close();
  }
}
