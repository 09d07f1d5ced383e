/**
 * Byte helpers that work on every runtime the SDK targets (Node 20+, Deno, Bun, edge workers):
 * no `Buffer`, no `atob`/`btoa` quirks with non-Latin-1 input.
 */

const textEncoder = new TextEncoder();

export function utf8Bytes(text: string): Uint8Array {
  return textEncoder.encode(text);
}

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

const HEX_DIGITS = '0123456789abcdef';

export function bytesToHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += HEX_DIGITS.charAt(byte >>> 4) + HEX_DIGITS.charAt(byte & 15);
  return out;
}

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_LOOKUP = new Map<string, number>([...BASE64_ALPHABET].map((char, index) => [char, index]));

/** Standard base64 with `=` padding (what `Buffer#toString('base64')` produces). */
export function bytesToBase64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    // A last group of 1 or 2 bytes is read with zeros after it (base64's own padding rule); the
    // characters those zeros produce are then written as '='.
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const present = Math.min(3, bytes.length - i);
    out += base64Char(n >>> 18) + base64Char(n >>> 12);
    out += present > 1 ? base64Char(n >>> 6) : '=';
    out += present > 2 ? base64Char(n) : '=';
  }
  return out;
}

function base64Char(sixBits: number): string {
  return BASE64_ALPHABET.charAt(sixBits & 63);
}

/** Unpadded base64url (RFC 4648 §5), as used by JWTs. */
export function bytesToBase64Url(bytes: Uint8Array): string {
  return bytesToBase64(bytes).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

/**
 * Strict standard-base64 decoder: returns undefined for anything that is not canonical base64
 * (wrong alphabet, bad padding, stray whitespace), so configuration mistakes are reported
 * instead of silently producing a different key.
 */
export function base64ToBytes(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const a = BASE64_LOOKUP.get(text.charAt(i)) ?? 0;
    const b = BASE64_LOOKUP.get(text.charAt(i + 1)) ?? 0;
    const c = BASE64_LOOKUP.get(text.charAt(i + 2)) ?? 0;
    const d = BASE64_LOOKUP.get(text.charAt(i + 3)) ?? 0;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    if (o < out.length) out[o++] = (n >>> 16) & 255;
    if (o < out.length) out[o++] = (n >>> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}

/** Constant-time comparison of two strings (time depends only on the longer length). */
export function constantTimeEqual(a: string, b: string): boolean {
  const length = Math.max(a.length, b.length);
  let diff = a.length ^ b.length;
  for (let i = 0; i < length; i++) {
    diff |= (i < a.length ? a.charCodeAt(i) : 0) ^ (i < b.length ? b.charCodeAt(i) : 0);
  }
  return diff === 0;
}
