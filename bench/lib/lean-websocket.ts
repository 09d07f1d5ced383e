/**
 * A minimal WebSocket client (RFC 6455) for the load generators: what a Pusher subscriber needs and
 * nothing more. The generators share the two cores with the server under test, and in the big
 * fan-outs (g: 18,000 subscribers of one channel) receiving costs them more CPU per delivery than
 * sending costs the server (docs/benchmarks.md, session 12). `ws` spends most of its share in
 * its stream machinery (a Writable per socket, a Buffer and an event per message); this client
 * reads each socket into one shared buffer (`onread`) and hands complete text frames to a callback.
 *
 * Supported: the opening handshake (the accept key is checked), text frames (fragmented or not),
 * ping (answered), close (answered, then the socket ends), masked client text frames. Not
 * supported, because Pusher servers do not send them to these clients: extensions
 * (permessage-deflate is never offered) and binary messages (reported as a protocol error).
 */
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Largest handshake answer or message we accept: bench frames are ~100 bytes, handshakes ~200. */
const MAX_MESSAGE = 1 << 20;
/** One read buffer for every socket of the process: `onread` hands it over one socket at a time. */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSING = 2;
export const CLOSED = 3;

export interface LeanOptions {
  handshakeTimeout: number;
  localAddress?: string;
}

/**
 * Events: 'open', 'error' (Error), 'close' (code). Messages go to `onText`, not through an event,
 * to keep the per-delivery cost to one call.
 */
export class LeanWebSocket extends EventEmitter {
  readyState = CONNECTING;
  onText: (text: string) => void = () => undefined;
  private readonly socket: Socket;
  private readonly key = randomBytes(16).toString('base64');
  /** Bytes of an incomplete handshake answer or frame, kept across reads (rare: frames are small). */
  private pending: Buffer | undefined;
  private fragments: Buffer[] | undefined;
  private closeCode = 1006;
  private handshakeTimer: NodeJS.Timeout | undefined;

