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
import { PGlite } from '@electric-sql/pglite';

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
      pg = dataDir ? await PGlite.create(dataDir) : await PGlite.create();
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
