import { test } from 'node:test';
import { createHash, createHmac } from 'node:crypto';
import assert from 'node:assert/strict';
import {
  channelAuthString,
  hexMatchesDigest,
  hmacSha256Binary,
  hmacSha256Digest,
  hmacSha256Hex,
  md5Binary,
  md5Digest,
  md5Hex,
  safeEqual,
  userAuthString,
  verifyAuth,
} from '../../src/protocol/signatures.js';
import { stringToSign, verifySignedRequest } from '../../src/protocol/http-signing.js';

const DOC = { key: '278d425bdf160c739803', secret: '7ad3773142a6692b25b8' };

test('channel auth test vectors from the spec (A.8)', () => {
  assert.equal(hmacSha256Hex(DOC.secret, channelAuthString('1234.1234', 'private-foobar')), '58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4');
  assert.equal(hmacSha256Hex(DOC.secret, userAuthString('1234.1234', '{"id":"12345"}')), '4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba');
  assert.equal(
    hmacSha256Hex(DOC.secret, channelAuthString('1234.1234', 'presence-foobar', '{"user_id":10,"user_info":{"name":"Mr. Channels"}}')),
    '31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80',
  );
  assert.equal(hmacSha256Hex('thesecret', '123.456:private-foo'), '7bc9a668ae16746f6021035c3f8e70a54bab1518e59ab857f3aafcddb534c585');
});

test('verifyAuth accepts key:signature, rejects wrong key, wrong signature and junk', () => {
  const creds = [{ key: 'thekey', secret: 'thesecret' }];
  const good = 'thekey:7bc9a668ae16746f6021035c3f8e70a54bab1518e59ab857f3aafcddb534c585';
  assert.equal(verifyAuth(good, '123.456:private-foo', creds), true);
  assert.equal(verifyAuth(good, '123.457:private-foo', creds), false, 'other socket');
  assert.equal(verifyAuth(good, '123.456:private-bar', creds), false, 'other channel');
  assert.equal(verifyAuth(good.replace('thekey', 'otherkey'), '123.456:private-foo', creds), false);
  for (const junk of [undefined, null, 42, '', ':', 'thekey', 'thekey:']) assert.equal(verifyAuth(junk, '123.456:private-foo', creds), false);
  // Rotation: a second pair is accepted too.
  assert.equal(verifyAuth(good, '123.456:private-foo', [{ key: 'new', secret: 'newsecret1' }, ...creds]), true);
});

test('safeEqual', () => {
  assert.equal(safeEqual('abc', 'abc'), true);
  assert.equal(safeEqual('abc', 'abd'), false);
  assert.equal(safeEqual('abc', 'abcd'), false);
});

test('REST signing worked example (B.1)', () => {
  const body = '{"name":"foo","channels":["project-3"],"data":"{\\"some\\":\\"data\\"}"}';
  assert.equal(md5Hex(body), 'ec365a775a4cd0599faeb73354201b6f');
  const query: Array<[string, string]> = [
    ['auth_key', DOC.key],
    ['auth_timestamp', '1353088179'],
    ['auth_version', '1.0'],
    ['body_md5', 'ec365a775a4cd0599faeb73354201b6f'],
  ];
  assert.equal(
    stringToSign('POST', '/apps/3/events', query),
    `POST\n/apps/3/events\nauth_key=${DOC.key}&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f`,
  );
  const signature = 'da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c';
  const req = { method: 'POST', path: '/apps/3/events', query: [...query, ['auth_signature', signature] as [string, string]], body: Buffer.from(body) };
  assert.deepEqual(verifySignedRequest(req, [DOC], 1353088179 + 10), { ok: true, credentials: DOC });

  const stale = verifySignedRequest(req, [DOC], 1353088179 + 600);
  assert.equal(stale.ok, false);
  assert.match((stale as { message: string }).message, /Timestamp expired/);

  const tampered = verifySignedRequest({ ...req, body: Buffer.from(body.replace('foo', 'bar')) }, [DOC], 1353088179);
  assert.match((tampered as { message: string }).message, /body_md5/);
});

test('GET signing vector (B.1, observed from the SDK)', () => {
  const query: Array<[string, string]> = [
    ['auth_key', 'thekey'],
    ['auth_timestamp', '1795385063'],
    ['auth_version', '1.0'],
    ['filter_by_prefix', 'presence-'],
    ['info', 'user_count'],
  ];
  assert.equal(hmacSha256Hex('thesecret', stringToSign('GET', '/apps/123/channels', query)), '4687d94806b5076f60ec0af8f33d700a4962b0a0f3626121f712a318563f8626');
});

test('webhook signature vector (C.1)', () => {
  const body = '{"time_ms":1327078148132,"events":[{"name":"channel_occupied","channel":"my-channel"}]}';
  assert.equal(hmacSha256Hex(DOC.secret, body), 'c19001ae3963ccb13bf618e5b16ba9848e7e74df0993aa0689168e341c6833cf');
});

