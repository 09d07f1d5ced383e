#!/usr/bin/env node
// Container health check: exits 0 when Herald answers GET /health (or the path given as the first
// argument, e.g. /ready) with 200. Reads HERALD_PORT and, when HERALD_TLS_CERT is set, uses HTTPS
// without verifying the certificate (it only talks to 127.0.0.1).
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

const port = Number(process.env.HERALD_PORT || 6001);
const path = process.argv[2] || '/health';
const useTls = Boolean(process.env.HERALD_TLS_CERT);
const request = useTls ? httpsRequest : httpRequest;

const req = request({ host: '127.0.0.1', port, path, method: 'GET', timeout: 4000, rejectUnauthorized: false }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timed out')));
req.on('error', (err) => {
  process.stderr.write(`healthcheck: ${err.message}\n`);
  process.exit(1);
});
req.end();
