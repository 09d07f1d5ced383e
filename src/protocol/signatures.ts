/** HMAC signatures used by channel auth, user sign-in, REST signing and webhooks (spec A.8, B.1, C.1). */
import * as crypto from 'node:crypto';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** `crypto.hash` (Node ≥ 20.12): a one-shot digest without a Hash object per call. */
const oneShotHash = (crypto as { hash?: OneShotHash }).hash;

interface OneShotHash {
  (algorithm: string, data: string | Uint8Array, encoding: 'buffer'): Buffer;
  (algorithm: string, data: string | Uint8Array, encoding: 'hex' | 'latin1'): string;
}

/**
 * HMAC-SHA256 (RFC 2104) as two one-shot SHA-256 digests over key blocks prepared once per secret:
 * H((K ^ opad) || H((K ^ ipad) || message)). createHmac sets up a key and an HMAC context on every
 * call (~2 µs, a third of an API request's signature check); the prepared blocks make a check two
 * `crypto.hash` calls. Falls back to createHmac where `crypto.hash` is missing (Node < 20.12).
 */
export function hmacSha256Digest(secret: string, message: string | Uint8Array): Buffer {
  if (!oneShotHash) return createHmac('sha256', secret).update(message).digest();
  return oneShotHash('sha256', outerBlock(secret, message), 'buffer');
}

/** The outer HMAC block (K ^ opad || inner digest), valid until the next call for the same secret. */
function outerBlock(secret: string, message: string | Uint8Array): Buffer {
  const pads = hmacPads(secret);
  // The inner digest as a latin1 string (one char per byte), written into the outer block's digest
  // slot: a 'buffer' digest costs ~0.9 µs more per call (Node allocates a backing store for it).
  const innerDigest = oneShotHash!('sha256', innerBlock(pads, message), 'latin1');
  // The outer block is per secret and used synchronously, so its digest slot can be rewritten.
  pads.outer.write(innerDigest, SHA256_BLOCK, 'latin1');
  return pads.outer;
}

/** K ^ ipad followed by the message: a view exactly as long as the two. */
function innerBlock(pads: HmacPads, message: string | Uint8Array): Buffer {
  const maxBytes = typeof message === 'string' ? message.length * 3 : message.length;
  // Messages are short (a string to sign, a socket id and channel): they go through one scratch
  // buffer after the inner key block; a long one (a webhook body) gets its own.
  if (maxBytes > HMAC_SCRATCH.length - SHA256_BLOCK) {
    const block = Buffer.allocUnsafe(SHA256_BLOCK + maxBytes);
    pads.inner.copy(block, 0);
    return block.subarray(0, SHA256_BLOCK + writeMessage(block, message));
  }
  // The scratch keeps the key block of the secret that used it last (nothing else writes there):
  // the API checks every request against the same few secrets, so the copy is mostly skipped.
  if (scratchPads !== pads) {
    pads.inner.copy(HMAC_SCRATCH, 0);
    scratchPads = pads;
  }
  return scratchView(SHA256_BLOCK + writeMessage(HMAC_SCRATCH, message));
}

/** Writes the message after the key block; its length in bytes. */
function writeMessage(block: Buffer, message: string | Uint8Array): number {
  if (typeof message === 'string') return block.write(message, SHA256_BLOCK, 'utf8');
  block.set(message, SHA256_BLOCK);
  return message.length;
}

/**
 * The first `length` bytes of the scratch, one view per length made once: a subarray per call is a
 * Buffer to allocate (and collect) for each digest, and the lengths of strings to sign repeat.
 */
function scratchView(length: number): Buffer {
  return (scratchViews[length] ??= HMAC_SCRATCH.subarray(0, length));
}

const SHA256_BLOCK = 64;
const SHA256_BYTES = 32;
const HMAC_SCRATCH = Buffer.allocUnsafe(16 * 1024);
/** Whose key block is at the start of HMAC_SCRATCH (innerBlock). */
let scratchPads: HmacPads | undefined;
/** Views of HMAC_SCRATCH by length (scratchView); at most one per possible length. */
const scratchViews: Buffer[] = [];

interface HmacPads {
  /** K ^ 0x36 repeated over one block. */
  inner: Buffer;
  /** K ^ 0x5c over one block, followed by room for the inner digest. */
  outer: Buffer;
}

/**
 * Prepared blocks by secret. Apps have a handful of secrets; the bound only matters if secrets
 * churn (rotations, deleted apps), and then the table simply starts over.
 */
const padsBySecret = new Map<string, HmacPads>();
const MAX_PREPARED_SECRETS = 1024;

