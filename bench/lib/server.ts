/**
 * The server under test: either Herald started here as separate child process(es)
 * (`node bin/herald.js start`), or an already running server given with --target/--server-pid.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { spawnNode, terminate } from './spawn.js';
import type { AppCredentials } from './signing.js';

export interface ServerNode {
  host: string;
  port: number;
  /** Undefined when benchmarking an external server without --server-pid. */
  pid: number | undefined;
  /** Node inspector port when started with `inspect` (memory scenarios force GC through it). */
  inspectPort?: number;
  /** The embedded store's directory of a Herald started here (absent with --database-url). */
  embeddedDataDir?: string;
}

export interface ServerUnderTest {
  nodes: ServerNode[];
  app: AppCredentials;
  /** Stops what this run started; a no-op for an external target. */
  stop(): Promise<void>;
}

export interface LaunchOptions {
  root: string;
  app: AppCredentials;
  nodes: number;
  /** Extra node flags for the server, e.g. --cpu-prof. */
  nodeArgs: string[];
  /** Extra environment for the server (HERALD_BROKER… for several nodes). */
  env: Record<string, string>;
  /** Open the Node inspector on a free loopback port (to force GC before memory readings). */
  inspect: boolean;
  log: (line: string) => void;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Keeps the last few KB of a child's output for error messages. */
function captureTail(child: ChildProcess): () => string {
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => tail;
}

/** Servers started by this process and not yet stopped (for Ctrl-C). */
const running = new Set<() => Promise<void>>();

export async function stopAllServers(): Promise<void> {
  await Promise.all([...running].map((stop) => stop()));
}

export async function launchHerald(options: LaunchOptions): Promise<ServerUnderTest> {
  const children: ChildProcess[] = [];
  const dataDirs: string[] = [];
  const nodes: ServerNode[] = [];
  const stop = async () => {
    running.delete(stop);
    const outcomes = await Promise.all(children.map((child) => terminate(child, 15_000)));
    outcomes.forEach((outcome, i) => {
      if (outcome !== 'code 0') options.log(`[server ${i}] did not stop cleanly: ${outcome}`);
    });
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  };
  running.add(stop);
  try {
    for (let i = 0; i < options.nodes; i++) {
      const port = await freePort();
      const inspectPort = options.inspect ? await freePort() : undefined;
      const dataDir = mkdtempSync(join(tmpdir(), 'herald-bench-'));
      dataDirs.push(dataDir);
      const child = spawnNode({
        nodeArgs: inspectPort ? [...options.nodeArgs, `--inspect=127.0.0.1:${inspectPort}`] : options.nodeArgs,
        script: join(options.root, 'bin', 'herald.js'),
        args: ['start', '--port', String(port), '--host', '127.0.0.1'],
        cwd: options.root,
        env: {
          ...process.env,
          HERALD_APP_ID: options.app.id,
          HERALD_APP_KEY: options.app.key,
          HERALD_APP_SECRET: options.app.secret,
          HERALD_LOG_LEVEL: 'warn',
          HERALD_DATA_DIR: dataDir,
          ...options.env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      const tail = captureTail(child);
      relayLogs(child, `[server ${i}]`, options.log);
      await waitUntilListening(child, '127.0.0.1', port, tail);
      const embeddedDataDir = options.env.HERALD_DATABASE_URL ? undefined : dataDir;
      nodes.push({ host: '127.0.0.1', port, pid: child.pid, inspectPort, embeddedDataDir });
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, app: options.app, stop };
}

/** Relays the first warnings/errors the server logs (HERALD_LOG_LEVEL=warn): they explain odd figures. */
function relayLogs(child: ChildProcess, prefix: string, log: (line: string) => void): void {
  const MAX_RELAYED = 20;
  let relayed = 0;
  const relay = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (line.trim() === '' || relayed > MAX_RELAYED || /^(Debugger (listening|attached|ending)|For help, see|Waiting for the debugger)/.test(line)) continue;
      relayed++;
      log(relayed > MAX_RELAYED ? `${prefix} (further server output suppressed)` : `${prefix} ${line.slice(0, 400)}`);
    }
  };
  child.stdout?.on('data', relay);
  child.stderr?.on('data', relay);
}

async function waitUntilListening(child: ChildProcess, host: string, port: number, tail: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`Herald exited during startup (code ${child.exitCode ?? child.signalCode}):\n${tail()}`);
    }
    if (await canConnect(host, port)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Herald did not listen on ${host}:${port} within 60 s:\n${tail()}`);
}

/** An already running server (--target host:port[,host:port…], CPU/RSS from --server-pid). */
export function externalServer(targets: string[], pids: number[], app: AppCredentials): ServerUnderTest {
  const nodes = targets.map((target, i) => {
    const match = /^(.+):(\d{1,5})$/.exec(target);
    if (!match) throw new Error(`--target must be host:port, got "${target}"`);
    return { host: match[1], port: Number(match[2]), pid: pids[i] };
  });
  return { nodes, app, stop: async () => {} };
}
