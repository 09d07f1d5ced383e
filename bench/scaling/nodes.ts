/** Herald nodes for the scaling benchmark: `node bin/herald.js start` child processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface BenchNode {
  port: number;
  pid: number;
  child: ChildProcess;
}

export interface NodeSet {
  nodes: BenchNode[];
  stop(): Promise<void>;
}

export async function startNodes(root: string, count: number, env: Record<string, string>): Promise<NodeSet> {
  const dirs: string[] = [];
  const nodes: BenchNode[] = [];
  const stop = async () => {
    await Promise.all(
      nodes.map(
        (n) =>
          new Promise<void>((resolve) => {
            if (n.child.exitCode !== null || n.child.signalCode !== null) return resolve();
            n.child.once('exit', () => resolve());
            n.child.kill('SIGTERM');
            setTimeout(() => n.child.kill('SIGKILL'), 5000).unref();
          }),
      ),
    );
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < count; i++) {
      const dataDir = mkdtempSync(join(tmpdir(), 'herald-bench-scaling-'));
      dirs.push(dataDir);
      nodes.push(await startNode(root, dataDir, env));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes, stop };
}

function startNode(root: string, dataDir: string, env: Record<string, string>): Promise<BenchNode> {
  const child = spawn(process.execPath, ['bin/herald.js', 'start', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir], {
    cwd: root,
    env: { ...process.env, HERALD_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`node did not start within 60 s:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const m = /listening on https?:\/\/[^\s:]+:(\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve({ port: Number(m[1]), pid: child.pid!, child });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => {
      output += c.toString('utf8');
      if (process.env.BENCH_VERBOSE) process.stderr.write(c);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`node exited (${code}) before listening:\n${output}`));
    });
  });
}
