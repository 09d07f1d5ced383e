/**
 * Per-app connection limits (`limits.maxConnections`, `quotas.maxConnections`) hold for the whole
 * node, not per worker: each worker reports its per-app connection counts to the hub (once per
 * event-loop turn in which they changed) and the hub tells every other worker how many the
 * others hold. Admission stays synchronous: local count + the others' as last reported (one IPC
 * hop old). The engine's own check counts this worker only; this hook adds the rest.
 */
import type { App } from '../apps/app.js';
import { CloseCode } from '../protocol/errors.js';
import type { ModuleContext } from '../core/module.js';
import type { IpcPeer } from '../platform/ipc.js';

type Counts = Record<string, number>;

/** Worker side: reports this worker's counts and refuses connections over the node's limits. */
export function shareConnectionCounts(ctx: ModuleContext, hub: IpcPeer): void {
  const others = new Map<string, number>();
  const dirty = new Set<string>();
  let scheduled = false;
  const report = () => {
    scheduled = false;
    const counts: Counts = {};
    for (const appId of dirty) counts[appId] = ctx.engine.connectionCount(appId);
    dirty.clear();
    hub.notify('connections.report', counts);
  };
  const changed = (app: App) => {
    if (app.limits.maxConnections <= 0 && app.quotas.maxConnections <= 0) return;
    dirty.add(app.id);
    if (!scheduled) {
      scheduled = true;
      setImmediate(report);
    }
  };
  hub.handle('connections.others', (args) => {
    for (const [appId, n] of Object.entries(args as Counts)) {
      if (n > 0) others.set(appId, n);
      else others.delete(appId);
    }
  });
  ctx.engine.observe({ connectionOpened: changed, connectionClosed: changed });
  ctx.hooks.admitConnection.push((app, current) => {
    const elsewhere = others.get(app.id);
    if (!elsewhere) return undefined;
    const total = current + elsewhere;
    const { maxConnections } = app.limits;
    const quota = app.quotas.maxConnections;
    if ((maxConnections > 0 && total >= maxConnections) || (quota > 0 && total >= quota)) {
      return { code: CloseCode.OverConnectionQuota, reason: 'Application is over connection quota' };
    }
    return undefined;
  });
}

/** Hub side: every worker's counts per app; each worker is told the sum of the others'. */
export class ConnectionCountsHub {
  private readonly byWorker = new Map<string, Map<string, number>>();
  private readonly peers = new Map<string, IpcPeer>();

  attach(node: string, peer: IpcPeer): void {
    this.peers.set(node, peer);
    this.byWorker.set(node, new Map());
    peer.handle('connections.report', (args) => this.update(node, args as Counts));
  }

  detach(node: string): void {
    const counts = this.byWorker.get(node);
    this.byWorker.delete(node);
    this.peers.delete(node);
    if (counts?.size) this.broadcast([...counts.keys()]);
  }

  private update(node: string, counts: Counts): void {
    const mine = this.byWorker.get(node);
    if (!mine) return;
    for (const [appId, n] of Object.entries(counts)) {
      if (n > 0) mine.set(appId, n);
      else mine.delete(appId);
    }
    this.broadcast(Object.keys(counts), node);
  }

  private broadcast(appIds: string[], from?: string): void {
    for (const [node, peer] of this.peers) {
      if (node === from) continue;
      const others: Counts = {};
      for (const appId of appIds) {
        let sum = 0;
        for (const [other, counts] of this.byWorker) if (other !== node) sum += counts.get(appId) ?? 0;
        others[appId] = sum;
      }
      peer.notify('connections.others', others);
    }
  }
}
