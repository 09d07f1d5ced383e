/**
 * The embedded store has one owner: the primary (PGlite is single-process). Workers reach it
 * through the same `Database` seam, one IPC request per statement. A transaction holds the store
 * on the primary from BEGIN to COMMIT/ROLLBACK, as it does in one process; a worker that dies
 * inside one has it rolled back by the primary.
 */
import type { Database } from '../storage/database.js';
import type { IpcPeer } from '../platform/ipc.js';

export function remoteDatabase(primary: IpcPeer): Database {
  return {
    kind: 'embedded',
    query: <T>(sql: string, params?: unknown[]) => primary.request<T[]>('db.query', { sql, params }),
    async transaction<T>(fn: (tx: Pick<Database, 'query'>) => Promise<T>): Promise<T> {
      const id = await primary.request<number>('db.begin');
      let result: T;
      try {
        result = await fn({ query: <R>(sql: string, params?: unknown[]) => primary.request<R[]>('db.tx', { id, sql, params }) });
      } catch (err) {
        await primary.request('db.end', { id, commit: false }).catch(() => undefined);
        throw err;
      }
      await primary.request('db.end', { id, commit: true });
      return result;
    },
    // The primary closes the store when the node stops.
    close: async () => undefined,
  };
}

interface OpenTransaction {
  owner: string;
  tx: Pick<Database, 'query'>;
  finish(commit: boolean): void;
  done: Promise<void>;
}

/** Most transactions one node keeps open at once (each holds the embedded store's queue). */
const MAX_OPEN_TRANSACTIONS = 64;

/** The primary's side: answers workers' statements on the store it owns. */
export class DatabaseHost {
  private nextId = 1;
  private readonly open = new Map<number, OpenTransaction>();
  /** Workers that are gone: a BEGIN of theirs still queued is rolled back when it runs. */
  private readonly gone = new Set<string>();

  constructor(private readonly database: () => Promise<Database>) {}

  /** Wires one worker's requests; `owner` names it so its transactions end with it. */
  serve(peer: IpcPeer, owner: string): void {
    peer.handle('db.query', async (args) => {
      const { sql, params } = args as { sql: string; params?: unknown[] };
      return (await this.database()).query(sql, params);
    });
    peer.handle('db.begin', () => this.begin(owner));
    peer.handle('db.tx', (args) => {
      const { id, sql, params } = args as { id: number; sql: string; params?: unknown[] };
      const open = this.open.get(id);
      if (!open || open.owner !== owner) throw new Error('transaction is not open');
      return open.tx.query(sql, params);
    });
    peer.handle('db.end', async (args) => {
      const { id, commit } = args as { id: number; commit: boolean };
      const open = this.open.get(id);
      if (!open || open.owner !== owner) throw new Error('transaction is not open');
      this.open.delete(id);
      open.finish(commit);
      await open.done;
    });
  }

  /** A worker died: roll back whatever it left open, so the store is not held forever. */
  release(owner: string): void {
    this.gone.add(owner);
    for (const [id, open] of this.open) {
      if (open.owner !== owner) continue;
      this.open.delete(id);
      open.finish(false);
      open.done.catch(() => undefined);
    }
  }

  private async begin(owner: string): Promise<number> {
    if (this.open.size >= MAX_OPEN_TRANSACTIONS) throw new Error(`too many open store transactions (${MAX_OPEN_TRANSACTIONS})`);
    const db = await this.database();
    const id = this.nextId++;
    return new Promise<number>((started, failed) => {
      const entry: OpenTransaction = { owner, tx: { query: () => Promise.reject(new Error('not begun')) }, finish: () => undefined, done: Promise.resolve() };
      const run = db.transaction(
        (tx) =>
          new Promise<void>((resolve, reject) => {
            entry.tx = tx;
            entry.finish = (commit) => (commit ? resolve() : reject(new RolledBack()));
            if (this.gone.has(owner)) return entry.finish(false);
            this.open.set(id, entry);
            started(id);
          }),
      );
      entry.done = run.catch((err: unknown) => {
        if (!(err instanceof RolledBack)) throw err;
      });
      entry.done.catch(() => undefined); // reported by db.end
      // BEGIN itself failed (the callback never ran); after started() this is a no-op.
      run.catch((err: unknown) => failed(err));
    });
  }
}

class RolledBack extends Error {
  constructor() {
    super('rolled back');
  }
}
