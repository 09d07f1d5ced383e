/**
 * Runs deploy/nginx-herald.conf (the file docs/protocol.md gives) in a test: its upstream servers
 * become the given Herald ports, it listens on a free loopback port, and `edit` may change the
 * text further. Needs an nginx binary (PATH, /usr/sbin/nginx or HERALD_NGINX).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { portOpen } from '../scaling/support.js';

export const NGINX_CONF = 'deploy/nginx-herald.conf';

export function findNginx(): string | undefined {
  const candidates = [process.env.HERALD_NGINX, ...(process.env.PATH ?? '').split(':').map((d) => join(d, 'nginx')), '/usr/sbin/nginx'];
  return candidates.find((c): c is string => !!c && existsSync(c));
}

export interface RunningNginx {
  port: number;
  stop(): void;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startNginx(binary: string, upstreamPorts: number[], edit: (conf: string) => string = (c) => c): Promise<RunningNginx> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-nginx-'));
  const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'];
  for (const sub of temps) mkdirSync(join(dir, sub));
  const port = await freePort();
  const conf = edit(
    readFileSync(NGINX_CONF, 'utf8')
      .replace(/server 10\.0\.0\.1:6001;\s*server 10\.0\.0\.2:6001;/, upstreamPorts.map((p) => `server 127.0.0.1:${p};`).join(' '))
      .replace('listen 80;', `listen 127.0.0.1:${port};`)
      .replace('http {', `http {\n    access_log off;\n${temps.map((k) => `    ${k}_temp_path ${join(dir, k)};`).join('\n')}`),
  );
  if (!conf.includes(`server 127.0.0.1:${upstreamPorts.at(-1)};`)) throw new Error(`${NGINX_CONF} no longer has the upstream shape this helper fills in`);
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const child = spawn(binary, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', `daemon off; pid ${join(dir, 'nginx.pid')};`], { stdio: 'ignore' });
  const stop = () => {
    process.off('exit', stop);
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  // A test cancelled by its timeout never calls stop(): nginx must not outlive the test process.
  process.once('exit', stop);
  const deadline = Date.now() + 10_000;
  while (!(await portOpen(port))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      const log = existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '';
      stop();
      throw new Error(`nginx did not start: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { port, stop };
}
