/**
 * The optional native send path of the WebSocket fan-out (native/herald_send.cc; docs/operations.md,
 * "Native send path"). At the end of an event-loop pass the gateway collects every socket that has
 * frames queued and nothing pending in Node, and sends them with one call into the addon per 1024
 * sockets (frame-writer.ts, SEND_CHUNK_SOCKETS): with io_uring that is one syscall per 1024 sockets
 * instead of one write() per socket. Whatever the kernel does not take (a partial write, EAGAIN,
 * EPIPE, ECONNRESET) is handed back to its owner, which gives it to Node: from then on Node owns
 * that socket's byte stream as before.
 *
 * Chosen once per process from HERALD_NATIVE_SEND: `auto` (default: io_uring, else one send() per
 * socket from C, else JavaScript), `io_uring`, `send`, or `off` (JavaScript only).
 */
import { createRequire } from 'node:module';

export type SendPathName = 'io_uring' | 'send' | 'js';

export interface SendPath {
  name: SendPathName;
  /** Why this path: what was asked for, and why a faster one is not used. */
  reason: string;
}

interface Addon {
  open(mode: 'io_uring' | 'send'): string;
  send(slots: Int32Array, sockets: number, buffers: Buffer[], results: Int32Array): void;
  maxFramesPerSocket: number;
}

/** What a socket does with the bytes the kernel did not take: give them to Node, in order. */
export interface SendOwner {
  handBack(frames: Buffer | Buffer[], written: number): void;
}

const SETTINGS = ['auto', 'io_uring', 'send', 'off'] as const;
type Setting = (typeof SETTINGS)[number];
/** Relative to this file both in src/transports/websocket (tsx) and dist/transports/websocket (built). */
const ADDON_FILE = '../../../native/build/Release/herald_send.node';

function loadAddon(): Addon | string {
  if (process.platform !== 'linux') return `not available on ${process.platform}`;
  try {
    return createRequire(import.meta.url)(ADDON_FILE) as Addon;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'MODULE_NOT_FOUND' ? 'addon not built (npm run build:native)' : `addon failed to load: ${(err as Error).message}`;
  }
}

/** Opens the best path `setting` allows. Pure of globals so tests can try each setting. */
export function openSendPath(setting: string | undefined): { path: SendPath; batch: NativeBatch | undefined } {
  const asked = (setting ?? '').trim().toLowerCase() || 'auto';
  if (!(SETTINGS as readonly string[]).includes(asked)) {
    throw new Error(`HERALD_NATIVE_SEND must be one of ${SETTINGS.join(', ')} (got "${setting}")`);
  }
  const want = asked as Setting;
  if (want === 'off') return { path: { name: 'js', reason: 'HERALD_NATIVE_SEND=off' }, batch: undefined };
  const addon = loadAddon();
  if (typeof addon === 'string') return { path: { name: 'js', reason: addon }, batch: undefined };
  let refused = '';
  if (want !== 'send') {
    try {
      addon.open('io_uring');
      return { path: { name: 'io_uring', reason: `HERALD_NATIVE_SEND=${want}` }, batch: new NativeBatch(addon) };
    } catch (err) {
      refused = `io_uring refused (${(err as Error).message})`;
      if (want === 'io_uring') return { path: { name: 'js', reason: refused }, batch: undefined };
    }
  }
  addon.open('send');
  return { path: { name: 'send', reason: refused || `HERALD_NATIVE_SEND=${want}` }, batch: new NativeBatch(addon) };
}

let chosen: { path: SendPath; batch: NativeBatch | undefined } | undefined;

/** This process's send path, opened on first use from HERALD_NATIVE_SEND. */
export function processSendPath(): { path: SendPath; batch: NativeBatch | undefined } {
  chosen ??= openSendPath(process.env.HERALD_NATIVE_SEND);
  return chosen;
}

/**
 * A pass's native sends, a chunk at a time. Sockets are added with their frames; send() makes one
 * native call and hands back what was not written. Buffers shared by many sockets (a broadcast's
 * frame) are passed to C once. Arrays are reused from pass to pass: nothing is allocated per
 * recipient.
 */
