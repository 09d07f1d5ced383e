/**
 * The server under test: Herald started here as separate child process(es)
 * (`node bin/herald.js start`), the reference floor server (`--reference`,
 * bench/reference/floor-server.ts, no Herald code), or an already running server given with
 * --target/--server-pid.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { spawnNode, terminate, type NodeChildOptions } from './spawn.js';
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
  /** The worker processes of a multi-worker Herald (`pid` is then its supervisor). */
  workerPids?: number[];
}

/** What the figures are of: printed above the table and written to the JSON. */
export type ServerKind = 'herald' | 'reference floor' | 'external';

export interface ServerUnderTest {
  kind: ServerKind;
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
  /** Start bench/reference/floor-server.ts instead of Herald (one node; app/env/store unused). */
  reference?: boolean;
  /** Herald worker processes per node (herald start --workers); 1 = one process. */
  workers?: number;
  /** Leave the data directory empty: the store opens only at a usage flush after a minute (idle scenario). */
  freshStore?: boolean;
  /** Compiled JavaScript instead of tsx: Herald from dist/ (see buildCompiled), the floor transpiled. */
  compiled?: boolean;
}

/**
 * Builds dist/ (`npm run build`): Herald always runs from it (bin/herald.js runs dist/, as a
 * published package does), so the bench measures the current sources, never a stale build.
 */
export function buildCompiled(root: string, log: (line: string) => void): void {
  log('npm run build (Herald runs from dist/)');
  execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
}

/** Herald's entry: bin/herald.js (which runs dist/), or dist/cli/main.js directly with --compiled. */
function heraldEntry(root: string, compiled: boolean | undefined): string {
  return compiled ? join(root, 'dist', 'cli', 'main.js') : join(root, 'bin', 'herald.js');
}

/**
 * The floor server as plain JavaScript, compiled by the project's tsc (no helpers added), written
 * under node_modules/.cache so its `ws` import resolves from the project.
 */
function compiledFloorServer(root: string): string {
  const dir = join(root, 'node_modules', '.cache', 'herald-bench');
  mkdirSync(dir, { recursive: true });
  const tsc = join(root, 'node_modules', '.bin', 'tsc');
  const flags = ['--ignoreConfig', '--outDir', dir, '--rootDir', join(root, 'bench', 'reference'), '--module', 'preserve', '--moduleResolution', 'bundler', '--target', 'ES2022', '--skipLibCheck', '--types', 'node'];
  execFileSync(tsc, [...flags, join(root, 'bench', 'reference', 'floor-server.ts')], { cwd: root, stdio: 'ignore' });
  return join(dir, 'floor-server.js');
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

/**
 * Serving yet? Herald opens its port before its store and modules are up and answers 503 until
 * then, so a TCP connect is not enough: GET /ready must answer something other than 503 (the floor
 * server has no /ready and answers 404, which also means it serves).
 */
function serves(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: '/ready', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode !== 503);
    });
    req.once('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.once('error', () => resolve(false));
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
  if (options.reference && options.nodes > 1) throw new Error('the reference floor server runs as one node only (it has no broker)');
  const kind: ServerKind = options.reference ? 'reference floor' : 'herald';
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
      const inspectArgs = inspectPort ? [`--inspect=127.0.0.1:${inspectPort}`] : [];
      const workers = options.reference ? 1 : (options.workers ?? 1);
      const args = ['--port', String(port), '--host', '127.0.0.1', ...(workers > 1 ? ['--workers', String(workers)] : [])];
      let embeddedDataDir: string | undefined;
      let program: Pick<NodeChildOptions, 'nodeArgs' | 'script' | 'args' | 'env'>;
      if (options.reference && options.compiled) {
        program = { nodeArgs: [], script: compiledFloorServer(options.root), args, env: process.env };
      } else if (options.reference) {
        // tsx, as bin/herald.js registers it for Herald's sources.
        program = { nodeArgs: ['--import', 'tsx'], script: join(options.root, 'bench', 'reference', 'floor-server.ts'), args, env: process.env };
      } else {
        const dataDir = mkdtempSync(join(tmpdir(), 'herald-bench-'));
        dataDirs.push(dataDir);
        if (!options.env.HERALD_DATABASE_URL && !options.freshStore) {
          // A fresh Herald creates its embedded store only after a minute of traffic (usage stats),
          // which would land inside a measured phase: create it now, so Herald opens it at start.
          execFileSync(process.execPath, [heraldEntry(options.root, options.compiled), 'apps', 'list'], {
            cwd: options.root,
            env: { ...process.env, HERALD_DATA_DIR: dataDir, HERALD_LOG_LEVEL: 'warn' },
            stdio: 'ignore',
          });
          embeddedDataDir = dataDir;
        }
        program = {
          nodeArgs: [],
          script: heraldEntry(options.root, options.compiled),
          args: ['start', ...args],
          env: {
            ...process.env,
            HERALD_APP_ID: options.app.id,
            HERALD_APP_KEY: options.app.key,
            HERALD_APP_SECRET: options.app.secret,
            HERALD_LOG_LEVEL: 'warn',
            HERALD_DATA_DIR: dataDir,
            ...options.env,
          },
        };
      }
      // Both kinds are spawned alike (raised open-files limit, the pid read for CPU and memory).
      const child = spawnNode({
        ...program,
        nodeArgs: [...program.nodeArgs, ...options.nodeArgs, ...inspectArgs],
        cwd: options.root,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      const tail = captureTail(child);
      const banner = workers > 1 ? workersBanner(child) : undefined;
      relayLogs(child, `[server ${i}]`, options.log);
      await waitUntilListening(child, '127.0.0.1', port, tail, kind);
      // The port opens with the first worker: wait for every one (the banner lists their pids).
      const workerPids = banner ? await banner : undefined;
      nodes.push({ host: '127.0.0.1', port, pid: child.pid, inspectPort, embeddedDataDir, workerPids });
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { kind, nodes, app: options.app, stop };
}

/** Resolves with the worker pids a multi-worker Herald prints once every worker listens. */
function workersBanner(child: ChildProcess): Promise<number[]> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text = (text + chunk.toString()).slice(-8000);
      const match = / workers \(pids ([\d, ]+)\)/.exec(text);
      if (!match) return;
      child.stdout?.off('data', onData);
      resolve(match[1]!.split(', ').map(Number));
    };
    child.stdout?.on('data', onData);
    child.once('exit', () => reject(new Error('Herald exited before every worker listened')));
  });
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

async function waitUntilListening(child: ChildProcess, host: string, port: number, tail: () => string, kind: ServerKind): Promise<void> {
  const name = kind === 'herald' ? 'Herald' : 'The reference floor server';
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited during startup (code ${child.exitCode ?? child.signalCode}):\n${tail()}`);
    }
    if (await serves(host, port)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${name} did not listen on ${host}:${port} within 60 s:\n${tail()}`);
}

/** An already running server (--target host:port[,host:port…], CPU/RSS from --server-pid). */
export function externalServer(targets: string[], pids: number[], app: AppCredentials): ServerUnderTest {
  const nodes = targets.map((target, i) => {
    const [, host, port] = /^(.+):(\d{1,5})$/.exec(target) ?? [];
    if (host === undefined || port === undefined) throw new Error(`--target must be host:port, got "${target}"`);
    return { host, port: Number(port), pid: pids[i] };
  });
  return { kind: 'external', nodes, app, stop: async () => {} };
}
