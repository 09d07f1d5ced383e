/**
 * A small human-readable log format for terminals, in place of the pino-pretty package (a
 * development dependency only): `12:00:01.234 INFO  message key=value …`, coloured when the
 * output is a colour terminal. Production logs stay JSON; this is for people reading a terminal.
 */
import { Writable } from 'node:stream';

const LEVELS: Record<number, { name: string; colour: string }> = {
  10: { name: 'TRACE', colour: '\x1b[90m' },
  20: { name: 'DEBUG', colour: '\x1b[36m' },
  30: { name: 'INFO ', colour: '\x1b[32m' },
  40: { name: 'WARN ', colour: '\x1b[33m' },
  50: { name: 'ERROR', colour: '\x1b[31m' },
  60: { name: 'FATAL', colour: '\x1b[35m' },
};
const RESET = '\x1b[0m';
const DIM = '\x1b[2m';
/** pino's own fields, shown in the line's prefix or not at all. */
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

/** One JSON log line from pino → one readable line (or the input unchanged if it is not JSON). */
export function prettyLine(json: string, colour: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const level = LEVELS[entry.level as number] ?? { name: String(entry.level).padEnd(5), colour: '' };
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 23) : '';
  const fields: string[] = [];
  let stack: string | undefined;
  for (const [key, value] of Object.entries(entry)) {
    if (HIDDEN.has(key)) continue;
    if (key === 'err' && value && typeof value === 'object' && typeof (value as { stack?: unknown }).stack === 'string') {
      stack = (value as { stack: string }).stack;
      continue;
    }
    fields.push(`${key}=${formatValue(value)}`);
  }
  const msg = typeof entry.msg === 'string' ? entry.msg : '';
  const prefix = colour ? `${DIM}${time}${RESET} ${level.colour}${level.name}${RESET}` : `${time} ${level.name}`;
  const extra = fields.length ? ` ${colour ? DIM : ''}${fields.join(' ')}${colour ? RESET : ''}` : '';
  return `${prefix} ${msg}${extra}\n${stack ? `${stack.replace(/^/gm, '    ')}\n` : ''}`;
}

/** A pino destination writing pretty lines to `out` (stdout by default). */
export function prettyStream(out: NodeJS.WritableStream & { hasColors?: () => boolean } = process.stdout): Writable {
  const colour = typeof out.hasColors === 'function' ? out.hasColors() : false;
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      out.write(prettyLine(chunk.toString(), colour));
      done();
    },
  });
}