export class NativeBatch {
  private slots: Int32Array = new Int32Array(4096);
  private used = 0;
  private results: Int32Array = new Int32Array(1024);
  private count = 0;
  private readonly owners: Array<SendOwner | undefined> = [];
  private readonly frames: Array<Buffer | Buffer[] | undefined> = [];
  private readonly sizes: number[] = [];
  private readonly buffers: Buffer[] = [];
  private readonly bufferIndex = new Map<Buffer, number>();
  private lastBuffer: Buffer | undefined = undefined;
  private lastIndex = 0;
  /**
   * Passes and sockets sent natively, sockets whose bytes were (partly) handed back, and bytes the
   * kernel took natively (Node's socket.bytesWritten never sees them).
   */
  readonly stats = { passes: 0, sockets: 0, handedBack: 0, bytes: 0 };

  constructor(private readonly addon: Addon) {}

  /** Sockets added since the last send(). */
  get pending(): number {
    return this.count;
  }

  /** Queues `frames` (`bytes` long in all) for the non-blocking socket `fd`. */
  add(owner: SendOwner, fd: number, frames: Buffer | Buffer[], bytes: number): void {
    const single = !Array.isArray(frames);
    const n = single ? 1 : Math.min(frames.length, this.addon.maxFramesPerSocket);
    if (this.used + 2 + n > this.slots.length) this.slots = grow(this.slots, this.used + 2 + n);
    if (this.count === this.results.length) this.results = grow(this.results, this.count + 1);
    const slots = this.slots;
    let at = this.used;
    slots[at++] = fd;
    slots[at++] = n;
    if (single) slots[at++] = this.indexOf(frames);
    else for (let i = 0; i < n; i++) slots[at++] = this.indexOf(frames[i]!);
    this.used = at;
    const k = this.count++;
    this.owners[k] = owner;
    this.frames[k] = frames;
    this.sizes[k] = bytes;
  }

  /** Sends everything added, hands back what the kernel did not take, and resets for the next pass. */
  send(): void {
    const count = this.count;
    if (count === 0) return;
    const results = this.results;
    let failure: unknown;
    try {
      this.addon.send(this.slots, count, this.buffers, results);
    } catch (err) {
      failure = err; // results still tell what each socket got (0 for those not reached)
    }
    this.stats.passes++;
    this.stats.sockets += count;
    let bytes = 0;
    for (let i = 0; i < count; i++) {
      const written = results[i]!;
      if (written > 0) bytes += written;
      if (written !== this.sizes[i]) {
        this.stats.handedBack++;
        this.owners[i]!.handBack(this.frames[i]!, written > 0 ? written : 0);
      }
      this.owners[i] = undefined;
      this.frames[i] = undefined;
    }
    this.stats.bytes += bytes;
    this.count = 0;
    this.used = 0;
    this.buffers.length = 0;
    this.bufferIndex.clear();
    this.lastBuffer = undefined;
    if (failure !== undefined) throw failure;
  }

  private indexOf(buffer: Buffer): number {
    if (buffer === this.lastBuffer) return this.lastIndex;
    let index = this.bufferIndex.get(buffer);
    if (index === undefined) {
      index = this.buffers.length;
      this.buffers.push(buffer);
      this.bufferIndex.set(buffer, index);
    }
    this.lastBuffer = buffer;
    this.lastIndex = index;
    return index;
  }
}

function grow(array: Int32Array, atLeast: number): Int32Array {
  const next = new Int32Array(Math.max(atLeast, array.length * 2));
  next.set(array);
  return next;
}

/** What is left of `frames` after the first `written` bytes: whole frames, the first maybe cut. */
export function unwritten(frames: Buffer | Buffer[], written: number): Buffer | Buffer[] {
  if (!Array.isArray(frames)) return written === 0 ? frames : frames.subarray(written);
  let i = 0;
  while (written >= frames[i]!.length) written -= frames[i++]!.length;
  const rest = frames.slice(i);
  if (written > 0) rest[0] = rest[0]!.subarray(written);
  return rest.length === 1 ? rest[0]! : rest;
}