  constructor(url: string, options: LeanOptions) {
    super();
    const target = new URL(url);
    const port = Number(target.port || 80);
    this.socket = connect({
      host: target.hostname,
      port,
      localAddress: options.localAddress,
      noDelay: true,
      onread: { buffer: READ_BUFFER, callback: (length: number, buffer: Buffer) => this.onBytes(buffer, length) },
    });
    this.handshakeTimer = setTimeout(() => this.fail(new Error('opening handshake has timed out')), options.handshakeTimeout);
    this.socket.on('connect', () => {
      this.socket.write(
        `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.hostname}:${port}\r\n` +
          `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${this.key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    this.socket.on('error', (error) => this.fail(error));
    this.socket.on('close', () => this.closed());
  }

  /** Sends one text message (masked, as clients must). */
  send(text: string): void {
    if (this.readyState !== OPEN) return;
    this.socket.write(maskedFrame(0x1, Buffer.from(text)));
  }

  close(code = 1000): void {
    if (this.readyState !== OPEN) {
      if (this.readyState === CONNECTING) this.terminate();
      return;
    }
    this.readyState = CLOSING;
    const payload = Buffer.alloc(2);
    payload.writeUInt16BE(code);
    this.socket.write(maskedFrame(0x8, payload));
  }

  terminate(): void {
    this.socket.destroy();
  }

  private onBytes(buffer: Buffer, length: number): boolean {
    // `buffer` is shared: whatever must outlive this call is copied into `pending`.
    let data = buffer.subarray(0, length);
    if (this.pending) {
      data = Buffer.concat([this.pending, data]);
      this.pending = undefined;
    }
    const used = this.readyState === CONNECTING ? this.readHandshake(data) : this.readFrames(data, 0);
    if (used < data.length && this.readyState !== CLOSED) {
      if (data.length - used > MAX_MESSAGE + 14) this.fail(new Error('message too large'));
      else this.pending = Buffer.from(data.subarray(used));
    }
    return true;
  }

  /** Returns the bytes consumed. */
  private readHandshake(data: Buffer): number {
    const end = data.indexOf('\r\n\r\n');
    if (end < 0) {
      if (data.length > 16_384) this.fail(new Error('handshake answer too large'));
      return 0;
    }
    const head = data.toString('latin1', 0, end);
    const accept = createHash('sha1').update(this.key + GUID).digest('base64');
    let problem: string | undefined;
    if (!head.startsWith('HTTP/1.1 101')) problem = `unexpected server response: ${head.split('\r\n', 1)[0]}`;
    else if (!head.toLowerCase().includes(`\r\nsec-websocket-accept: ${accept.toLowerCase()}`)) problem = 'invalid Sec-WebSocket-Accept';
    if (problem) {
      this.fail(new Error(problem));
      return data.length;
    }
    clearTimeout(this.handshakeTimer);
    this.readyState = OPEN;
    this.emit('open');
    return this.readFrames(data, end + 4);
  }

  /** Parses complete frames from `offset`; returns where the first incomplete one starts. */
  private readFrames(data: Buffer, offset: number): number {
    while (data.length - offset >= 2 && this.readyState !== CLOSED) {
      const first = data[offset]!;
      const second = data[offset + 1]!;
      if (second & 0x80) {
        this.fail(new Error('masked server frame'));
        return data.length;
      }
      let length = second & 0x7f;
      let start = offset + 2;
      if (length === 126) {
        if (data.length - offset < 4) break;
        length = data.readUInt16BE(offset + 2);
        start += 2;
      } else if (length === 127) {
        if (data.length - offset < 10) break;
        length = Number(data.readBigUInt64BE(offset + 2));
        start += 8;
      }
      if (length > MAX_MESSAGE) {
        this.fail(new Error('message too large'));
        return data.length;
      }
      if (data.length - start < length) break;
      this.onFrame(first & 0x80, first & 0x0f, data, start, start + length);
      offset = start + length;
    }
    return offset;
  }

  private onFrame(fin: number, opcode: number, data: Buffer, start: number, end: number): void {
    switch (opcode) {
      case 0x1:
        if (fin) this.onText(data.toString('utf8', start, end));
        else this.fragments = [Buffer.from(data.subarray(start, end))];
        return;
      case 0x0:
        if (!this.fragments) return this.fail(new Error('continuation without a message'));
        this.fragments.push(Buffer.from(data.subarray(start, end)));
        if (fin) {
          const text = Buffer.concat(this.fragments).toString('utf8');
          this.fragments = undefined;
          this.onText(text);
        }
        return;
      case 0x8:
        this.closeCode = end - start >= 2 ? data.readUInt16BE(start) : 1005;
        if (this.readyState === OPEN) this.socket.write(maskedFrame(0x8, Buffer.from(data.subarray(start, Math.min(end, start + 2)))));
        this.readyState = CLOSING;
        this.socket.end();
        return;
      case 0x9:
        this.socket.write(maskedFrame(0xa, Buffer.from(data.subarray(start, end))));
        return;
      case 0xa:
        return;
      default:
        this.fail(new Error(`unsupported opcode ${opcode}`));
    }
  }

  private fail(error: Error): void {
    if (this.readyState === CLOSED) return;
    this.emit('error', error);
    this.socket.destroy();
  }

  private closed(): void {
    if (this.readyState === CLOSED) return;
    clearTimeout(this.handshakeTimer);
    this.readyState = CLOSED;
    this.emit('close', this.closeCode);
  }
}

function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + 4 + length);
  frame[0] = 0x80 | opcode;
  if (length < 126) frame[1] = 0x80 | length;
  else if (length < 65_536) (frame[1] = 0x80 | 126), frame.writeUInt16BE(length, 2);
  else (frame[1] = 0x80 | 127), frame.writeBigUInt64BE(BigInt(length), 2);
  const mask = randomBytes(4);
  mask.copy(frame, headerLength);
  for (let i = 0; i < length; i++) frame[headerLength + 4 + i] = payload[i]! ^ mask[i & 3]!;
  return frame;
}
