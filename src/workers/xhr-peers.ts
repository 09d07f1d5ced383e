/**
 * The hub's slot → private-listener table for xhr session forwarding (src/transports/xhr/
 * forwarding.ts): each worker announces its private port under its slot; every worker is told
 * the whole table whenever it changes. A slot whose worker died is empty until its replacement
 * (same slot) announces itself.
 */
import { XHR_PEER_NOTICE, XHR_PEERS_NOTICE } from '../transports/xhr/module.js';
import type { ForwardPeer, ForwardTable } from '../transports/xhr/forwarding.js';
import type { IpcPeer } from '../platform/ipc.js';

export class XhrPeers {
  private readonly peers: Array<ForwardPeer | null>;

  constructor(
    private readonly slots: number,
    private readonly workers: () => Iterable<IpcPeer>,
  ) {
    this.peers = Array.from({ length: slots }, () => null);
  }

  /** Listens for `peer`'s announcement (it may only speak for its own slot). */
  attach(peer: IpcPeer, slot: number): void {
    peer.handle(XHR_PEER_NOTICE, (args) => {
      const { port, secret } = args as Partial<ForwardPeer>;
      if (typeof port !== 'number' || typeof secret !== 'string') return;
      this.peers[slot] = { port, secret };
      this.broadcast();
    });
  }

  /** The worker in `slot` exited. */
  vacate(slot: number): void {
    if (!this.peers[slot]) return;
    this.peers[slot] = null;
    this.broadcast();
  }

  private broadcast(): void {
    const table: ForwardTable = { slots: this.slots, peers: this.peers };
    for (const worker of this.workers()) worker.notify(XHR_PEERS_NOTICE, table);
  }
}
