/**
 * Structured JSON logs (pino); human-readable lines (log-pretty.ts) when asked for or, by default,
 * when stdout is a terminal. Secrets are redacted wherever they appear in logged objects.
 */
import { pino, type Logger } from 'pino';
import { prettyStream } from './log-pretty.js';

export type { Logger };

/** Object keys whose values are secrets, at any of the nesting depths pino's redaction can name. */
const SECRET_KEYS = [
  'secret',
  'secretKey',
  'beamsSecretKey',
  'adminToken',
  'token',
  'password',
  'privateKey',
  'vapidPrivateKey',
  'encryptionMasterKey',
  'encryptionMasterKeyBase64',
  'authorization',
  'cookie',
];
/** Keys holding URLs that may embed credentials (postgres://user:pass@…): only the password is hidden. */
const URL_KEYS = ['databaseUrl', 'redisUrl', 'natsUrl'];

function pathsFor(key: string): string[] {
  return [
    key,
    `*.${key}`,
    `*.*.${key}`,
    `*.*.*.${key}`,
    `apps[*].${key}`,
    `config.apps[*].${key}`,
    `*.extraCredentials[*].${key}`,
    `*.*.extraCredentials[*].${key}`,
    `apps[*].extraCredentials[*].${key}`,
    `config.apps[*].extraCredentials[*].${key}`,
  ];
}

export const REDACT_PATHS = [
  ...SECRET_KEYS.flatMap(pathsFor),
  'headers["x-api-key"]',
  '*.headers["x-api-key"]',
  ...URL_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]),
];

const REDACTED = '[redacted]';

/** Hides the password inside credential-bearing URLs and replaces every other secret outright. */
export function censor(value: unknown, path: string[]): unknown {
  const key = path[path.length - 1];
  if (key !== undefined && URL_KEYS.includes(key) && typeof value === 'string') {
    return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, `$1:${REDACTED}@`);
  }
  return REDACTED;
}

export type LogFormat = 'auto' | 'json' | 'pretty';

/** `auto`: pretty on a terminal, JSON otherwise (a pipe, a file, journald, Docker's log driver). */
export function usePrettyLogs(format: LogFormat, stdoutIsTty = process.stdout.isTTY === true): boolean {
  return format === 'pretty' || (format === 'auto' && stdoutIsTty);
}

export function createLogger(level: string, pretty = process.stdout.isTTY === true): Logger {
  const redact = { paths: REDACT_PATHS, censor };
  return pretty ? pino({ level, redact }, prettyStream()) : pino({ level, redact });
}
