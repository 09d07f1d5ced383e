/**
 * Lists the keys of a JetStream KV bucket matching a subject-style filter (`a.*.n.*`), from the
 * stream's subject list (STREAM.INFO with subjects_filter, paged by the client). Unlike
 * `kv.keys()` this needs no consumer, so it cannot stall while other nodes write the bucket.
 * Keys whose last operation was a delete are included; readers skip those entries.
 */
import type { JetStreamManager } from 'nats';

export async function scanKeys(jsm: JetStreamManager, bucket: string, filter: string): Promise<string[]> {
  const prefix = `$KV.${bucket}.`;
  const info = await jsm.streams.info(`KV_${bucket}`, { subjects_filter: prefix + filter });
  return Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(prefix.length));
}
