#!/usr/bin/env node
// Measures start-up time: spawn `node bin/herald.js start` until GET /health answers 200.
// Usage: node scripts/startup-time.mjs [runs=5] [-- extra herald start args]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';

const runs = Number(process.argv[2] ?? 5);
const extra = process.argv.includes('--') ? process.argv.slice(process.argv.indexOf('--') + 1) : [];

async function freePort() {
  const srv = createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

async function once() {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-startup-'));
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, ['bin/herald.js', 'start', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn', ...extra], { stdio: 'ignore' });
  try {
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.status === 200, () => false);
      if (ok) return Number(process.hrtime.bigint() - t0) / 1e6;
      if (child.exitCode !== null) throw new Error(`herald exited with ${child.exitCode}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const times = [];
for (let i = 0; i < runs; i++) times.push(await once());
times.sort((a, b) => a - b);
const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;
console.log(`start-up to /health (${runs} runs): median ${fmt(times[Math.floor(runs / 2)])}, min ${fmt(times[0])}, max ${fmt(times.at(-1))}  [${times.map(fmt).join(', ')}]`);
