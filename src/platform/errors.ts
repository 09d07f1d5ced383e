/**
 * The one error type every layer throws when a request is refused: a kind (what went wrong, in the
 * caller's terms), a message for people, and optional machine-readable parts. It knows nothing of
 * HTTP or GraphQL: each edge maps a kind once (platform/http-errors.ts for HTTP, beams/errors.ts
 * for the Beams body format, graphql/errors.ts for `extensions.code`).
 */

export const ERROR_KINDS = [
  /** The input breaks a rule (a name, a format, a missing field). */
  'invalid',
  /** The input is over a size limit (a body, an event's data). */
  'too_large',
  /** Well-formed input refused for what it asks (Beams: a payload too large for its gateway, a full device list). */
  'unprocessable',
  /** Missing or wrong credentials. */
  'unauthorized',
  /** The credentials are fine but not for this (a disabled app, a disabled admin API). */
  'forbidden',
  /** No such thing (an app, an instance, a device, a route). */
  'not_found',
  /** The thing exists but not under this method. */
  'not_allowed',
  /** The request clashes with current state (an id already taken, a read-only store). */
  'conflict',
  /** Over a quota that resets later (the daily message quota). */
  'quota',
  /** Over a per-second rate; retrying shortly succeeds. */
  'rate_limited',
  /** A dependency (broker, database, a restarting worker) cannot be reached right now. */
  'unavailable',
] as const;

export type ErrorKind = (typeof ERROR_KINDS)[number];

export interface DomainErrorOptions {
  /** Machine-readable code for clients, e.g. `daily_message_quota_exceeded` (the `code` of HTTP JSON bodies). */
  code?: string;
  /** The Pusher protocol error code (4000–4299) where Pusher defines one for this refusal. */
  pusherCode?: number;
  /** Short title for APIs whose bodies carry one (Beams' `error` field); each edge has a default per kind. */
  title?: string;
  /** Rate-limited refusals: the per-second limit that was hit (edges may report it, e.g. as X-RateLimit-Limit). */
  limitPerSecond?: number;
  cause?: unknown;
}

export class DomainError extends Error {
  readonly code: string | undefined;
  readonly pusherCode: number | undefined;
  readonly title: string | undefined;
  readonly limitPerSecond: number | undefined;

  constructor(
    readonly kind: ErrorKind,
    message: string,
    options: DomainErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DomainError';
    this.code = options.code;
    this.pusherCode = options.pusherCode;
    this.title = options.title;
    this.limitPerSecond = options.limitPerSecond;
  }
}

export function isErrorKind(value: unknown): value is ErrorKind {
  return typeof value === 'string' && (ERROR_KINDS as readonly string[]).includes(value);
}

export const invalid = (message: string, options?: DomainErrorOptions) => new DomainError('invalid', message, options);
export const tooLarge = (message: string, options?: DomainErrorOptions) => new DomainError('too_large', message, options);
export const unauthorized = (message: string, options?: DomainErrorOptions) => new DomainError('unauthorized', message, options);
export const forbidden = (message: string, options?: DomainErrorOptions) => new DomainError('forbidden', message, options);
export const notFound = (message: string, options?: DomainErrorOptions) => new DomainError('not_found', message, options);
export const conflict = (message: string, options?: DomainErrorOptions) => new DomainError('conflict', message, options);
export const quotaExceeded = (message: string, options?: DomainErrorOptions) => new DomainError('quota', message, options);
export const rateLimited = (message: string, options?: DomainErrorOptions) => new DomainError('rate_limited', message, options);
export const unavailable = (message: string, options?: DomainErrorOptions) => new DomainError('unavailable', message, options);
