/**
 * Starts Node child processes through `sh -c 'ulimit -n …; exec node …'`, so each child first
 * raises its own open-files limit (up to the hard limit, or beyond it where the user may) and
 * then becomes the Node process itself (same pid, so /proc figures are the child's own).
 */
import { execFileSync, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';

/** Open files each child asks for; 100,000 connections need about that many descriptors. */
export const WANTED_OPEN_FILES = 1_048_576;

const RAISE_FD_LIMIT = `ulimit -n ${WANTED_OPEN_FILES} 2>/dev/null || ulimit -n "$(ulimit -H -n)" 2>/dev/null; exec "$0" "$@"`;

export interface NodeChildOptions {
  nodeArgs: string[];
  script: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdio: StdioOptions;
}

export function spawnNode(options: NodeChildOptions): ChildProcess {
  return spawn('/bin/sh', ['-c', RAISE_FD_LIMIT, process.execPath, ...options.nodeArgs, options.script, ...options.args], {
    cwd: options.cwd,
    env: options.env,
    stdio: options.stdio,
  });
}

/** Resolves when the child exits (immediately if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves to how the child ended ("code 0", "SIGKILL"…). */
export async function terminate(child: ChildProcess, graceMs: number): Promise<string> {
  const outcome = () => (child.signalCode !== null ? child.signalCode : `code ${child.exitCode}`);
  if (child.exitCode !== null || child.signalCode !== null) return `already ended, ${outcome()}`;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited(child);
  clearTimeout(timer);
  return outcome();
}

/** The open-files limit a child started by `spawnNode` ends up with (after its `ulimit -n`). */
export function effectiveOpenFilesLimit(): number {
  const script = RAISE_FD_LIMIT.replace('exec "$0" "$@"', 'ulimit -n');
  const output = execFileSync('/bin/sh', ['-c', script], { encoding: 'utf8' }).trim();
  return output === 'unlimited' ? Infinity : Number(output);
}
