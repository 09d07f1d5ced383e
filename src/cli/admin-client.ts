/** The CLI's client for a running Herald's /admin API (used by `herald apps` and `herald beams`). */
import { CliError } from './command.js';

// Generous: the first admin call on a fresh embedded store creates it (seconds on a slow machine).
const HTTP_TIMEOUT_MS = 60_000;

export class AdminApiClient {
  readonly base: string;

  constructor(
    url: string,
    private readonly token: string,
  ) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new CliError(`--url: not a URL: ${url}`, 2);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new CliError('--url must be an http:// or https:// URL', 2);
    this.base = parsed.origin + parsed.pathname.replace(/\/+$/, '');
  }

  get description(): string {
    return `admin API at ${this.base}`;
  }

  /** Sends one admin request; non-2xx and network failures become CliErrors with a readable message. */
  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: { Authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new CliError(`Cannot reach Herald at ${this.base} (${cause}). Is it running?`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const message = (json as { error?: string } | undefined)?.error ?? `HTTP ${res.status}`;
      throw new CliError(`${message} (HTTP ${res.status} from ${this.base})`);
    }
    return json as T;
  }
}
