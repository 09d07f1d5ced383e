/**
 * Node's private socket handle (`socket._handle`: a TCPWrap for a TCP socket), read in this one
 * place for two things the public API does not offer:
 * - the file descriptor the native send path writes to (native-send.ts): node:net has no public
 *   accessor for it;
 * - the peer address without `socket.remoteAddress`, which caches an `{address, family, port}`
 *   object on the socket for its lifetime (~130 bytes a connection, for a value read once).
 * It is not a public API and may change between Node lines (20 to 26 are supported): each reader
 * checks what it gets and falls back — no descriptor means the JavaScript write path, no
 * `getpeername` means `socket.remoteAddress`. Streams without a handle take the same fallbacks.
 */
import type { Duplex } from 'node:stream';

interface NodeHandle {
  fd?: unknown;
  getpeername?(out: { address?: string }): number;
}

/** The socket's private handle, if it has one (see above for why and what falls back). */
function nodeHandle(socket: Duplex): NodeHandle | undefined {
  const handle = (socket as unknown as { _handle?: NodeHandle | null })._handle;
  return typeof handle === 'object' && handle !== null ? handle : undefined;
}

/** The descriptor of a plain TCP socket, or -1 (the JavaScript write path). */
export function nativeFd(socket: Duplex): number {
  // A TLS socket's bytes must go through its encryption: never write its descriptor directly.
  if ((socket as Duplex & { encrypted?: boolean }).encrypted) return -1;
  const fd = nodeHandle(socket)?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : -1;
}

/** The peer's address, read from the handle when it can be (see above). */
export function peerAddress(socket: Duplex): string | undefined {
  const handle = nodeHandle(socket);
  if (typeof handle?.getpeername === 'function') {
    const out: { address?: string } = {};
    if (handle.getpeername(out) === 0 && typeof out.address === 'string') return out.address;
  }
  return (socket as Duplex & { remoteAddress?: string }).remoteAddress;
}
