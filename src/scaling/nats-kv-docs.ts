/**
 * Atomic read-modify-write of JSON documents in a JetStream KV bucket: compare-and-set on the
 * key's revision, retried on conflict. Changes to one key made on this node are queued and
 * written together (one CAS for the whole batch), so many sockets joining one channel at once
 * cost a few writes instead of a storm of conflicting ones; only other nodes' writes conflict.
 */
import type { KV, KvEntry } from 'nats';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A change to a document: returns the result for the caller, or `undefined` to change nothing. */
export type Mutation<D, R> = (doc: D) => R;

interface Pending<D> {
  apply: (doc: D) => unknown;
  resolve: (value: { result: unknown; revision: number }) => void;
  reject: (err: unknown) => void;
}

const MAX_ATTEMPTS = 64;
/**
 * Revisions handed out are `KV revision × REVISION_SPAN + position in the batch`: unique per
 * change (two changes of one user in one batch must not share a revision, or a node would drop
 * the second as stale) and still increasing across writes. Batches are cut at this size.
 */
export const REVISION_SPAN = 1024;

export function isConflict(err: unknown): boolean {
  const e = err as { message?: string; api_error?: { err_code?: number } };
  return e?.api_error?.err_code === 10071 || /wrong last sequence/i.test(e?.message ?? '');
}

export class KvDocuments<D extends object> {
  private readonly queues = new Map<string, Pending<D>[]>();

  constructor(
    private readonly kv: () => KV,
    private readonly empty: () => D,
  ) {}

  /** Reads a document (undefined when absent or deleted). */
  async read(key: string): Promise<{ doc: D; entry: KvEntry } | undefined> {
    const entry = await this.kv().get(key);
    if (!entry || entry.operation !== 'PUT') return undefined;
    return { doc: parse<D>(entry.value) ?? this.empty(), entry };
  }

  /**
   * Applies `mutate` atomically; resolves with its result and its revision (see REVISION_SPAN;
   * based on the current KV revision when the batch changed nothing).
   * Mutations must be pure functions of the document: a conflict re-runs them on fresh data.
   */
  mutate<R>(key: string, mutate: Mutation<D, R>): Promise<{ result: R; revision: number }> {
    return new Promise((resolve, reject) => {
      const op: Pending<D> = { apply: mutate, resolve: resolve as Pending<D>['resolve'], reject };
      const queue = this.queues.get(key);
      if (queue) {
        queue.push(op);
        return;
      }
      this.queues.set(key, [op]);
      void this.drain(key);
    });
  }

  private async drain(key: string): Promise<void> {
    for (;;) {
      const batch = this.queues.get(key);
      if (!batch || batch.length === 0) {
        this.queues.delete(key);
        return;
      }
      // Ops queued while this batch is written form the next batch.
      this.queues.set(key, batch.splice(REVISION_SPAN));
      try {
        const outcome = await this.writeBatch(key, batch);
        batch.forEach((op, i) => op.resolve({ result: outcome.results[i], revision: outcome.revision * REVISION_SPAN + i }));
      } catch (err) {
        for (const op of batch) op.reject(err);
      }
    }
  }

  private async writeBatch(key: string, batch: Pending<D>[]): Promise<{ results: unknown[]; revision: number }> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.read(key);
      const before = current ? JSON.stringify(current.doc) : '';
      const doc = current ? (JSON.parse(before) as D) : this.empty();
      const results = batch.map((op) => op.apply(doc));
      const after = JSON.stringify(doc);
      if (after === (before || JSON.stringify(this.empty()))) return { results, revision: current?.entry.revision ?? 0 };
      try {
        const bytes = encoder.encode(after);
        const revision = current ? await this.kv().update(key, bytes, current.entry.revision) : await this.kv().create(key, bytes);
        return { results, revision };
      } catch (err) {
        if (!isConflict(err) || attempt >= MAX_ATTEMPTS) throw err;
        // Another node wrote first: back off a little (more as contention persists) and redo.
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, attempt * 2)));
      }
    }
  }
}

export function parse<T>(bytes: Uint8Array): T | undefined {
  try {
    return JSON.parse(decoder.decode(bytes)) as T;
  } catch {
    return undefined;
  }
}

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}
