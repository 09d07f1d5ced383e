/**
 * The request and response objects of the lean path: the part of Node's IncomingMessage and
 * ServerResponse that lean routes use (router.ts `Responder`), written as one string per response.
 */
import { STATUS_CODES, type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';

/** What a response needs from its connection. */
export interface ResponseSink {
  /** Writes the whole response; `close` ends the connection after it. */
  respond(text: string, close: boolean): void;
  /** Date header value for this second. */
  date(): string;
  /** `Connection: keep-alive` and `Keep-Alive: timeout=N` lines, without the final CRLF. */
  readonly keepAliveLines: string;
}

export class LeanRequest {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly headers: IncomingHttpHeaders,
    readonly socket: Socket,
  ) {}
}

/** Status codes that never carry a body (RFC 9110 §6.4.1). */
function bodiless(status: number): boolean {
  return status === 204 || status === 304 || (status >= 100 && status < 200);
}

/** A header name or value that could split the response (CR or LF) is a programming error. */
const LINE_BREAK = /[\r\n]/;

export class LeanResponse {
  statusCode = 200;
  headersSent = false;
  private finished = false;
  /** Set headers as [name, value] pairs, names in the case they were given. */
  private readonly headerList: Array<[string, string]> = [];

  constructor(
    private readonly sink: ResponseSink,
    /** The client asked to close, or the server is draining. */
    private close: boolean,
  ) {}

  setHeader(name: string, value: string | number): this {
    const text = String(value);
    if (LINE_BREAK.test(name) || LINE_BREAK.test(text)) throw new TypeError(`Invalid character in header ${name}`);
    const existing = this.indexOfHeader(name);
    if (existing >= 0) this.headerList[existing] = [name, text];
    else this.headerList.push([name, text]);
    return this;
  }

  hasHeader(name: string): boolean {
    return this.indexOfHeader(name) >= 0;
  }

  writeHead(status: number, headers?: Record<string, string | number>): this {
    if (this.headersSent) throw new Error('writeHead after the headers were sent');
    this.statusCode = status;
    if (headers) for (const name in headers) this.setHeader(name, headers[name]!);
    this.headersSent = true;
    return this;
  }

  /** Closes the connection after this response (server draining). */
  closeAfter(): void {
    this.close = true;
  }

  end(body?: string): this {
    if (this.finished) return this;
    this.finished = true;
    this.headersSent = true;
    const status = this.statusCode;
    const noBody = bodiless(status);
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    for (const [name, value] of this.headerList) head += `${name}: ${value}\r\n`;
    const text = body === undefined || noBody ? '' : body;
    if (!noBody && !this.hasHeader('content-length')) head += `Content-Length: ${Buffer.byteLength(text)}\r\n`;
    head += `Date: ${this.sink.date()}\r\n${this.close ? 'Connection: close' : this.sink.keepAliveLines}\r\n\r\n`;
    this.sink.respond(head + text, this.close);
    return this;
  }

  /** Header names are case-insensitive: one lookup for setHeader and hasHeader. */
  private indexOfHeader(name: string): number {
    const lower = name.toLowerCase();
    return this.headerList.findIndex(([n]) => n.toLowerCase() === lower);
  }
}
