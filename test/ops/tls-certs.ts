/** Self-signed certificates for TLS tests, made with the openssl CLI (node:crypto cannot issue certificates). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';

export function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface CertFiles {
  dir: string;
  certPath: string;
  keyPath: string;
  /** SHA-256 fingerprint as reported by tls getPeerCertificate().fingerprint256. */
  fingerprint: string;
}

/** A fresh self-signed certificate for 127.0.0.1 / localhost in `dir` (a new temp dir by default). */
export function makeSelfSigned(commonName: string, dir = mkdtempSync(join(tmpdir(), 'herald-tls-')), name = 'server'): CertFiles {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${commonName}`,
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyPath, '-out', certPath],
    { stdio: 'ignore' },
  );
  return { dir, certPath, keyPath, fingerprint: new X509Certificate(readFileSync(certPath)).fingerprint256 };
}
