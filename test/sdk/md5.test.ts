import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { md5Hex } from '../../src/sdk/md5.js';

test('MD5 matches the RFC 1321 test suite', () => {
  const vectors: Array<[string, string]> = [
    ['', 'd41d8cd98f00b204e9800998ecf8427e'],
    ['a', '0cc175b9c0f1b6a831c399e269772661'],
    ['abc', '900150983cd24fb0d6963f7d28e17f72'],
    ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
    ['abcdefghijklmnopqrstuvwxyz', 'c3fcd3d76192e4007dfb496cca67e13b'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 'd174ab98d277d9f5a5611c2c9f419d9f'],
    ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', '57edf4a22be3c955ac49da2e2107b67a'],
  ];
  for (const [input, expected] of vectors) assert.equal(md5Hex(input), expected, JSON.stringify(input));
});

test('MD5 matches the spec body_md5 vectors (B.1, B.8)', () => {
  assert.equal(md5Hex('{"name":"foo","channels":["project-3"],"data":"{\\"some\\":\\"data\\"}"}'), 'ec365a775a4cd0599faeb73354201b6f');
  assert.equal(md5Hex('{}'), '99914b932bd37a50b983c5e7c90ae93b');
});

test('MD5 agrees with node:crypto on every length around the block boundaries and on UTF-8 text', () => {
  for (let length = 0; length <= 200; length++) {
    const bytes = randomBytes(length);
    assert.equal(md5Hex(new Uint8Array(bytes)), createHash('md5').update(bytes).digest('hex'), `length ${length}`);
  }
  for (const text of ['héllo wörld', '☃ snow', '😀 emoji', 'a'.repeat(100_000)]) {
    assert.equal(md5Hex(text), createHash('md5').update(text, 'utf8').digest('hex'));
  }
});
