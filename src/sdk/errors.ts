/**
 * Typed errors thrown by the SDK. Every error extends {@link HeraldSdkError} and has a stable
 * `code`, so callers can branch with `instanceof` or on `code`. Messages never contain the app
 * secret, the Beams secret key or the encryption master key.
 */

export type HeraldSdkErrorCode =
  | 'invalid_configuration'
  | 'invalid_parameter'
  | 'http_error'
  | 'network_error'
  | 'timeout'
  | 'invalid_response';

export class HeraldSdkError extends Error {
  readonly code: HeraldSdkErrorCode;
  constructor(code: HeraldSdkErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Bad client configuration; thrown by the constructor (or, for runtime-only checks, the first request). */
export class HeraldConfigurationError extends HeraldSdkError {
  /** Name of the offending configuration parameter, e.g. `encryptionMasterKeyBase64`. */
  readonly parameter: string;
  constructor(parameter: string, message: string, options?: { cause?: unknown }) {
    super('invalid_configuration', `Invalid configuration "${parameter}": ${message}`, options);
    this.parameter = parameter;
  }
}

/** A method argument broke a documented rule; nothing was sent. */
export class HeraldValidationError extends HeraldSdkError {
  /** Dotted path of the offending parameter, e.g. `channels[3]` or `events[0].channel`. */
  readonly parameter: string;
  constructor(parameter: string, message: string) {
    super('invalid_parameter', `Invalid parameter "${parameter}": ${message}`);
    this.parameter = parameter;
  }
}

interface HttpErrorDetails {
  method: string;
  /** Request URL; the query carries only the public key and a one-off signature. */
  url: string;
  status: number;
  /** Raw response body text. */
  body: string;
}

/** The server answered with a non-2xx status. */
export class HeraldHttpError extends HeraldSdkError {
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly body: string;
  constructor(details: HttpErrorDetails, message?: string) {
    super('http_error', message ?? `${details.method} ${pathOf(details.url)} failed with status ${details.status}: ${preview(details.body)}`);
    this.method = details.method;
    this.url = details.url;
    this.status = details.status;
    this.body = details.body;
  }

  /** The body parsed as JSON, or undefined when it is not JSON. */
  get json(): unknown {
    try {
      return JSON.parse(this.body);
    } catch {
      return undefined;
    }
  }
}

/** A Beams API error; Beams answers `{"error": "...", "description": "..."}` (spec F). */
export class BeamsHttpError extends HeraldHttpError {
  readonly error: string | undefined;
  readonly description: string | undefined;
  constructor(details: HttpErrorDetails) {
    const parsed = parseBeamsError(details.body);
    super(
      details,
      parsed
        ? `${details.status} ${parsed.error} - ${parsed.description}`
        : `${details.method} ${pathOf(details.url)} failed with status ${details.status}: ${preview(details.body)}`,
    );
    this.error = parsed?.error;
    this.description = parsed?.description;
  }
}

/** The request never got an HTTP answer (DNS, connection refused, TLS, aborted…). */
export class HeraldNetworkError extends HeraldSdkError {
  readonly method: string;
  readonly url: string;
  constructor(method: string, url: string, cause: unknown, code: 'network_error' | 'timeout' = 'network_error', message?: string) {
    super(code, message ?? `${method} ${pathOf(url)} failed: ${describe(cause)}`, { cause });
    this.method = method;
    this.url = url;
  }
}

/** No answer within the configured `timeout` (milliseconds). */
export class HeraldTimeoutError extends HeraldNetworkError {
  readonly timeoutMs: number;
  constructor(method: string, url: string, timeoutMs: number) {
    super(method, url, undefined, 'timeout', `${method} ${pathOf(url)} timed out after ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** A 2xx answer whose body is not the JSON the API promises. */
export class HeraldResponseError extends HeraldSdkError {
  readonly status: number;
  readonly body: string;
  readonly url: string;
  constructor(url: string, status: number, body: string) {
    super('invalid_response', `${pathOf(url)} answered ${status} with a body that is not JSON: ${preview(body)}`);
    this.status = status;
    this.body = body;
    this.url = url;
  }
}

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

function preview(body: string): string {
  const oneLine = body.replace(/\s+/g, ' ').trim();
  if (oneLine === '') return '(empty body)';
  return oneLine.length > 300 ? `${oneLine.slice(0, 300)}…` : oneLine;
}

function describe(cause: unknown): string {
  if (cause instanceof Error) {
    const inner = (cause as { cause?: unknown }).cause;
    return inner instanceof Error ? `${cause.message} (${inner.message})` : cause.message;
  }
  return String(cause);
}

function parseBeamsError(body: string): { error: string; description: string } | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === 'object') {
      const { error, description } = parsed as Record<string, unknown>;
      if (typeof error === 'string' && typeof description === 'string') return { error, description };
    }
  } catch {
    // Not JSON: fall back to the generic message.
  }
  return undefined;
}
