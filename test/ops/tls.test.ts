/** Direct TLS: stock pusher-js over wss:// with forceTLS, the pusher SDK over https://, and certificate reloads. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:tls';
import Pusher from 'pusher';
import { startTestHerald } from '../helpers/herald.js';
import { PusherJs } from '../helpers/pusher-js.js';
import { nextEvent } from '../helpers/wait.js';
import { TlsError } from '../../src/server/tls.js';
import { haveOpenssl, makeSelfSigned } from './tls-certs.js';
import { CHILD_APP, startChildHerald } from './child-herald.js';

// Self-signed test certificates: only this test process (one per file under node --test) trusts anything.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: never[]) => {
  // Expected here: the env switch above, and clients that send 127.0.0.1 as TLS server name.
  if (!/NODE_TLS_REJECT_UNAUTHORIZED|TLS ServerName to an IP/.test(String(warning))) emitWarning(warning, ...rest);
}) as typeof process.emitWarning;

function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on('error', reject);
  });
}

test('pusher-js (forceTLS) and the pusher SDK talk to Herald over TLS; reloads keep connections', { skip: !haveOpenssl() && 'openssl CLI not installed' }, async (t) => {
  const first = makeSelfSigned('herald-first');
  const second = makeSelfSigned('herald-second', first.dir, 'second');
  const live = { certPath: `${first.dir}/live.crt`, keyPath: `${first.dir}/live.key` };
  copyFileSync(first.certPath, live.certPath);
  copyFileSync(first.keyPath, live.keyPath);
  const h = await startTestHerald({ config: { tlsCert: live.certPath, tlsKey: live.keyPath } });
  t.after(async () => {
    await h.stop();
    rmSync(first.dir, { recursive: true, force: true });
  });
  assert.match(h.herald.url, /^https:\/\//);
  assert.equal(await servedFingerprint(h.port), first.fingerprint);

  const client = h.pusherClient({ forceTLS: true, wssPort: h.port, wsPort: undefined });
  await nextEvent(client.connection, 'connected');
  const channel = client.subscribe('secure-room');
  await nextEvent(channel, 'pusher:subscription_succeeded');
  const server = h.pusherServer({ useTLS: true, port: String(h.port) });

  let got = nextEvent<{ n: number }>(channel, 'tick');
  await server.trigger('secure-room', 'tick', { n: 1 });
  assert.deepEqual(await got, { n: 1 });

  const health = await fetch(`${h.herald.url}/health`);
  assert.equal(health.status, 200);

  // Renewal: new files in place, reload (what SIGHUP does), the open connection carries on.
  copyFileSync(second.certPath, live.certPath);
  copyFileSync(second.keyPath, live.keyPath);
  assert.equal(h.herald.reloadTls(), true);
  assert.equal(await servedFingerprint(h.port), second.fingerprint, 'new handshakes get the new certificate');
  got = nextEvent<{ n: number }>(channel, 'tick');
  await server.trigger('secure-room', 'tick', { n: 2 });
  assert.deepEqual(await got, { n: 2 });
  assert.equal(client.connection.state, 'connected');

  // A broken renewal is refused with a clear error and the working certificate stays.
  writeFileSync(live.keyPath, 'not a key');
  assert.throws(() => h.herald.reloadTls(), (err: unknown) => err instanceof TlsError && /invalid TLS certificate\/key/.test((err as Error).message));
  assert.equal(await servedFingerprint(h.port), second.fingerprint);
  rmSync(live.certPath);
  assert.throws(() => h.herald.reloadTls(), /cannot read TLS certificate/);
});

test('reloadTls is a no-op without TLS', async (t) => {
  const h = await startTestHerald();
  t.after(() => h.stop());
  assert.equal(h.herald.reloadTls(), false);
  assert.match(h.herald.url, /^http:\/\//);
});

test('herald start: SIGHUP reloads the certificate files and keeps open connections', { skip: !haveOpenssl() && 'openssl CLI not installed' }, async (t) => {
  const first = makeSelfSigned('herald-first');
  const second = makeSelfSigned('herald-second', first.dir, 'second');
  const live = { certPath: `${first.dir}/live.crt`, keyPath: `${first.dir}/live.key` };
  copyFileSync(first.certPath, live.certPath);
  copyFileSync(first.keyPath, live.keyPath);
  const node = await startChildHerald(['--tls-cert', live.certPath, '--tls-key', live.keyPath]);
  const client = new PusherJs(CHILD_APP.key, { cluster: 'local', wsHost: '127.0.0.1', wssPort: node.port, forceTLS: true, enabledTransports: ['ws'] });
  t.after(async () => {
    client.disconnect();
    await node.cleanup();
    rmSync(first.dir, { recursive: true, force: true });
  });
  assert.match(node.url, /^https:/);
  await nextEvent(client.connection, 'connected', 30_000);
  const channel = client.subscribe('renewals');
  await nextEvent(channel, 'pusher:subscription_succeeded');

  copyFileSync(second.certPath, live.certPath);
  copyFileSync(second.keyPath, live.keyPath);
  node.process.kill('SIGHUP');
  await node.waitForLine(/TLS certificate reloaded/);
  assert.equal(await servedFingerprint(node.port), second.fingerprint);

  const server = new Pusher({ appId: CHILD_APP.id, key: CHILD_APP.key, secret: CHILD_APP.secret, host: '127.0.0.1', port: String(node.port), useTLS: true });
  const got = nextEvent<{ ok: boolean }>(channel, 'after-reload');
  await server.trigger('renewals', 'after-reload', { ok: true });
  assert.deepEqual(await got, { ok: true }, 'the connection opened before the reload still receives events');

  writeFileSync(live.certPath, 'garbage');
  node.process.kill('SIGHUP');
  await node.waitForLine(/TLS reload failed/);
  assert.equal(await servedFingerprint(node.port), second.fingerprint, 'a bad renewal keeps the working certificate');
  assert.equal(node.process.exitCode, null, 'and the server keeps running');
});
