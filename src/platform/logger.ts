/**
 * Structured JSON logs (pino); human-readable lines (log-pretty.ts) when asked for or, by default,
 * when stdout is a terminal. Secrets are redacted wherever they appear in logged objects.
 */
import { pino, type Logger } from 'pino';
import { prettyStream } from './log-pretty.js';
import SonicBoom from 'sonic-boom';

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
  return pretty ? pino({ level, redact }, prettyStream()) : pino({ level, redact }, stdoutDestination());
}

/** How long stdout may refuse log lines (a full or abandoned pipe) before logging gives up. */
const STALLED_OUTPUT_MS = 3000;
/** Log bytes held while stdout is slow; lines beyond are dropped. */
const MAX_PENDING_LOG_BYTES = 8 * 1024 * 1024;

/**
 * Logging never blocks the process: lines go to stdout asynchronously, at most 8 MiB wait while it
 * is slow, and once it has refused writes for STALLED_OUTPUT_MS (a reader that stopped reading, a
 * pipe whose reader is gone) logging stops for good instead of retrying. No flush is registered for
 * process exit (pino's own would loop forever on a broken pipe, holding SIGTERM's exit hostage):
 * `flushLogs` gives the last lines a bounded chance before a deliberate exit.
 */
function stdoutDestination(): SonicBoom {
  let stalledSince: number | undefined;
  const destination = new SonicBoom({
    fd: 1,
    sync: false,
    maxLength: MAX_PENDING_LOG_BYTES,
    retryEAGAIN: () => {
      const now = Date.now();
      stalledSince ??= now;
      return now - stalledSince < STALLED_OUTPUT_MS;
    },
  });
  destination.on('write', () => (stalledSince = undefined));
  destination.on('error', () => {
    const abandoned = destination as unknown as Record<'write' | 'flush' | 'flushSync' | 'end', (...args: unknown[]) => unknown>;
    abandoned.write = () => true;
    abandoned.flush = (cb?: unknown) => (typeof cb === 'function' ? cb() : undefined);
    abandoned.flushSync = () => undefined;
    abandoned.end = () => undefined;
  });
  return destination;
}

/**
 * Waits (at most `ms`) until the logger's pending lines are written, before a deliberate exit.
 * pino's `flush(cb)` calls back at once for an async SonicBoom (minLength 0) without waiting, so
 * the lines queued behind the write in flight would die with `process.exit`; and a synchronous
 * flush could spin on a stalled pipe. Polling the destination's queue never blocks the loop.
 */
export function flushLogs(logger: Logger, ms = 1000): Promise<void> {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
  if (!(stream instanceof SonicBoom)) return Promise.resolve();
  const pending = stream as unknown as { _len: number; _writing: boolean };
  const deadline = Date.now() + ms;
  return new Promise((resolve) => {
    const check = () => {
      if ((pending._len === 0 && !pending._writing) || Date.now() >= deadline) return resolve();
      setTimeout(check, 5).unref();
    };
    check();
  });
}
