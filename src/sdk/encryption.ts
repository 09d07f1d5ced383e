/**
 * End-to-end encryption for `private-encrypted-` channels (spec A.9), compatible with the official
 * SDK and pusher-js: shared secret = SHA-256(channel name ‖ master key), payload = NaCl secretbox
 * (XSalsa20-Poly1305) of UTF-8 `JSON.stringify(data)` with a random 24-byte nonce.
 *
 * NaCl comes from `tweetnacl` (audited, pure JS, no Node APIs). It is loaded on first use so that
 * apps without encrypted channels never load it.
 */
import { channelSharedSecret as deriveSharedSecret } from '../protocol/encrypted-channels.js';
import { bytesToBase64, utf8Bytes } from './encoding.js';
import { HeraldConfigurationError } from './errors.js';
import { subtleCrypto } from './signing.js';

const NONCE_BYTES = 24;

interface SecretBox {
  secretbox(message: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array;
}

let naclModule: Promise<SecretBox> | undefined;

async function loadNacl(): Promise<SecretBox> {
  naclModule ??= import('tweetnacl').then(
    (module) => ((module as unknown as { default?: SecretBox }).default ?? (module as unknown as SecretBox)),
    (error: unknown) => {
      naclModule = undefined;
      throw new HeraldConfigurationError('encryptionMasterKeyBase64', 'encrypted channels need the "tweetnacl" package, which could not be loaded', { cause: error });
    },
  );
  return naclModule;
}

/** The per-channel key (32 bytes) that pusher-js receives as `shared_secret` (protocol/encrypted-channels.ts). */
export async function channelSharedSecret(channel: string, masterKey: Uint8Array): Promise<Uint8Array> {
  return deriveSharedSecret(channel, masterKey, subtleCrypto());
}

/** Random bytes from Web Crypto (available on every supported runtime). */
export function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  globalThis.crypto.getRandomValues(bytes);
  return bytes;
}

/**
 * Encrypts event data for one encrypted channel; returns the event `data` string
 * `{"nonce":"<b64>","ciphertext":"<b64>"}`. `plaintextJson` must be `JSON.stringify(data)`: like the
 * official SDK, even string data is JSON-encoded first, so pusher-js hands subscribers the original
 * value after decrypting.
 */
export async function encryptEventData(
  channel: string,
  plaintextJson: string,
  masterKey: Uint8Array,
  nonce: Uint8Array = randomBytes(NONCE_BYTES),
): Promise<string> {
  const nacl = await loadNacl();
  const key = await channelSharedSecret(channel, masterKey);
  const ciphertext = nacl.secretbox(utf8Bytes(plaintextJson), nonce, key);
  return JSON.stringify({ nonce: bytesToBase64(nonce), ciphertext: bytesToBase64(ciphertext) });
}
