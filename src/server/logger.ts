/** Structured JSON logs (pino); human-readable when stdout is a terminal. Secrets are redacted. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, pretty = process.stdout.isTTY === true): Logger {
  const redact = {
    paths: ['secret', '*.secret', '*.*.secret', 'adminToken', '*.adminToken', 'headers.authorization', 'req.headers.authorization', 'secretKey', '*.secretKey'],
    censor: '[redacted]',
  };
  if (pretty) {
    try {
      return pino({ level, redact, transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname' } } });
    } catch {
      /* pino-pretty not installed (production install): plain JSON */
    }
  }
  return pino({ level, redact });
}
