// The embedded store's worker thread: owns the PGlite instance (PostgreSQL compiled to WASM) so its
// queries run here instead of on Herald's main event loop, where they would stall WebSocket delivery.
// Plain JavaScript importing only PGlite and Node built-ins, so it loads identically from src/ (a git
// checkout run through tsx, whose loader workers do not inherit) and from a compiled dist/.
//
// Protocol (the main-thread side is embedded-client.ts):
//   in:  { id, op: 'open' } | { id, op: 'query', sql, params } | { id, op: 'close' }
//   out: { id, ok: true, rows? } | { id, ok: false, error: { name, message, stack, fields } }
// Messages are handled strictly one after another, in arrival order; transactions are plain
// BEGIN / COMMIT / ROLLBACK statements, kept from interleaving by the main thread's queue.
import { parentPort, workerData } from 'node:worker_threads';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// Memory (docs/benchmarks.md, "Idle memory"). With V8's defaults PostgreSQL's WASM is compiled twice:
// first by Liftoff, then its hot functions again by TurboFan, whose code and compile-time memory
// stay resident (~55 MB). Liftoff code alone is plenty for Herald's few small queries. The flag is
// process-wide, but this worker is the only place in Herald that compiles WebAssembly, and it must be
// set before PGlite compiles its module (hence the dynamic import below).
setFlagsFromString('--liftoff-only');
const { PGlite } = await import('@electric-sql/pglite');

/**
 * PostgreSQL's shared_buffers defaults to 128MB, and PGlite touches all of it at start-up: it was
 * the largest single share of the store's resident memory. Herald's tables (apps, usage, webhooks,
 * Beams) are small and the OS page cache keeps their files anyway; 4MB (512 pages) holds their
 * working set. Passed per start (not written to postgresql.conf) so the data directory stays stock.
 */
const START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=4MB'];

/** @type {string | null} */
const dataDir = workerData?.dataDir ?? null;
/** @type {PGlite | undefined} */
let pg;
let tail = Promise.resolve();

parentPort.on('message', (message) => {
  tail = tail.then(() => handle(message));
});

async function handle(message) {
  const { id, op } = message;
  try {
    if (op === 'open') {
      pg = await PGlite.create(dataDir ?? undefined, { startParams: START_PARAMS });
      collectStartupGarbage();
      reply({ id, ok: true });
    } else if (op === 'query') {
      if (!pg) throw new Error('the embedded store is not open');
      const result = await pg.query(message.sql, message.params ?? []);
      reply({ id, ok: true, rows: result.rows });
    } else if (op === 'close') {
      const closing = pg;
      pg = undefined;
      await closing?.close();
      reply({ id, ok: true });
    } else {
      throw new Error(`unknown embedded store operation: ${String(op)}`);
    }
  } catch (err) {
    reply({ id, ok: false, error: serializeError(err) });
    // After a WASM abort the PostgreSQL instance is unusable: end the thread so the main side fails
    // every later query clearly instead of sending them to a broken instance.
    if (isFatal(err)) process.exit(1);
  }
}

/**
 * Starting PostgreSQL leaves this thread's heap full of garbage (the unpacked file-system bundle,
 * start-up objects) that an idle store would keep for good: nothing here allocates enough to
 * trigger a full collection. One now gives ~10 MB back. `gc` comes from a new context once the
 * flag is set (the main thread's idle compaction sets it too); it collects this thread's heap.
 */
function collectStartupGarbage() {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('typeof gc === "function" ? gc : undefined');
    if (typeof gc === 'function') gc();
  } catch {
    // Memory only: the store works without it.
  }
}

function reply(message) {
  try {
    parentPort.postMessage(message);
  } catch (err) {
    // A row value structured clone cannot carry (only possible with custom type parsers).
    parentPort.postMessage({ id: message.id, ok: false, error: serializeError(err) });
  }
}

/** Errors cross threads as plain data: name, message and every primitive field (code, detail, constraint…). */
function serializeError(err) {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err), fields: {} };
  const fields = {};
  for (const [key, value] of Object.entries(err)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') fields[key] = value;
  }
  return { name: err.name, message: err.message, stack: err.stack, fields };
}

function isFatal(err) {
  return err instanceof WebAssembly.RuntimeError || (err instanceof Error && /^Aborted\(/.test(err.message));
}
