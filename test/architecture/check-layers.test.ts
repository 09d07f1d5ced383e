/** scripts/check-layers.mjs (the dependency rule of docs/architecture.md) on small fixture trees. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkLayers, parseLayerTable, readImports } from '../../scripts/check-layers.mjs';

/** protocol (1) < platform (2) < channels (3) < graphql (4) < server (5). */
const LAYERS = new Map([
  ['protocol', 1],
  ['platform', 2],
  ['channels', 3],
  ['graphql', 4],
  ['server', 5],
]);

/** A clean tree: every import points down (or stays in its folder, acyclic). */
function cleanTree(): Map<string, string> {
  return new Map([
    ['protocol/names.ts', 'export const x = 1;\n'],
    ['platform/logger.ts', "import { x } from '../protocol/names.js';\nexport const log = x;\n"],
    ['channels/engine.ts', "import type { Conn } from './connection.js';\nimport { log } from '../platform/logger.js';\n"],
    ['channels/connection.ts', 'export interface Conn { id: string }\n'],
    ['graphql/resolvers/events.ts', "export { log } from '../../platform/logger.js';\nconst e = await import('../../channels/engine.js');\n"],
    ['server/herald.ts', "import '../graphql/resolvers/events.js';\nimport { engine } from '../channels/engine.js';\nimport pino from 'pino';\nimport { readFile } from 'node:fs';\n"],
  ]);
}

function check(files: Map<string, string>, extra: Partial<Parameters<typeof checkLayers>[0]> = {}): string[] {
  return checkLayers({ files, layers: LAYERS, ...extra }).problems;
}

test('a clean graph passes and every kind of import is counted', () => {
  const { problems, imports } = checkLayers({ files: cleanTree(), layers: LAYERS });
  assert.deepEqual(problems, []);
  assert.equal(imports, 7, 'import, import type, export from, dynamic import(), side-effect import; packages and node: left out');
});

test('readImports finds multi-line, type-only, re-export and dynamic imports, not commented ones or strings', () => {
  const source = [
    "import {\n  a,\n  b,\n} from './multi.js';",
    "import type { T } from './types.js';",
    "export * from './all.js';",
    "export type { U } from './u.js';",
    "const m = await import('./lazy.js');",
    "// import { gone } from './commented.js';",
    "/* import x from './block.js'; */",
    "const url = 'https://example.com/x'; const s = \"from './not-an-import.js'\";",
    "new URL('../../package.json', import.meta.url);",
  ].join('\n');
  assert.deepEqual(readImports(source), ['./multi.js', './types.js', './all.js', './u.js', './lazy.js']);
});

test('an import up the layers fails, naming the files', () => {
  const files = cleanTree();
  files.set('platform/router.ts', "import type { Conn } from '../channels/connection.js';\n");
  const problems = check(files);
  assert.ok(
    problems.includes('upward import platform/ (layer 2) → channels/ (layer 3): platform/router.ts → channels/connection.ts'),
    problems.join('\n'),
  );
});

test('a cycle between folders fails, naming the imports that close it', () => {
  const files = cleanTree();
  files.set('protocol/codes.ts', "import { log } from '../platform/logger.js';\n");
  const problems = check(files);
  assert.ok(problems.some((p) => /^folder cycle platform ↔ protocol: .*protocol\/codes\.ts → platform\/logger\.ts/.test(p)), problems.join('\n'));
});

test('a folder the layer table does not place fails', () => {
  const files = cleanTree();
  files.set('extras/thing.ts', 'export {};\n');
  assert.deepEqual(check(files), ['src/extras/ is not in the layer table of docs/architecture.md: add a row placing it']);
});

test('a sub-folder counts as its top-level folder: an import from graphql/resolvers/ up to server/ fails', () => {
  const files = cleanTree();
  files.set('graphql/resolvers/channels.ts', "import { x } from '../../server/herald.js';\n");
  const problems = check(files);
  assert.ok(problems.some((p) => p.startsWith('upward import graphql/ (layer 4) → server/ (layer 5): graphql/resolvers/channels.ts → server/herald.ts')), problems.join('\n'));
});

test('a file cycle inside one folder fails unless it is a known one; a known one that changed is reported', () => {
  const files = cleanTree();
  files.set('channels/connection.ts', "import type { Engine } from './engine.js';\n");
  assert.deepEqual(check(files), ['file cycle in channels/: channels/connection.ts ↔ channels/engine.ts']);
  const knownFileCycles = [{ files: ['channels/engine.ts', 'channels/connection.ts'], reason: 'test' }];
  assert.deepEqual(check(files, { knownFileCycles }), []);
  assert.match(check(cleanTree(), { knownFileCycles })[0]!, /known file cycle channels\/connection\.ts ↔ channels\/engine\.ts .* is not there any more/);
});

test('an exception lets a listed import through, and a stale exception fails', () => {
  const files = cleanTree();
  files.set('channels/module.ts', "import type { HeraldModule } from '../server/module.js';\n");
  files.set('server/module.ts', 'export interface HeraldModule {}\n');
  const exceptions = [{ from: '*/**/*.ts', to: 'server/module.ts', reason: 'moving to platform/' }];
  assert.equal(check(files).length, 2, 'upward channels → server, and the folder cycle channels ↔ server');
  assert.deepEqual(check(files, { exceptions }), []);
  const downwardOnly = [{ from: 'server/*.ts', to: 'channels/*.ts', reason: 'allowed anyway' }];
  assert.match(check(cleanTree(), { exceptions: downwardOnly })[0]!, /^stale exception server\/\*\.ts → channels\/\*\.ts/, 'an exception for an allowed import is not needed');
  assert.deepEqual(check(cleanTree(), { exceptions }), ['stale exception */**/*.ts → server/module.ts in scripts/check-layers.mjs matches no upward import any more: remove it']);
});

test('the layer table is read from docs/architecture.md and places every folder under src/', () => {
  const layers = parseLayerTable(readFileSync(join(import.meta.dirname, '../../docs/architecture.md'), 'utf8'));
  assert.ok(layers.get('protocol')! < layers.get('platform')!, 'protocol is the bottom');
  assert.ok(layers.get('platform')! < layers.get('channels')!);
  for (const root of ['server', 'workers', 'cli']) assert.ok(layers.get(root)! > layers.get('graphql')!, `${root}/ is above the capabilities`);
  assert.ok(layers.get('sdk')! > layers.get('graphql')!, 'nothing in the server imports the client SDK');
  assert.throws(() => parseLayerTable('# no table\n'), /layers:begin/);
  const twice = '<!-- layers:begin -->\n| 2 | `a/` | x |\n| 2 | `b/` | x |\n<!-- layers:end -->\n';
  assert.throws(() => parseLayerTable(twice), /layer 2 is listed twice/, 'one folder per layer');
});
