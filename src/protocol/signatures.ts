/** HMAC signatures used by channel auth, user sign-in, REST signing and webhooks (spec A.8, B.1, C.1). */
import * as crypto from 'node:crypto';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** `crypto.hash` (Node ≥ 20.12): a one-shot digest without a Hash object per call. */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string | Uint8Array, encoding: 'buffer') => Buffer }).hash;

export function hmacSha256Digest(secret: string, message: string | Uint8Array): Buffer {
  if (!oneShotHash) return createHmac('sha256', secret).update(message).digest();
  // HMAC (RFC 2104) as two one-shot SHA-256 digests over the secret's precomputed pads: every
  // signed API request and channel auth runs this, and an Hmac object (a stream, with OpenSSL
  // context set-up per call) costs about twice as much CPU.
  const pads = hmacPads(secret);
  const length = HMAC_BLOCK + (typeof message === 'string' ? Buffer.byteLength(message) : message.byteLength);
  const input = length <= scratch.length ? scratch.subarray(0, length) : Buffer.allocUnsafe(length);
  pads.inner.copy(input, 0);
  if (typeof message === 'string') input.write(message, HMAC_BLOCK, 'utf8');
  else input.set(message, HMAC_BLOCK);
  oneShotHash('sha256', input, 'buffer').copy(pads.outer, HMAC_BLOCK);
  return oneShotHash('sha256', pads.outer, 'buffer');
}

const HMAC_BLOCK = 64;
/** Reused input buffer (hashing is synchronous, so one is enough); longer messages allocate. */
const scratch = Buffer.allocUnsafe(4096);

interface HmacPads {
  /** key ⊕ ipad (64 bytes). */
  inner: Buffer;
  /** key ⊕ opad (64 bytes) followed by room for the inner digest (32 bytes). */
  outer: Buffer;
}

/**
 * Pads per secret. Apps have one or two secrets each, so this stays small; it is emptied when it
 * reaches MAX_CACHED_SECRETS so rotated-away secrets do not accumulate.
 */
const padsBySecret = new Map<string, HmacPads>();
const MAX_CACHED_SECRETS = 1024;

function hmacPads(secret: string): HmacPads {
  let pads = padsBySecret.get(secret);
  if (pads) return pads;
  let key = Buffer.from(secret, 'utf8');
  if (key.length > HMAC_BLOCK) key = createHash('sha256').update(key).digest();
  pads = { inner: Buffer.alloc(HMAC_BLOCK, 0x36), outer: Buffer.alloc(HMAC_BLOCK + 32, 0x5c) };
  for (let i = 0; i < key.length; i++) {
    pads.inner[i]! ^= key[i]!;
    pads.outer[i]! ^= key[i]!;
  }
  if (padsBySecret.size >= MAX_CACHED_SECRETS) padsBySecret.clear();
  padsBySecret.set(secret, pads);
  return pads;
}

export function hmacSha256Hex(secret: string, message: string | Uint8Array): string {
  return hmacSha256Digest(secret, message).toString('hex');
}

export function md5Digest(body: string | Uint8Array): Buffer {
  if (oneShotHash) return oneShotHash('md5', body, 'buffer');
  return createHash('md5').update(body).digest();
}

export function md5Hex(body: string | Uint8Array): string {
  return md5Digest(body).toString('hex');
}

/**
 * Constant-time check that `hex` (either case) spells `digest`. Decoding the given hex once is
 * cheaper than hex-encoding the digest and comparing two strings; the length is checked first
 * because Buffer.from(…, 'hex') silently stops at the first non-hex character.
 */
export function hexDigestEquals(hex: string, digest: Buffer): boolean {
  const given = Buffer.from(hex, 'hex');
  if (hex.length !== digest.length * 2 || given.length !== digest.length) {
    timingSafeEqual(digest, digest);
    return false;
  }
  return timingSafeEqual(given, digest);
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
