/**
 * Beams user tokens (spec F.3/F.4): HS256 JWTs signed with the instance secret key, produced by the
 * server SDK's generateToken() on the customer's auth endpoint and presented by the client SDK when
 * it associates a device with a user. Errors follow device-api.md.
 */
import { decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import { BeamsError } from './errors.js';
import { LIMITS } from './validation.js';

/** The issuer every official SDK writes, even when pointed at a self-hosted endpoint. */
export function expectedIssuer(instanceId: string): string {
  return `https://${instanceId}.pushnotifications.pusher.com`;
}

/** Allowed clock difference between the customer's server and Herald, in seconds. */
const CLOCK_TOLERANCE_S = 60;

const unauthorized = (description: string) => new BeamsError('unauthorized', 'Unauthorized', description);
const bad = (description: string) => new BeamsError('invalid', 'Bad Request', description);

/** Verifies `Authorization: Bearer <jwt>` for an instance and returns the user id (`sub`). */
export async function verifyUserToken(token: string | undefined, instanceId: string, secretKey: string): Promise<string> {
  if (token === undefined) throw unauthorized('`Authorization` header token is missing');
  if (token === '' || token.length > 8192) throw unauthorized('`Authorization` header token is malformed');
  try {
    const header = decodeProtectedHeader(token);
    if (header.alg !== 'HS256') throw unauthorized('`Authorization` header token is malformed');
  } catch (err) {
    if (err instanceof BeamsError) throw err;
    throw unauthorized('`Authorization` header token is malformed');
  }
  let claims: Record<string, unknown>;
  try {
    const verified = await jwtVerify(token, new TextEncoder().encode(secretKey), { algorithms: ['HS256'], clockTolerance: CLOCK_TOLERANCE_S });
    claims = verified.payload as Record<string, unknown>;
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw unauthorized('JWT has expired');
    if (err instanceof joseErrors.JWSSignatureVerificationFailed) throw unauthorized('Invalid JWT signature');
    if (err instanceof joseErrors.JWTClaimValidationFailed) throw unauthorized(`Invalid JWT: ${err.message}`);
    throw unauthorized('`Authorization` header token is malformed');
  }
  if (typeof claims.exp !== 'number') throw bad('Missing expiration (exp) field in JWT');
  if (claims.sub === undefined) throw bad('Missing subject (sub) field in JWT');
  if (typeof claims.sub !== 'string' || claims.sub.length < 1 || claims.sub.length > LIMITS.nameLength) {
    throw bad(`JWT subject (sub) must be between 1-${LIMITS.nameLength} characters long`);
  }
  if (claims.iss === undefined) throw bad('Missing issuer (iss) field in JWT');
  if (claims.iss !== expectedIssuer(instanceId)) throw new BeamsError('forbidden', 'Forbidden', 'Invalid JWT issuer');
  return claims.sub;
}
