/** Throwaway provider credentials for the fakes: an APNs .p8-style key and a Firebase service account. */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';

export interface ApnsCredentials {
  keyId: string;
  teamId: string;
  topic: string;
  privateKeyPem: string;
  publicKey: KeyObject;
}

export interface ServiceAccount {
  type: 'service_account';
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  token_uri: string;
}

export function apnsCredentials(): ApnsCredentials {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    keyId: 'ABC123DEFG',
    teamId: 'TEAM123456',
    topic: 'com.example.herald',
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicKey,
  };
}

/** A service account whose token_uri points at the fake OAuth endpoint. */
export function serviceAccount(tokenUri: string): { account: ServiceAccount; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    account: {
      type: 'service_account',
      project_id: 'herald-test-project',
      private_key_id: 'key-0001',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      client_email: 'beams@herald-test-project.iam.gserviceaccount.com',
      token_uri: tokenUri,
    },
    publicKey,
  };
}
