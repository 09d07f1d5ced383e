/** Runs `node bin/herald.js start` as a child process, as an operator would, for signal tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withTimeout } from '../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export const CHILD_APP = { id: 'ops-app', key: 'ops-key', secret: 'ops-secret-123456' };

export interface ChildHerald {
  port: number;
  url: string;
  process: ChildProcess;
  /** Every stdout/stderr line so far. */
  lines: string[];
  waitForLine(pattern: RegExp, ms?: number): Promise<string>;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  /** Kills the process if still running and removes its data directory. */
  cleanup(): Promise<void>;
}

/** Starts `node bin/herald.js start` in `cwd` (the repository by default) on a random port. */
export async function startChildHerald(args: string[] = [], env: Record<string, string> = {}, cwd = ROOT): Promise<ChildHerald> {
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-child-'));
  const childEnv: Record<string, string | undefined> = {
    ...process.env,
    HERALD_APP_ID: CHILD_APP.id,
    HERALD_APP_KEY: CHILD_APP.key,
    HERALD_APP_SECRET: CHILD_APP.secret,
    ...env,
  };
  delete childEnv.HERALD_LOG_LEVEL;
  delete childEnv.NODE_TEST_CONTEXT;
  const child = spawn(
    process.execPath,
    ['bin/herald.js', 'start', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--log-level', 'info', '--shutdown-timeout-ms', '5000', ...args],
    { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  const onData = (buffered: { text: string }) => (chunk: Buffer) => {
    buffered.text += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffered.text.indexOf('\n')) >= 0) {
      const line = buffered.text.slice(0, nl);
      buffered.text = buffered.text.slice(nl + 1);
      lines.push(line);
      if (process.env.HERALD_TEST_LOG) process.stderr.write(`[child ${child.pid}] ${line}\n`);
      for (const w of [...waiters]) {
        if (w.pattern.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  };
  child.stdout!.on('data', onData({ text: '' }));
  child.stderr!.on('data', onData({ text: '' }));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));

  const waitForLine = (pattern: RegExp, ms = 20_000) => {
    const seen = lines.find((l) => pattern.test(l));
    if (seen) return Promise.resolve(seen);
    return withTimeout(
      new Promise<string>((resolve, reject) => {
        waiters.push({ pattern, resolve });
        void exited.then((code) => reject(new Error(`herald exited (${code}) before printing ${pattern}:\n${lines.join('\n')}`)));
      }),
      ms,
      `herald to print ${pattern}`,
    );
  };

  const cleanup = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    const banner = await waitForLine(/Herald listening on https?:\/\//, 90_000); // PGlite start-up is slow on a loaded machine
    const m = /Herald listening on (https?:\/\/[^:]+:(\d+))/.exec(banner)!;
    return { port: Number(m[2]), url: m[1]!, process: child, lines, waitForLine, exited, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

