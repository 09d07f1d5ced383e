/**
 * The key derivation of `private-encrypted-` channels (spec A.9), shared by the server (GraphQL's
 * channel authorization hands pusher-js its `shared_secret`) and the SDK (which also encrypts).
 * Runtime-neutral on purpose: Web Crypto and TextEncoder only, no `node:` module and no Buffer,
 * because the SDK runs on Deno, Bun and edge runtimes too (test/sdk/portability.test.ts checks it).
 */

/** The master key is 32 bytes (NaCl secretbox key size); the SDK and GraphQL refuse other sizes. */
export const ENCRYPTION_MASTER_KEY_BYTES = 32;

/** The per-channel key (32 bytes) that pusher-js receives as `shared_secret`: SHA-256(channel name ‖ master key). */
export async function channelSharedSecret(
  channel: string,
  masterKey: Uint8Array,
  subtle: SubtleCrypto = globalThis.crypto.subtle,
): Promise<Uint8Array> {
  const name = new TextEncoder().encode(channel);
  const input = new Uint8Array(name.length + masterKey.length);
  input.set(name, 0);
  input.set(masterKey, name.length);
  return new Uint8Array(await subtle.digest('SHA-256', input));
}
