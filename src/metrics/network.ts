/**
 * Exact bytes on the wire (HTTP, WebSocket and TLS overhead included) for one listener, read from
 * the sockets' own counters. Costs nothing per message: sockets are tracked on connect and their
 * totals folded in when they close; a scrape sums the open ones.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { processSendPath } from '../transports/websocket/native-send.js';

export class NetworkBytes {
  private readonly open = new Set<Socket>();
  private closedRead = 0;
  private closedWritten = 0;

  constructor(server: Server) {
    // One listener function for every socket ('close' fires once): a closure or `once` wrapper
    // per socket would cost ~200 bytes of heap per connection.
    const tracker = this;
    function onClose(this: Socket): void {
      tracker.open.delete(this);
      tracker.closedRead += this.bytesRead;
      tracker.closedWritten += this.bytesWritten;
    }
    server.on('connection', (socket: Socket) => {
      tracker.open.add(socket);
      socket.on('close', onClose);
    });
  }

  totals(): { read: number; written: number } {
    let read = this.closedRead;
    let written = this.closedWritten;
    for (const socket of this.open) {
      read += socket.bytesRead;
      written += socket.bytesWritten;
    }
    // The native send path writes past Node's counters; its total is per process (one Herald).
    written += processSendPath().batch?.stats.bytes ?? 0;
    return { read, written };
  }
}
