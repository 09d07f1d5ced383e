/** Running `herald apps`: as the real binary (spawned) or in-process (same runApps, no process start). */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runApps } from '../../src/cli/apps.js';
import { withTimeout } from '../helpers/wait.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const BIN = fileURLToPath(new URL('../../bin/herald.js', import.meta.url));

/** Runs `node bin/herald.js apps …` with a clean environment (no HERALD_* leaking in). */
export function heraldApps(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HERALD_'))) as Record<string, string>;
  const child = spawn(process.execPath, [BIN, 'apps', ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return withTimeout(
    new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }))),
    90_000,
    `herald apps ${args[0]}`,
  );
}

/** `herald apps …` in this process, with only the given environment. */
export async function appsInProcess(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await runApps(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), env });
  return { code, stdout, stderr };
}
