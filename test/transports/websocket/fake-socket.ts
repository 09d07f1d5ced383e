/**
 * A socket for the write path's unit tests (FrameSocket), as ws tests its Sender: it records every
 * syscall Node would make — one entry per write(), one per corked batch — and can play a client
 * that stops reading (`hold`): then written bytes stay in `writableLength` and their completion
 * callbacks wait until `release()`, as when the kernel's buffer is full.
 */
import type { FrameSocket } from '../../../src/transports/websocket/frame-writer.js';

type Done = (err?: Error | null) => void;

export class FakeSocket implements FrameSocket {
  destroyed = false;
  writableLength = 0;
  /** One entry per syscall: the chunk of one write(), or every chunk of one corked batch. */
  readonly syscalls: Buffer[][] = [];
  /** Set: writes are held in `writableLength` until release() (a client that stopped reading). */
  hold = false;
  private corked: Buffer[] | undefined = undefined;
  private readonly waiting: Done[] = [];

  write(chunk: Buffer, done?: Done): boolean {
    if (this.corked !== undefined) this.corked.push(chunk);
    else this.syscalls.push([chunk]);
    if (this.hold) {
      this.writableLength += chunk.length;
      if (done) this.waiting.push(done);
    } else if (done) process.nextTick(done);
    return !this.hold;
  }

  cork(): void {
    this.corked = [];
  }

  uncork(): void {
    const batch = this.corked!;
    this.corked = undefined;
    this.syscalls.push(batch);
  }

  /** The client read everything: Node's buffer empties and the held callbacks run, in order. */
  release(): void {
    this.writableLength = 0;
    for (const done of this.waiting.splice(0)) done();
  }

  /** Every chunk written so far, in order. */
  chunks(): Buffer[] {
    return this.syscalls.flat();
  }
}

/** Resolves after the current event-loop pass's flush (the write path flushes in setImmediate). */
export function nextPass(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A distinct frame-sized Buffer: `length` bytes of `fill`. */
export function frame(length: number, fill: number): Buffer {
  return Buffer.alloc(length, fill);
}
