/**
 * The lean HTTP path's responses through the WebSocket write path (frame-writer.ts): queued for
 * the end of the event-loop pass and sent with every socket's frames of that pass, natively with
 * one io_uring call where the native send path is on. Where it is off, the same queue makes one
 * write per socket per pass (pipelined responses together).
 */
import type { Socket } from 'node:net';
import type { ResponseWriter } from '../platform/http1/front.js';
import { FrameWriter, nativeBatchActive } from '../transports/websocket/frame-writer.js';
import { nativeFd } from '../transports/websocket/node-handle.js';

/**
 * No byte cap here: a connection's queue holds the answers to requests already read, and the lean
 * path reads no more requests while the client leaves earlier answers unread (`congested`).
 */
const UNCAPPED = Number.MAX_SAFE_INTEGER;

export class LeanResponseWriter implements ResponseWriter {
  private readonly frames: FrameWriter;

  constructor(socket: Socket) {
    this.frames = new FrameWriter(socket, nativeBatchActive() ? nativeFd(socket) : -1);
  }

  queue(response: Buffer): void {
    this.frames.queue(response, UNCAPPED);
  }

  flushNow(): void {
    this.frames.flushBeforeClose();
  }

  get congested(): boolean {
    return this.frames.congested;
  }

  discard(): void {
    this.frames.discard();
  }
}
