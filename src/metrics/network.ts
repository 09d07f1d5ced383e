/**
 * Bytes on the wire for the metrics: the server's socket ledger (platform/socket-bytes.ts), plus
 * what the native send path wrote past Node's counters.
 */
import type { SocketBytes } from '../platform/socket-bytes.js';
import { processSendPath } from '../transports/websocket/native-send.js';

export function networkTotals(sockets: SocketBytes): { read: number; written: number } {
  const { read, written } = sockets.totals();
  // The native send path's total is per process (one Herald).
  return { read, written: written + (processSendPath().batch?.stats.bytes ?? 0) };
}
