/** Sends one HTTP request with fetch: timeout, runtime connection settings and typed errors. */
import { HeraldHttpError, HeraldNetworkError, HeraldResponseError, HeraldTimeoutError } from './errors.js';
import {
  checkConnectionSettings,
  detectRuntime,
  resolveConnection,
  type FetchLike,
  type ResolvedConnection,
} from './runtime.js';

export const SDK_VERSION = '0.1.0';
export const LIBRARY_HEADER = `herald-sdk-js ${SDK_VERSION}`;

export interface TransportOptions {
  proxy: string | undefined;
  keepAlive: boolean | undefined;
  timeoutMs: number | undefined;
  fetch: FetchLike | undefined;
  warn: (message: string) => void;
}

export interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

export interface HttpResponse {
  status: number;
  body: string;
}

export type HttpErrorFactory = (details: { method: string; url: string; status: number; body: string }) => Error;

export class Transport {
  readonly #options: TransportOptions;
  readonly #runtime = detectRuntime();
  #connection: Promise<ResolvedConnection> | undefined;

  constructor(options: TransportOptions) {
    this.#options = options;
    checkConnectionSettings({ ...options, runtime: this.#runtime }, options.fetch !== undefined);
  }

  /** Sends the request; resolves with any HTTP status, rejects only when no answer arrived. */
  async send(request: HttpRequest): Promise<HttpResponse> {
    this.#connection ??= resolveConnection({ ...this.#options, runtime: this.#runtime }, this.#options.fetch);
    let connection: ResolvedConnection;
    try {
      connection = await this.#connection;
    } catch (error) {
      this.#connection = undefined; // let a later call retry, e.g. after installing undici
      throw error;
    }
    const { timeoutMs } = this.#options;
    const controller = timeoutMs === undefined ? undefined : new AbortController();
    let timedOut = false;
    const timer = controller
      ? setTimeout(() => {
          timedOut = true;
          controller.abort();
        }, timeoutMs)
      : undefined;
    try {
      const response = await connection.fetch(request.url, {
        ...connection.init,
        method: request.method,
        headers: request.headers,
        body: request.body,
        signal: controller?.signal,
      });
      // The timeout also covers reading the body.
      const body = await response.text();
      return { status: response.status, body };
    } catch (error) {
      if (timedOut) throw new HeraldTimeoutError(request.method, request.url, timeoutMs!);
      throw new HeraldNetworkError(request.method, request.url, error);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  /** Sends and parses a JSON answer: 2xx → parsed body (empty → `{}`), otherwise `makeError`. */
  async sendJson<T>(request: HttpRequest, makeError: HttpErrorFactory = (d) => new HeraldHttpError(d)): Promise<T> {
    const response = await this.send(request);
    if (response.status < 200 || response.status >= 300) {
      throw makeError({ method: request.method, url: request.url, status: response.status, body: response.body });
    }
    if (response.body.trim() === '') return {} as T;
    try {
      return JSON.parse(response.body) as T;
    } catch {
      throw new HeraldResponseError(request.url, response.status, response.body);
    }
  }
}
