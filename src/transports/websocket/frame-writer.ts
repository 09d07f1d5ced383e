/**
 * The WebSocket write path: how pre-built frames (frame.ts) reach one connection's socket.
 *
 * Herald writes frames to the TCP socket itself rather than through ws' Sender, which would frame
 * (and allocate) per send: a broadcast's frame is built once and the same Buffer goes to every
 * recipient. ws still owns the handshake, parsing, pings and the close handshake; its own frames
 * (pong, close) go to the same socket, after ours (FrameWriter.flushBeforeClose).
 *
 * - Frames are queued until the end of the current event-loop pass (setImmediate): everything one
 *   socket is sent while a batch of I/O is handled leaves in one syscall (one write() for a single
 *   frame, the common case without cork bookkeeping; one corked writev() for several), and with the
 *   native send path (native-send.ts) the pass's sockets in calls into C of 1024 sockets each.
 * - A socket whose earlier bytes are still pending in Node (the client reads slowly) gets at most
 *   one more chunk handed to Node at a time; later frames wait, whole, in its backlog. So when the
 *   client falls too far behind, the backlog is dropped and the 4100 close frame follows the little
 *   Node still holds, instead of megabytes the client will never read (docs/hardening.md).
 */
import { unwritten, type NativeBatch, type SendOwner } from './native-send.js';

/**
 * What the write path needs of a socket. node:net's Socket is one; tests use a fake that records
 * writes, as ws tests its Sender.
 */
export interface FrameSocket {
  readonly destroyed: boolean;
  /** Bytes handed to Node that the kernel has not taken yet. */
  readonly writableLength: number;
  write(chunk: Buffer, done?: (err?: Error | null) => void): boolean;
  cork(): void;
  uncork(): void;
}

type WriteDone = (err?: Error | null) => void;

/** Bytes one slow socket may have handed to Node at a time; the rest of its backlog waits. */
export const SLOW_CHUNK_BYTES = 64 * 1024;

/** Writers with frames queued during this event-loop pass, flushed together in its check phase. */
const queuedWriters: FrameWriter[] = [];
/** The native send path's batch, when this process uses one (see native-send.ts). */
let nativeBatch: NativeBatch | undefined;
let sendPathFailure: ((err: Error) => void) | undefined;

/**
 * Makes this process's pass flushes use the native batch. The first gateway installs it; later
 * ones (tests start several Heralds in one process) share it. `onFailure` runs once, when the
 * native call fails as a whole (not one socket): the process uses JavaScript from then on.
 */
export function installNativeBatch(batch: NativeBatch, onFailure: (err: Error) => void): void {
  if (nativeBatch !== undefined || sendPathFailure !== undefined) return;
  nativeBatch = batch;
  sendPathFailure = onFailure;
}

/** True while pass flushes go through the native batch (so new sockets should get a descriptor). */
export function nativeBatchActive(): boolean {
  return nativeBatch !== undefined;
}

/**
 * Sockets per native call. The pass's sends leave in calls of this many sockets, each right after
 * its sockets are flushed, instead of one call after all of them: the first recipients of a big
 * broadcast do not wait for the JavaScript work of the last ones (~0.3 µs a socket, 5 ms for
 * 18,000). Nothing is lost by it: every frame of the pass is queued before the flush starts, so
 * each socket still gets all of them in one send. 1024 is the io_uring ring's size: one
 * io_uring_enter() per call, as before.
 */
export const SEND_CHUNK_SOCKETS = 1024;

function flushQueued(): void {
  flushWriters(queuedWriters, nativeBatch);
  queuedWriters.length = 0;
}

/**
 * Flushes `writers` (this pass's, or a test's) into `batch` and sends it every `chunk` sockets and
 * at the end. When the native call fails as a whole, the path is given up (`sendPathFailure`) and
 * the remaining writers are written by Node.
 */
export function flushWriters(writers: readonly FrameWriter[], batch: NativeBatch | undefined, chunk = SEND_CHUNK_SOCKETS): void {
  // Index loop: a flush never queues more frames, but keep it safe if one ever does.
  for (let i = 0; i < writers.length; i++) {
    writers[i]!.flush(batch);
    if (batch !== undefined && batch.pending >= chunk) batch = sendBatch(batch);
  }
  if (batch !== undefined) sendBatch(batch);
}

/** Sends `batch`; on a failure of the ring itself (not one socket) gives the path up and returns undefined. */
function sendBatch(batch: NativeBatch): NativeBatch | undefined {
  try {
    batch.send();
    return batch;
  } catch (err) {
    // What was not sent went back to Node; this process uses JS from now on.
    if (nativeBatch === batch) {
      nativeBatch = undefined;
      sendPathFailure?.(err as Error);
    }
    return undefined;
  }
}

/**
 * A socket whose bytes are pending in Node: one write with a completion callback is outstanding,
 * later frames wait here, whole, until it completes (then the next chunk goes).
 */
class Backlog {
  frames: Buffer[] = [];
  bytes = 0;
  constructor(private readonly writer: FrameWriter) {}
  /** Callback of the outstanding write: Node has handed it (and everything before) to the kernel. */
  readonly written = (err?: Error | null): void => {
    if (err) return; // the socket is going down; its owner reports the error
    this.writer.backlogWritten(this);
  };
}

/** One connection's frame queue. Nothing here allocates per frame except a pass's frame array. */
export class FrameWriter implements SendOwner {
  /** Frames waiting for this pass's flush: none, one, or several (then one writev). */
  private queued: Buffer | Buffer[] | undefined = undefined;
  private queuedBytes = 0;
  /** Set while Node holds bytes of ours it has not written yet (a slow reader). */
  private backlog: Backlog | undefined = undefined;