function hmacPads(secret: string): HmacPads {
  let pads = padsBySecret.get(secret);
  if (pads) return pads;
  let key: Buffer = Buffer.from(secret, 'utf8');
  if (key.length > SHA256_BLOCK) key = oneShotHash!('sha256', key, 'buffer');
  pads = { inner: Buffer.alloc(SHA256_BLOCK), outer: Buffer.alloc(SHA256_BLOCK + SHA256_BYTES) };
  for (let i = 0; i < SHA256_BLOCK; i++) {
    const k = i < key.length ? key[i]! : 0;
    pads.inner[i] = k ^ 0x36;
    pads.outer[i] = k ^ 0x5c;
  }
  if (padsBySecret.size >= MAX_PREPARED_SECRETS) padsBySecret.clear();
  padsBySecret.set(secret, pads);
  return pads;
}

/** Lower-case hex, straight from the digest call (no intermediate Buffer to allocate and encode). */
export function hmacSha256Hex(secret: string, message: string | Uint8Array): string {
  if (!oneShotHash) return createHmac('sha256', secret).update(message).digest('hex');
  return oneShotHash('sha256', outerBlock(secret, message), 'hex');
}

export function md5Digest(body: string | Uint8Array): Buffer {
  if (oneShotHash) return oneShotHash('md5', body, 'buffer');
  return createHash('md5').update(body).digest();
}

export function md5Hex(body: string | Uint8Array): string {
  if (oneShotHash) return oneShotHash('md5', body, 'hex');
  return createHash('md5').update(body).digest('hex');
}

/**
 * HMAC-SHA256 as a binary string (one char per byte, latin1): the cheapest form a digest comes in
 * (no hex encoding, no Buffer), for comparing with hexMatchesDigest.
 */
export function hmacSha256Binary(secret: string, message: string | Uint8Array): string {
  if (!oneShotHash) return createHmac('sha256', secret).update(message).digest().toString('latin1');
  return oneShotHash('sha256', outerBlock(secret, message), 'latin1');
}

/** MD5 as a binary string (one char per byte, latin1), for comparing with hexMatchesDigest. */
export function md5Binary(body: string | Uint8Array): string {
  if (oneShotHash) return oneShotHash('md5', body, 'latin1');
  return createHash('md5').update(body).digest().toString('latin1');
}

/** Hex digit values by character code; 16 marks a character that is not a hex digit. */
const HEX_VALUE = new Uint8Array(128).fill(16);
for (let i = 0; i < 10; i++) HEX_VALUE[0x30 + i] = i;
for (let i = 0; i < 6; i++) HEX_VALUE[0x41 + i] = HEX_VALUE[0x61 + i] = 10 + i;

/**
 * Constant-time check that `given` (hex in either case, from a caller) spells the bytes of
 * `digest` (a binary string: hmacSha256Binary, md5Binary), in JavaScript: the API's signature check
 * runs it twice per request, and each native round trip (a Buffer per operand, timingSafeEqual)
 * cost more than the whole loop. Decoding the caller's hex costs half the character visits of
 * comparing two hex strings, and the digest needs no hex encoding. Time depends on the lengths only:
 * a wrong length (public: digests have a fixed size) is refused at once, then every byte is visited
 * and differences, non-hex characters included, are OR-ed together; the table lookups are indexed
 * by the caller's input alone.
 */
export function hexMatchesDigest(given: string, digest: string): boolean {
  const length = digest.length;
  if (given.length !== 2 * length) return false;
  let diff = 0;
  for (let i = 0; i < length; i++) {
    const high = given.charCodeAt(2 * i);
    const low = given.charCodeAt(2 * i + 1);
    const h = HEX_VALUE[high & 0x7f]!;
    const l = HEX_VALUE[low & 0x7f]!;
    // Non-zero for a character past ASCII (>> 7) or not a hex digit (a value of 16, >> 4).
    diff |= ((high | low) >> 7) | ((h | l) >> 4) | (((h << 4) | l) ^ digest.charCodeAt(i));
  }
  return diff === 0;
}

/** Constant-time string comparison; unequal lengths still compare a full buffer. */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  if (left.length !== right.length) {
    // Compare against itself so the time taken does not reveal where the strings differ.
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}

export interface Credentials {
  key: string;
  secret: string;
}

export function channelAuthString(socketId: string, channel: string, channelData?: string): string {
  return channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`;
}

export function userAuthString(socketId: string, userData: string): string {
  return `${socketId}::user::${userData}`;
}

/**
 * Checks an `auth` value of the form `key:hexsignature` against any of the app's credentials
 * (several pairs exist while a secret is being rotated).
 */
export function verifyAuth(auth: unknown, signedString: string, credentials: readonly Credentials[]): boolean {
  if (typeof auth !== 'string') return false;
  const colon = auth.indexOf(':');
  if (colon <= 0) return false;
  const key = auth.slice(0, colon);
  const signature = auth.slice(colon + 1);
  let ok = false;
  for (const cred of credentials) {
    // Every pair is checked, so timing does not depend on which one matched.
    const expected = hmacSha256Hex(cred.secret, signedString);
    if (safeEqual(key, cred.key) && safeEqual(signature, expected)) ok = true;
  }
  return ok;
}
