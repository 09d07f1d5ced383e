/**
 * Forwarding of xhr requests between the workers of a node (src/transports/xhr/forwarding.ts):
 * the owner of a session key, the private listener's trust check, and routing. The whole path
 * with stock pusher-js on a 2-worker node is in test/workers/xhr-workers.test.ts.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { CLIENT_ADDRESS_HEADER, FORWARD_SECRET_HEADER, ownerSlot, XhrForwarder } from '../../src/transports/xhr/forwarding.js';
import type { HttpContext } from '../../src/platform/router.js';
import { DomainError } from '../../src/platform/errors.js';

test('a session key has one owner slot, the same every time, and keys spread over the slots', () => {
  const counts = [0, 0, 0];
  for (let i = 0; i < 300; i++) {
    const key = `app-key/${i % 1000}/${i.toString(32).padStart(8, 'x')}`;
    const slot = ownerSlot(key, 3);
    assert.equal(ownerSlot(key, 3), slot);
    counts[slot]!++;
  }
  for (const n of counts) assert.ok(n > 60, `every slot owns a share: ${counts.join(', ')}`);
  assert.equal(ownerSlot('anything', 1), 0);
});

const seen: string[] = [];
const forwarder = new XhrForwarder({
  slot: 0,
  maxBodyBytes: 1024,
  routes: (router, wrap) => router.add('POST', '/pusher/app/:key/:server/:session/xhr_send', wrap((ctx, ip) => {
    seen.push(ip);
    ctx.res.writeHead(204).end();
  })),
});
const peer = await forwarder.listen();
after(() => forwarder.close());

const privateUrl = `http://127.0.0.1:${peer.port}/pusher/app/k/1/abcdefgh/xhr_send`;

test('the private listener believes the client address only with its own secret', async () => {
  const refused: Array<Record<string, string>> = [
    {},
    { [CLIENT_ADDRESS_HEADER]: '203.0.113.9' },
    { [CLIENT_ADDRESS_HEADER]: '203.0.113.9', [FORWARD_SECRET_HEADER]: 'not-the-secret' },
    { [CLIENT_ADDRESS_HEADER]: '203.0.113.9', [FORWARD_SECRET_HEADER]: peer.secret + 'x' },
    { [FORWARD_SECRET_HEADER]: peer.secret },
  ];
  for (const headers of refused) assert.equal((await fetch(privateUrl, { method: 'POST', headers, body: '[]' })).status, 403, JSON.stringify(headers));
  assert.deepEqual(seen, []);
  const ok = await fetch(privateUrl, { method: 'POST', headers: { [CLIENT_ADDRESS_HEADER]: '203.0.113.9', [FORWARD_SECRET_HEADER]: peer.secret }, body: '[]' });
  assert.equal(ok.status, 204);
  assert.deepEqual(seen, ['203.0.113.9']);
});

test('a request for a session this slot owns stays here; another slot\'s restarting owner gets 503', () => {
  const ctx = (session: string) => ({ params: { key: 'k', server: '1', session } }) as unknown as HttpContext;
  const mine = Array.from({ length: 50 }, (_, i) => `s${i}`).find((s) => ownerSlot(`k/1/${s}`, 2) === 0)!;
  const theirs = Array.from({ length: 50 }, (_, i) => `s${i}`).find((s) => ownerSlot(`k/1/${s}`, 2) === 1)!;
  assert.equal(forwarder.route(ctx(theirs)), undefined, 'no table yet (one-worker node): handled here');
  forwarder.setTable({ slots: 2, peers: [peer, null] });
  assert.equal(forwarder.route(ctx(mine)), undefined);
  assert.throws(() => forwarder.route(ctx(theirs)), (err: unknown) => err instanceof DomainError && err.kind === 'unavailable');
  assert.equal(forwarder.forwardedRequests, 0);
});
