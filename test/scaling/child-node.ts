/** A Herald node as an operator runs it (`node bin/herald.js start`), so a test can SIGKILL it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withTimeout } from '../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ChildNode {
  port: number;
  process: ChildProcess;
  lines: string[];
  exited: Promise<void>;
  kill(signal: NodeJS.Signals): Promise<void>;
  cleanup(): Promise<void>;
}

export async function startChildNode(env: Record<string, string>): Promise<ChildNode> {
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-scaling-'));
  const childEnv: Record<string, string | undefined> = { ...process.env, HERALD_LOG_LEVEL: 'warn', ...env };
  delete childEnv.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, ['bin/herald.js', 'start', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir], {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let banner: (line: string) => void = () => undefined;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let buffered = '';
  const onData = (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      lines.push(line);
      if (process.env.HERALD_TEST_LOG) process.stderr.write(`[node ${child.pid}] ${line}\n`);
      if (/Herald listening on/.test(line)) banner(line);
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);

  const kill = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  const cleanup = async () => {
    await kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const line = await withTimeout(
      new Promise<string>((resolve, reject) => {
        banner = resolve;
        void exited.then(() => reject(new Error(`herald exited before listening:\n${lines.join('\n')}`)));
      }),
      90_000,
      'a child Herald to listen',
    );
    const port = Number(/listening on https?:\/\/[^\s:]+:(\d+)/.exec(line)?.[1]);
    return { port, process: child, lines, exited, kill, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
