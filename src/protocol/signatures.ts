/** HMAC signatures used by channel auth, user sign-in, REST signing and webhooks (spec A.8, B.1, C.1). */
import * as crypto from 'node:crypto';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** `crypto.hash` (Node ≥ 20.12): a one-shot digest without a Hash object per call. */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string | Uint8Array, encoding: 'buffer') => Buffer }).hash;

export function hmacSha256Digest(secret: string, message: string | Uint8Array): Buffer {
  return createHmac('sha256', secret).update(message).digest();
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