test('verifySignedRequest: upper-case signature and body_md5 accepted; the first of repeated parameters counts', () => {
  const body = '{"name":"foo","channels":["project-3"],"data":"{\\"some\\":\\"data\\"}"}';
  const query: Array<[string, string]> = [
    ['auth_key', DOC.key],
    ['auth_timestamp', '1353088179'],
    ['auth_version', '1.0'],
    ['body_md5', 'EC365A775A4CD0599FAEB73354201B6F'],
  ];
  const signature = hmacSha256Hex(DOC.secret, stringToSign('POST', '/apps/3/events', query));
  const req = { method: 'POST', path: '/apps/3/events', query: [...query, ['auth_signature', signature.toUpperCase()] as [string, string]], body: Buffer.from(body) };
  assert.equal(verifySignedRequest(req, [DOC], 1353088179).ok, true);
  const repeated = { ...req, query: [...req.query, ['auth_signature', 'junk'] as [string, string]] };
  assert.equal(verifySignedRequest(repeated, [DOC], 1353088179).ok, true);
  const wrong = { ...req, query: [...query, ['auth_signature', signature.replace(/^./, (c) => (c === '0' ? '1' : '0'))] as [string, string]] };
  assert.match((verifySignedRequest(wrong, [DOC], 1353088179) as { message: string }).message, /Invalid signature/);
});

test('verifySignedRequest: auth_version is required and must be 1.0 (B.1), even when the rest is correctly signed', () => {
  const signedWith = (query: Array<[string, string]>) => {
    const signature = hmacSha256Hex(DOC.secret, stringToSign('GET', '/apps/3/channels', query));
    return verifySignedRequest({ method: 'GET', path: '/apps/3/channels', query: [...query, ['auth_signature', signature]], body: Buffer.alloc(0) }, [DOC], 1353088179);
  };
  const base: Array<[string, string]> = [['auth_key', DOC.key], ['auth_timestamp', '1353088179']];
  assert.equal(signedWith([...base, ['auth_version', '1.0']]).ok, true);
  assert.match((signedWith(base) as { message: string }).message, /auth_version/);
  assert.match((signedWith([...base, ['auth_version', '2.0']]) as { message: string }).message, /Version not supported/);
});

test('stringToSign sorts lower-cased keys and keeps the received order of equal keys', () => {
  const query: Array<[string, string]> = [['b', '2'], ['A', '1'], ['c', '3'], ['a', '0'], ['auth_signature', 'x']];
  assert.equal(stringToSign('post', '/p', query), 'POST\n/p\na=1&a=0&b=2&c=3');
});

test('hexMatchesDigest: either case of the digest\'s hex matches; wrong, short, long, odd-length or non-hex input does not', () => {
  for (const digest of [md5Binary('hello'), hmacSha256Binary(DOC.secret, 'hello')]) {
    const hex = Buffer.from(digest, 'latin1').toString('hex');
    assert.equal(hexMatchesDigest(hex, digest), true);
    assert.equal(hexMatchesDigest(hex.toUpperCase(), digest), true);
    const mixed = [...hex].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join('');
    assert.equal(hexMatchesDigest(mixed, digest), true);
    // A parsed query value is a slice of the query string.
    assert.equal(hexMatchesDigest(`?x=${hex}&`.slice(3, -1), digest), true);
    const flipped = (i: number) => `${hex.slice(0, i)}${hex[i] === '0' ? '1' : '0'}${hex.slice(i + 1)}`;
    for (const i of [0, 1, hex.length - 2, hex.length - 1]) assert.equal(hexMatchesDigest(flipped(i), digest), false, `digit ${i} changed`);
    assert.equal(hexMatchesDigest(hex.slice(0, -1), digest), false, 'odd length');
    assert.equal(hexMatchesDigest(hex.slice(0, -2), digest), false, 'short');
    assert.equal(hexMatchesDigest(`${hex}0`, digest), false, 'odd length, long');
    assert.equal(hexMatchesDigest(`${hex}00`, digest), false, 'long');
    assert.equal(hexMatchesDigest('', digest), false);
    assert.equal(hexMatchesDigest(`${hex.slice(0, 10)}zz${hex.slice(12)}`, digest), false);
    assert.equal(hexMatchesDigest(hex.replace(/./g, 'g'), digest), false);
  }
  // Characters that decode onto the right value when taken loosely are refused: a digit lowered by
  // 0x20 (what a blunt `| 0x20` case fold would accept), and characters past ASCII whose low seven
  // bits are the right digit (what a table lookup by `c & 0x7f` alone would accept).
  const digest = Buffer.from('0123456789abcdef', 'hex').toString('latin1');
  assert.equal(hexMatchesDigest('0123456789abcdef', digest), true);
  assert.equal(hexMatchesDigest('\x10123456789abcdef', digest), false);
  assert.equal(hexMatchesDigest('\xb0123456789abcdef', digest), false);
  assert.equal(hexMatchesDigest('\u01b0123456789abcdef', digest), false);
  assert.equal(hexMatchesDigest('0123456789abcde\xe6', digest), false);
  assert.equal(hexMatchesDigest('0123456789ABCDE\uffc6', digest), false);
});

