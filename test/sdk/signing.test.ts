/** Spec signature vectors (A.8, A.9, B.1) and byte-for-byte equality with the official `pusher` SDK. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Pusher from 'pusher';
import { ChannelsClient } from '../../src/sdk/index.js';
import { HmacSigner, signQuery } from '../../src/sdk/signing.js';

const DOC = { appId: '3', key: '278d425bdf160c739803', secret: '7ad3773142a6692b25b8' };
const OBS = { appId: '123', key: 'thekey', secret: 'thesecret' };
const MASTER_KEY = 'BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=';

function sdk(app: { appId: string; key: string; secret: string }, nowMs: number, extra: Record<string, unknown> = {}) {
  return new ChannelsClient({ ...app, host: '127.0.0.1', ...extra } as never, { clock: () => nowMs });
}

function official(app: { appId: string; key: string; secret: string }, extra: Record<string, unknown> = {}) {
  return new Pusher({ ...app, host: '127.0.0.1', ...extra } as Pusher.Options);
}

test('B.1 worked example: POST /apps/3/events signature', async () => {
  const body = '{"name":"foo","channels":["project-3"],"data":"{\\"some\\":\\"data\\"}"}';
  const signed = await signQuery({ key: DOC.key, signer: new HmacSigner(DOC.secret), method: 'POST', path: '/apps/3/events', body, timestampSeconds: 1353088179 });
  assert.equal(
    signed.stringToSign,
    'POST\n/apps/3/events\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f',
  );
  assert.equal(signed.signature, 'da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c');
  const query = await sdk(DOC, 1353088179_000).createSignedQueryString({ method: 'post', path: '/apps/3/events', body });
  assert.equal(
    query,
    'auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f&auth_signature=da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c',
  );
});

test('B.1 GET example with filter_by_prefix and info', async () => {
  const query = await sdk(OBS, 1795385063_000).createSignedQueryString({
    method: 'GET',
    path: '/apps/123/channels',
    params: { filter_by_prefix: 'presence-', info: 'user_count' },
  });
  assert.ok(query.endsWith('&auth_signature=4687d94806b5076f60ec0af8f33d700a4962b0a0f3626121f712a318563f8626'), query);
});

test('A.8 channel and user auth vectors', async () => {
  const client = sdk({ appId: '1', key: DOC.key, secret: DOC.secret }, Date.now());
  assert.deepEqual(await client.authorizeChannel({ socketId: '1234.1234', channel: 'private-foobar' }), {
    auth: `${DOC.key}:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4`,
  });
  const user = await client.authenticateUser({ socketId: '1234.1234', userData: { id: '12345' } });
  assert.equal(user.auth, `${DOC.key}:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba`);
  assert.equal(user.user_data, '{"id":"12345"}');
  const presence = await client.authorizeChannel({
    socketId: '1234.1234',
    channel: 'presence-foobar',
    channelData: { user_id: 10, user_info: { name: 'Mr. Channels' } },
  });
  assert.equal(presence.auth, `${DOC.key}:31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80`);
  assert.equal(presence.channel_data, '{"user_id":10,"user_info":{"name":"Mr. Channels"}}');

  const obs = sdk(OBS, Date.now());
  assert.equal((await obs.authorizeChannel({ socketId: '123.456', channel: 'private-foo' })).auth, 'thekey:7bc9a668ae16746f6021035c3f8e70a54bab1518e59ab857f3aafcddb534c585');
  const obsPresence = await obs.authorizeChannel({ socketId: '123.456', channel: 'presence-foo', channelData: { user_id: 'u1', user_info: { name: 'A' } } });
  assert.equal(obsPresence.auth, 'thekey:43bac039f3eb677dc41ca5320308aa6d28da370d8730d487f72d5c25d8849f68');
});

test('A.9 shared secret vector for private-encrypted- channels', async () => {
  const client = sdk(OBS, Date.now(), { encryptionMasterKeyBase64: MASTER_KEY });
  const result = await client.authorizeChannel({ socketId: '123.456', channel: 'private-encrypted-x' });
  assert.equal(result.shared_secret, 'QBLmxUha0AEqZM0+A5PNJXDxZBx3jy3Nx0o1EY1y36I=');
});

test('authorizeChannel and authenticateUser return exactly what the official SDK returns', async () => {
  const ours = sdk(OBS, Date.now(), { encryptionMasterKeyBase64: MASTER_KEY });
  const theirs = official(OBS, { encryptionMasterKeyBase64: MASTER_KEY });
  const cases: Array<[string, string, Record<string, unknown> | undefined]> = [
    ['123.456', 'private-foo', undefined],
    ['123.456', 'private-encrypted-x', undefined],
    ['99.1', 'presence-room', { user_id: 'u1', user_info: { name: 'A', tags: ['x', 'ü'] } }],
    ['99.1', 'presence-cache-room', { user_id: 42 }],
    // No channelData on a presence channel: the signed-in user's flow (pusher-js ≥ 7.4), {auth} only.
    ['99.1', 'presence-room', undefined],
    ['1.2', 'private-a=b@c,d.e;f', undefined],
  ];
  for (const [socketId, channel, channelData] of cases) {
    const mine = await ours.authorizeChannel({ socketId, channel, channelData: channelData as never });
    const official = theirs.authorizeChannel(socketId, channel, channelData as never);
    assert.equal(JSON.stringify(mine), JSON.stringify(official), channel);
  }
  const userData = { id: 'u1', user_info: { name: 'A' }, watchlist: ['u2'] };
  assert.equal(
    JSON.stringify(await ours.authenticateUser({ socketId: '123.456', userData })),
    JSON.stringify(theirs.authenticateUser('123.456', userData)),
  );
});

test('createSignedQueryString equals the official output (Date.now stubbed) for many inputs', async (t) => {
  const nowMs = 1_700_000_123_456;
  t.mock.method(Date, 'now', () => nowMs);
  const ours = sdk(OBS, nowMs);
  const theirs = official(OBS);
  const cases: Array<{ method: string; path: string; body?: string; params?: Record<string, string | number> }> = [
    { method: 'GET', path: '/apps/123/channels' },
    { method: 'get', path: '/apps/123/channels', params: { filter_by_prefix: 'presence-', info: 'user_count' } },
    { method: 'POST', path: '/apps/123/events', body: '{"name":"e","data":"{}","channels":["a"]}' },
    { method: 'POST', path: '/apps/123/events', body: '{"data":"ünïcödé ☃"}', params: { zeta: 1, alpha: 'x', info: 'user_count,subscription_count' } },
    { method: 'DELETE', path: '/apps/123/x', body: '' },
    { method: 'GET', path: '/apps/123/channels/presence-a=b@c,d.e;f', params: { info: 'subscription_count', with_user_info: 1 } },
  ];
  for (const input of cases) {
    assert.equal(await ours.createSignedQueryString(input), theirs.createSignedQueryString(input), JSON.stringify(input));
  }
});

test('values that would break a URL are percent-encoded, but the signature still covers the raw value', async (t) => {
  const nowMs = 1_700_000_000_000;
  t.mock.method(Date, 'now', () => nowMs);
  const ours = await sdk(OBS, nowMs).createSignedQueryString({ method: 'GET', path: '/apps/123/x', params: { q: 'a&b c+d#é' } });
  const theirs = official(OBS).createSignedQueryString({ method: 'GET', path: '/apps/123/x', params: { q: 'a&b c+d#é' } });
  assert.ok(ours.includes('q=a%26b%20c%2Bd%23%C3%A9'), ours);
  const signature = (s: string) => s.slice(s.indexOf('auth_signature='));
  assert.equal(signature(ours), signature(theirs));
  assert.equal(new URLSearchParams(ours).get('q'), 'a&b c+d#é');
});
