#!/usr/bin/env node
// Measures start-up time: spawn `node bin/herald.js start` (fresh embedded store each time) until
// GET /ready answers 200 (the port opens earlier, answering /ready 503 while the store and modules start). Several entry points are measured in alternation (same machine load).
// Usage: node scripts/startup-time.mjs [runs=5] [--bin path/to/entry.js …] [-- extra herald start args]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';

const argv = process.argv.slice(2);
const extra = argv.includes('--') ? argv.slice(argv.indexOf('--') + 1) : [];
const own = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
const runs = Number(own.find((a) => /^\d+$/.test(a)) ?? 5);
const bins = own.flatMap((a, i) => (own[i - 1] === '--bin' ? [a] : []));
if (bins.length === 0) bins.push('bin/herald.js');

async function freePort() {
  const srv = createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

async function once(bin) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-startup-'));
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, [bin, 'start', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn', ...extra], { stdio: 'ignore' });
  try {
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.status === 200, () => false);
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

const times = new Map(bins.map((b) => [b, []]));
for (let i = 0; i < runs; i++) for (const bin of bins) times.get(bin).push(await once(bin));
const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;
for (const [bin, list] of times) {
  list.sort((a, b) => a - b);
  console.log(`${bin}: start-up to /ready (${runs} runs): median ${fmt(list[Math.floor(runs / 2)])}, min ${fmt(list[0])}, max ${fmt(list.at(-1))}  [${list.map(fmt).join(', ')}]`);
}