test('hmacSha256Binary and md5Binary are the raw digests, one latin1 character per byte', () => {
  for (const [secret, message] of [['s', 'm'], ['x'.repeat(100), 'y'.repeat(20000)], ['ключ', 'сообщение'], [DOC.secret, Buffer.from([0, 255])]] as const) {
    assert.equal(hmacSha256Binary(secret, message), createHmac('sha256', secret).update(message).digest().toString('latin1'));
    assert.equal(md5Binary(message), createHash('md5').update(message).digest().toString('latin1'));
  }
  assert.equal(Buffer.from(hmacSha256Binary(DOC.secret, 'one'), 'latin1').length, 32);
  assert.equal(Buffer.from(md5Binary('one'), 'latin1').length, 16);
});

test('hmacSha256Hex and md5Hex print what createHmac and createHash print', () => {
  for (const [secret, message] of [['s', 'm'], ['x'.repeat(100), 'y'.repeat(20000)], ['ключ', 'сообщение']] as const) {
    assert.equal(hmacSha256Hex(secret, message), createHmac('sha256', secret).update(message).digest('hex'));
    assert.equal(md5Hex(message), createHash('md5').update(message).digest('hex'));
  }
});

test('hmacSha256Digest (prepared key blocks) equals createHmac for every key and message shape', () => {
  const secrets = ['', 'k', DOC.secret, 'x'.repeat(63), 'y'.repeat(64), 'z'.repeat(65), 'é'.repeat(40), '\u{1F600}secret', 'a'.repeat(200)];
  const messages: Array<string | Uint8Array> = [
    '',
    'POST\n/apps/1/events\nauth_key=k&auth_timestamp=1&auth_version=1.0&body_md5=00',
    'ü€\u{1F600} multi-byte',
    'lone \ud800 surrogate',
    'm'.repeat(5461), // the largest string that fits the shared scratch buffer
    'm'.repeat(5462),
    'é'.repeat(20_000),
    new Uint8Array([0, 1, 2, 255]),
    Buffer.alloc(16_320, 7),
    Buffer.alloc(16_321, 9),
  ];
  for (const secret of secrets) {
    for (const message of messages) {
      const expected = createHmac('sha256', secret).update(message).digest('hex');
      assert.equal(hmacSha256Digest(secret, message).toString('hex'), expected, `secret of ${secret.length} chars, message of ${message.length}`);
    }
  }
  // A digest handed out earlier is not overwritten by the next one (the blocks are reused).
  const first = hmacSha256Digest(DOC.secret, 'one');
  hmacSha256Digest(DOC.secret, 'two');
  assert.equal(first.toString('hex'), createHmac('sha256', DOC.secret).update('one').digest('hex'));
});

test('hmacSha256Hex stays right when secrets alternate, the prepared table starts over, and lengths repeat', () => {
  const expected = (secret: string, message: string) => createHmac('sha256', secret).update(message).digest('hex');
  // Alternating secrets: each call must put its own key block in front of the message.
  for (let i = 0; i < 60; i++) {
    const secret = `secret-${i % 3}`;
    const message = `message ${i % 10}${'x'.repeat(i % 7)}`;
    assert.equal(hmacSha256Hex(secret, message), expected(secret, message), `call ${i}`);
  }
  // More secrets than the table keeps (1024): it starts over, and old secrets are prepared again.
  for (let i = 0; i < 1100; i++) hmacSha256Hex(`rotated-${i}`, 'm');
  assert.equal(hmacSha256Hex('secret-0', 'again'), expected('secret-0', 'again'));
  assert.equal(hmacSha256Hex('rotated-1099', 'again'), expected('rotated-1099', 'again'));
  // A long message (its own block) between two short ones leaves the shared one intact.
  assert.equal(hmacSha256Hex('secret-1', 'short'), expected('secret-1', 'short'));
  assert.equal(hmacSha256Hex('secret-1', 'y'.repeat(20_000)), expected('secret-1', 'y'.repeat(20_000)));
  assert.equal(hmacSha256Hex('secret-1', 'trohs'), expected('secret-1', 'trohs'));
  assert.equal(hmacSha256Binary('secret-2', Buffer.from('trohs')), createHmac('sha256', 'secret-2').update('trohs').digest().toString('latin1'));
});
