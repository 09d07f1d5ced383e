/**
 * Direct TLS (wss:// and https://) from PEM files named by HERALD_TLS_CERT / HERALD_TLS_KEY.
 * Certificates are re-read on SIGHUP and swapped with https.Server#setSecureContext, so renewed
 * certificates (certbot, cert-manager…) apply to new connections while open ones stay up.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';

export interface TlsFiles {
  certPath: string;
  keyPath: string;
}

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
}

export class TlsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsError';
  }
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new TlsError(`cannot read TLS ${what} ${path}: ${(err as Error).message}`);
  }
}

/**
 * Reads and validates a certificate/key pair. Throws TlsError with a readable message when a file
 * is missing, not PEM, or the key does not belong to the certificate — so a bad renewal is
 * reported instead of replacing a working certificate.
 */
export function loadTlsMaterial(files: TlsFiles): TlsMaterial {
  const material = { cert: readPem(files.certPath, 'certificate'), key: readPem(files.keyPath, 'private key') };
  try {
    createSecureContext(material);
  } catch (err) {
    throw new TlsError(`invalid TLS certificate/key (${files.certPath}, ${files.keyPath}): ${(err as Error).message}`);
  }
  return material;
}

/** The part of https.Server used for reloads (kept narrow so tests can fake it). */
export interface SecureContextTarget {
  setSecureContext(options: TlsMaterial): void;
}

/** Re-reads the files and installs them for new handshakes; the old pair stays if anything fails. */
export function reloadTls(server: SecureContextTarget, files: TlsFiles): void {
  server.setSecureContext(loadTlsMaterial(files));
}
