/** Lists the keys of a JetStream KV bucket matching a subject-style filter (`a.*.n.*`). */
import type { KV } from 'nats';

/** Most keys one scan returns; beyond this a listing is truncated rather than unbounded. */
export const MAX_SCAN_KEYS = 100_000;

export async function scanKeys(kv: KV, filter: string): Promise<string[]> {
  const out: string[] = [];
  const iterator = await kv.keys(filter);
  for await (const key of iterator) {
    out.push(key);
    if (out.length >= MAX_SCAN_KEYS) {
      iterator.stop();
      break;
    }
  }
  return out;
}
