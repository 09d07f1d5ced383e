/**
 * MD5 (RFC 1321) in pure TypeScript. Web Crypto has no MD5, yet Pusher's REST signing needs
 * `body_md5` (spec B.1), so the SDK carries this small implementation to stay runtime-neutral.
 * Not used for anything security-relevant: the HMAC-SHA256 signature covers `body_md5`.
 */
import { bytesToHex, utf8Bytes } from './encoding.js';

// Per-round left-rotation amounts.
const SHIFTS = [
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
  5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
  4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
  6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
];

// floor(abs(sin(i + 1)) * 2^32), written out so results never depend on an engine's Math.sin.
const SINE_TABLE = new Uint32Array([
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
  0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
  0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
  0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
  0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
  0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
  0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
  0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
]);

/** MD5 digest (16 bytes) of `input`; strings are hashed as UTF-8, like `Buffer.from(s, 'utf8')`. */
export function md5(input: string | Uint8Array): Uint8Array {
  const message = typeof input === 'string' ? utf8Bytes(input) : input;
  // Padding: 0x80, zeros, then the bit length as a 64-bit little-endian integer.
  const blockCount = ((message.length + 8) >>> 6) + 1;
  const padded = new Uint8Array(blockCount * 64);
  padded.set(message);
  padded[message.length] = 0x80;
  const view = new DataView(padded.buffer);
  const bitLengthLow = (message.length << 3) >>> 0;
  const bitLengthHigh = Math.floor(message.length / 0x20000000) >>> 0;
  view.setUint32(padded.length - 8, bitLengthLow, true);
  view.setUint32(padded.length - 4, bitLengthHigh, true);

  let a0 = 0x67452301;
  let b0 = 0xefcdab89;
  let c0 = 0x98badcfe;
  let d0 = 0x10325476;
  const words = new Uint32Array(16);

  for (let block = 0; block < blockCount; block++) {
    for (let w = 0; w < 16; w++) words[w] = view.getUint32(block * 64 + w * 4, true);
    let a = a0;
    let b = b0;
    let c = c0;
    let d = d0;
    for (let i = 0; i < 64; i++) {
      let f: number;
      let g: number;
      if (i < 16) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (i < 32) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) & 15;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) & 15;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) & 15;
      }
      // In bounds: i < 64, the length of SINE_TABLE and SHIFTS; g is masked to 0..15, words' length.
      f = (f + a + SINE_TABLE[i]! + words[g]!) >>> 0;
      a = d;
      d = c;
      c = b;
      const shift = SHIFTS[i]!;
      b = (b + ((f << shift) | (f >>> (32 - shift)))) >>> 0;
    }
    a0 = (a0 + a) >>> 0;
    b0 = (b0 + b) >>> 0;
    c0 = (c0 + c) >>> 0;
    d0 = (d0 + d) >>> 0;
  }

  const digest = new Uint8Array(16);
  const out = new DataView(digest.buffer);
  out.setUint32(0, a0, true);
  out.setUint32(4, b0, true);
  out.setUint32(8, c0, true);
  out.setUint32(12, d0, true);
  return digest;
}

/** Lowercase hex MD5, the format of Pusher's `body_md5` query parameter. */
export function md5Hex(input: string | Uint8Array): string {
  return bytesToHex(md5(input));
}
