/**
 * Exact bytes on the wire (HTTP, WebSocket and TLS overhead included) for one server, read from
 * the sockets' own counters: nothing is counted per message. The ledger tracks every accepted
 * socket and folds in its totals when it closes; a read sums the open ones.
 *
 * An owner that already keeps its sockets in a set and sees them close (the WebSocket gateway)
 * takes them over with `adopt`: the ledger then holds no set entry and no 'close' listener for
 * them (together ~90 bytes of heap per connection: the listener turns the socket's 'close' slot
 * into an array), and the owner reports them through `addOwner` and `closed`.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** What the ledger reads of a socket (net.Socket has both). */
export interface CountedSocket {
  readonly bytesRead: number;
  readonly bytesWritten: number;
}

/** Visits the sockets an owner adopted and still has open. */
export type AdoptedSockets = (visit: (socket: CountedSocket) => void) => void;

export class SocketBytes {
  private readonly open = new Set<Socket>();
  private readonly owners: AdoptedSockets[] = [];
  private closedRead = 0;
  private closedWritten = 0;
  /** One listener function for every socket ('close' fires once): a closure per socket costs ~200 bytes. */
  private readonly onClose: (this: Socket) => void;

  constructor() {
    const ledger = this;
    this.onClose = function onClose(this: Socket): void {
      ledger.open.delete(this);
      ledger.closed(this);
    };
  }

  /** Tracks every socket `server` accepts from now on. */
  track(server: Server): void {
    server.on('connection', (socket: Socket) => {
      this.open.add(socket);
      socket.on('close', this.onClose);
    });
  }

  /**
   * The caller answers for `socket` from now on (it must call `closed` when it goes and list it
   * through its `addOwner` visitor while open). False, and nothing changes here, when the ledger
   * does not track it. A TLS socket is never adopted: the ledger counts the TCP socket under it.
   */
  adopt(socket: object): boolean {
    const tracked = socket as Socket;
    if (!this.open.delete(tracked)) return false;
    tracked.removeListener('close', this.onClose);
    return true;
  }

  /** Folds in the totals of a socket that has closed (an adopted one, from its owner). */
  closed(socket: CountedSocket): void {
    this.closedRead += socket.bytesRead;
    this.closedWritten += socket.bytesWritten;
  }

  addOwner(visitor: AdoptedSockets): void {
    this.owners.push(visitor);
  }

  totals(): { read: number; written: number } {
    let read = this.closedRead;
    let written = this.closedWritten;
    const add = (socket: CountedSocket) => {
      read += socket.bytesRead;
      written += socket.bytesWritten;
    };
    for (const socket of this.open) add(socket);
    for (const visit of this.owners) visit(add);
    return { read, written };
  }
}