  /** `nativeFd`: the socket's descriptor for the native send path; -1 for the JS path (TLS, off). */
  constructor(
    readonly socket: FrameSocket,
    private readonly nativeFd: number = -1,
  ) {}

  /**
   * Queues `frame` for this pass's flush. When the bytes Node holds, the backlog and the queue
   * would exceed `maxBufferedBytes`, queues nothing, drops what Node has not been handed (the
   * client will never read it) and returns false: the owner then closes with 4100.
   */
  queue(frame: Buffer, maxBufferedBytes: number): boolean {
    const queuedBytes = this.queuedBytes + frame.length;
    const backlog = this.backlog;
    const pending = this.socket.writableLength + (backlog === undefined ? 0 : backlog.bytes);
    if (pending + queuedBytes > maxBufferedBytes) {
      this.drop();
      return false;
    }
    this.queuedBytes = queuedBytes;
    const queued = this.queued;
    if (queued === undefined) {
      this.queued = frame;
      if (queuedWriters.length === 0) setImmediate(flushQueued);
      queuedWriters.push(this);
    } else if (Array.isArray(queued)) queued.push(frame);
    else this.queued = [queued, frame];
    return true;
  }

  /**
   * Sends what this pass queued: natively in `batch` when Node holds nothing of this socket's,
   * else one write() for one frame, one writev() for several; behind a slow reader's pending
   * bytes, into its backlog.
   */
  flush(batch: NativeBatch | undefined): void {
    const queued = this.queued;
    if (queued === undefined) return;
    const bytes = this.queuedBytes;
    this.queued = undefined;
    this.queuedBytes = 0;
    const socket = this.socket;
    if (socket.destroyed) return;
    const backlog = this.backlog;
    if (backlog !== undefined) {
      if (Array.isArray(queued)) for (const frame of queued) backlog.frames.push(frame);
      else backlog.frames.push(queued);
      backlog.bytes += bytes;
    } else if (socket.writableLength !== 0) {
      // Node still holds earlier bytes (ws' own frames, or ours): hand it this one, then wait.
      this.writeWatched(queued);
    } else if (batch !== undefined && this.nativeFd >= 0) {
      batch.add(this, this.nativeFd, queued, bytes);
    } else {
      writeFrames(socket, queued, undefined);
    }
  }

  /**
   * Before a close frame (Herald's own, or ws answering a client's close or a protocol error):
   * the frames this pass queued and the backlog were sent before the close, so they go to Node
   * now, ahead of it, instead of being lost or following it.
   */
  flushBeforeClose(): void {
    this.flush(undefined);
    const backlog = this.backlog;
    if (backlog !== undefined && backlog.frames.length > 0 && !this.socket.destroyed) {
      writeFrames(this.socket, backlog.frames, undefined);
      backlog.frames = [];
      backlog.bytes = 0;
    }
  }

  /** Forgets what Node has not been handed: this pass's frames and the backlog. */
  drop(): void {
    this.queued = undefined;
    this.queuedBytes = 0;
    const backlog = this.backlog;
    if (backlog !== undefined) {
      backlog.frames = [];
      backlog.bytes = 0;
    }
  }

  /** True while Node or the backlog still holds bytes of this socket's (a client not reading). */
  get congested(): boolean {
    return this.backlog !== undefined || this.socket.writableLength !== 0;
  }

  /** The socket is gone: nothing more will be written. */
  discard(): void {
    this.drop();
    this.backlog = undefined;
  }

  /** Native send path: the kernel took `written` bytes of `frames`; Node gets the rest, in order. */
  handBack(frames: Buffer | Buffer[], written: number): void {
    // Not destroyed: nothing runs between the native call and this (checked at flush).
    if (!this.socket.destroyed) this.writeWatched(unwritten(frames, written));
  }

  /** Hands `frames` to Node with a completion callback; later frames wait in the backlog. */
  private writeWatched(frames: Buffer | Buffer[]): void {
    const backlog = (this.backlog ??= new Backlog(this));
    writeFrames(this.socket, frames, backlog.written);
  }

  /** The outstanding write completed: hand Node the next chunk of the backlog, or leave slow mode. */
  backlogWritten(backlog: Backlog): void {
    if (this.backlog !== backlog) return;
    const socket = this.socket;
    if (backlog.frames.length === 0 || socket.destroyed) {
      this.backlog = undefined;
      return;
    }
    const all = backlog.frames;
    let n = 0;
    let bytes = 0;
    while (n < all.length && (n === 0 || bytes + all[n]!.length <= SLOW_CHUNK_BYTES)) bytes += all[n++]!.length;
    const chunk = n === all.length ? all : all.slice(0, n);
    backlog.frames = n === all.length ? [] : all.slice(n);
    backlog.bytes -= bytes;
    writeFrames(socket, chunk.length === 1 ? chunk[0]! : chunk, backlog.written);
  }
}

/** One write() for one frame, one writev() for several (corked); `done` (if any) follows the last. */
function writeFrames(socket: FrameSocket, frames: Buffer | Buffer[], done: WriteDone | undefined): void {
  if (!Array.isArray(frames)) {
    socket.write(frames, done);
    return;
  }
  socket.cork();
  const last = frames.length - 1;
  for (let i = 0; i < last; i++) socket.write(frames[i]!);
  socket.write(frames[last]!, done);
  socket.uncork();
}
