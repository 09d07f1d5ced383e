#!/usr/bin/env node
// The dependency rule of docs/architecture.md ("Layers"), checked: reads every import in
// src/**/*.ts, folds files into folders and fails on
//   (a) a cycle between folders,
//   (b) an import that goes up the layers (a folder may import only folders in lower layers),
//   (c) a cycle between files of one folder (but for the KNOWN_FILE_CYCLES below),
//   (d) a folder under src/ that the layer table does not place.
// The layer order is read from the table between `<!-- layers:begin -->` and `<!-- layers:end -->`
// in docs/architecture.md, so the document and the check cannot disagree.
//
// Imports counted: static `import … from`, side-effect `import '…'`, `import type`, `export … from`
// and dynamic `import('literal')`; type-only imports count too (a type import is still a
// dependency a reader has to follow). Only relative specifiers are followed (packages and node:
// modules are not Herald's layers). A file belongs to the top-level folder under src/ it sits in:
// src/transports/xhr/gateway.ts is in `transports`, src/graphql/resolvers/events.ts in `graphql`.
//
// Usage: node scripts/check-layers.mjs          (exit 1 with one line per problem)
// Plain Node, no dependencies: it runs before anything is built or installed.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * TEMPORARY exceptions: imports that break the rule today and that another change in flight
 * removes. Each names the files (globs: `*` within a path segment, `**` across segments), why,
 * and who removes it. An exception only lets an upward import through; one that matches none is
 * itself reported, so the list cannot outlive its reason. REMOVE AT MERGE once the owning change
 * has landed.
 */
export const TEMPORARY_EXCEPTIONS = [];

/**
 * File cycles inside one folder that are known and accepted for now (between folders nothing is).
 * A listed cycle must match exactly: one that grows, shrinks or goes away is reported, so the
 * list is updated when the code is.
 */
export const KNOWN_FILE_CYCLES = [
  {
    files: ['channels/client-events.ts', 'channels/control.ts', 'channels/engine.ts', 'channels/membership.ts', 'channels/subscriptions.ts', 'channels/users.ts'],
    reason:
      'the engine\'s protocol steps (one file each) take the ChannelsEngine itself as a parameter (type import) and the engine calls them; ' +
      'a narrow interface of what the steps use would cut it (engine work, not this check\'s)',
  },
];

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------------------------------------
// Reading imports

/** Comments out, string and template literals kept (a `//` inside a URL string is not a comment). */
function stripComments(source) {
  return source.replace(/("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)|\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, (match, literal) => literal ?? ' ');
}

const STATIC_IMPORT = /(?:^|[;\s}])(?:import|export)\s+(?:type\s+)?(?:[^'"`;]*?\bfrom\s*)?(['"])([^'"\n]+)\1/g;
const DYNAMIC_IMPORT = /\bimport\s*\(\s*(['"])([^'"\n]+)\1\s*\)/g;

/** Every module specifier `source` imports or re-exports, in order of appearance. */
export function readImports(source) {
  const code = stripComments(source);
  const found = [];
  for (const pattern of [STATIC_IMPORT, DYNAMIC_IMPORT]) {
    for (const match of code.matchAll(pattern)) found.push({ at: match.index, specifier: match[2] });
  }
  return found.sort((a, b) => a.at - b.at).map((f) => f.specifier);
}

/**
 * The src-relative file a relative specifier of `fromFile` names (`./x.js` → `dir/x.ts`), or
 * undefined for packages, node: modules and paths outside src/.
 */
export function resolveImport(fromFile, specifier, knownFiles) {
  if (!specifier.startsWith('.')) return undefined;
  const joined = posix.normalize(posix.join(posix.dirname(fromFile), specifier));
  if (joined.startsWith('..')) return undefined;
  for (const candidate of [joined, joined.replace(/\.js$/, '.ts'), joined.replace(/\.mjs$/, '.mts'), `${joined}.ts`, `${joined}/index.ts`]) {
    if (knownFiles.has(candidate)) return candidate;
  }
  return joined.replace(/\.js$/, '.ts');
}

/** `transports/xhr/gateway.ts` → `transports`. */
export function folderOf(file) {
  const slash = file.indexOf('/');
  return slash === -1 ? '' : file.slice(0, slash);
}

// ---------------------------------------------------------------------------------------------
// The layer table

/**
 * Reads the layer table of docs/architecture.md: rows `| <layer number> | \`folder/\` | …`
 * between the markers. Returns folder → layer (higher number = higher layer).
 */
export function parseLayerTable(markdown) {
  const begin = markdown.indexOf('<!-- layers:begin -->');
  const end = markdown.indexOf('<!-- layers:end -->');
  if (begin === -1 || end === -1 || end < begin) throw new Error('docs/architecture.md has no <!-- layers:begin --> … <!-- layers:end --> table');
  const layers = new Map();
  const numbers = new Set();
  for (const line of markdown.slice(begin, end).split('\n')) {
    const row = /^\|\s*(\d+)\s*\|\s*`([\w-]+)\/`\s*\|/.exec(line);
    if (!row) continue;
    const [, number, folder] = row;
    if (layers.has(folder)) throw new Error(`layer table: ${folder}/ is listed twice`);
    // One folder per layer: the order between any two folders is then explicit.
    if (numbers.has(number)) throw new Error(`layer table: layer ${number} is listed twice`);
    numbers.add(number);
    layers.set(folder, Number(number));
  }
  if (layers.size === 0) throw new Error('layer table in docs/architecture.md has no rows');
  return layers;
}

// ---------------------------------------------------------------------------------------------
// The check

function globToRegExp(glob) {
  let pattern = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` is any number of folders (none too); a bare `**` anything at all.
      pattern += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') pattern += '[^/]*';
    else if (c === '{') pattern += '(?:';
    else if (c === '}') pattern += ')';
    else if (c === ',') pattern += '|';
    else pattern += c.replace(/[.+?^$()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${pattern}$`);
}

/** Strongly connected components with more than one node (Tarjan), each sorted, in sorted order. */
export function cycles(nodes, edgesOf) {
  let next = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  const visit = (node) => {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    onStack.add(node);
    for (const target of edgesOf(node)) {
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node), low.get(target)));
      } else if (onStack.has(target)) low.set(node, Math.min(low.get(node), index.get(target)));
    }
    if (low.get(node) !== index.get(node)) return;
    const component = [];
    let member;
    do {
      member = stack.pop();
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1) found.push(component.sort());
  };
  for (const node of [...nodes].sort()) if (!index.has(node)) visit(node);
  return found.sort((a, b) => a[0].localeCompare(b[0]));
}

/**
 * Checks one source tree. `files`: Map of src-relative path → source text; `layers`: Map folder →
 * layer number; `exceptions`: [{from, to, reason}] (globs on src-relative paths).
 * Returns { problems: string[], imports: number }.
 */
export function checkLayers({ files, layers, exceptions = [], knownFileCycles = [] }) {
  const problems = [];
  const known = new Set(files.keys());
  const rules = exceptions.map((e) => ({ ...e, fromRe: globToRegExp(e.from), toRe: globToRegExp(e.to), used: false }));

  /** file → Set of files it imports (exceptions left out). */
  const fileEdges = new Map();
  let imports = 0;
  for (const [file, source] of files) {
    const targets = new Set();
    for (const specifier of readImports(source)) {
      const target = resolveImport(file, specifier, known);
      if (target === undefined || target === file) continue;
      // An exception only ever lets an upward import through; one that matches only imports the
      // rule allows anyway is not needed, and is reported as stale below.
      const upward = (layers.get(folderOf(target)) ?? -Infinity) >= (layers.get(folderOf(file)) ?? Infinity) && folderOf(file) !== folderOf(target);
      const rule = upward ? rules.find((r) => r.fromRe.test(file) && r.toRe.test(target)) : undefined;
      if (rule) {
        rule.used = true;
        continue;
      }
      imports++;
      targets.add(target);
    }
    fileEdges.set(file, targets);
  }

  // (d) every folder is placed
  const folders = new Set([...known].map(folderOf));
  for (const folder of [...folders].sort()) {
    if (folder === '') problems.push(`src/ holds files outside any folder (${[...known].filter((f) => !f.includes('/')).join(', ')}): put each in its folder`);
    else if (!layers.has(folder)) problems.push(`src/${folder}/ is not in the layer table of docs/architecture.md: add a row placing it`);
  }

  // folder graph, with one example import per edge for the messages
  const folderEdges = new Map([...folders].map((f) => [f, new Map()]));
  for (const [file, targets] of fileEdges) {
    for (const target of targets) {
      const from = folderOf(file);
      const to = folderOf(target);
      if (from === to) continue;
      const examples = folderEdges.get(from);
      if (!examples.has(to)) examples.set(to, []);
      examples.get(to).push(`${file} → ${target}`);
      if (!folderEdges.has(to)) folderEdges.set(to, new Map());
    }
  }
  const show = (list) => (list.length <= 3 ? list.join(', ') : `${list.slice(0, 3).join(', ')} and ${list.length - 3} more`);

  // (a) folder cycles
  for (const component of cycles(folderEdges.keys(), (f) => [...folderEdges.get(f).keys()])) {
    const members = new Set(component);
    // Name the imports that close the cycle: those not pointing down (with layers, every cycle has
    // one); the downward ones inside it are only counted.
    const closing = [];
    let downward = 0;
    for (const from of component) {
      for (const [to, examples] of folderEdges.get(from)) {
        if (!members.has(to)) continue;
        if (layers.has(from) && layers.has(to) && layers.get(to) < layers.get(from)) downward++;
        else closing.push(`${from} → ${to} (${show(examples)})`);
      }
    }
    const rest = downward ? `; and ${downward} downward folder import(s)` : '';
    problems.push(`folder cycle ${component.join(' ↔ ')}: ${closing.join('; ')}${rest}`);
  }

  // (b) upward imports
  for (const [from, targets] of [...folderEdges].sort((a, b) => a[0].localeCompare(b[0]))) {
    const fromLayer = layers.get(from);
    if (fromLayer === undefined) continue;
    for (const [to, examples] of [...targets].sort((a, b) => a[0].localeCompare(b[0]))) {
      const toLayer = layers.get(to);
      if (toLayer === undefined || toLayer < fromLayer) continue;
      problems.push(`upward import ${from}/ (layer ${fromLayer}) → ${to}/ (layer ${toLayer}): ${show(examples)}`);
    }
  }

  // (c) file cycles inside one folder
  const accepted = new Set(knownFileCycles.map((c) => [...c.files].sort().join(' ↔ ')));
  const byFolder = new Map();
  for (const file of known) {
    const folder = folderOf(file);
    if (!byFolder.has(folder)) byFolder.set(folder, []);
    byFolder.get(folder).push(file);
  }
  for (const [folder, members] of [...byFolder].sort((a, b) => a[0].localeCompare(b[0]))) {
    const local = (file) => [...(fileEdges.get(file) ?? [])].filter((t) => folderOf(t) === folder && known.has(t));
    for (const component of cycles(members, local)) {
      const key = component.join(' ↔ ');
      if (accepted.has(key)) accepted.delete(key);
      else problems.push(`file cycle in ${folder}/: ${key}`);
    }
  }
  for (const key of accepted) problems.push(`known file cycle ${key} (KNOWN_FILE_CYCLES in scripts/check-layers.mjs) is not there any more, or changed: update the list`);

  for (const rule of rules) {
    if (!rule.used) problems.push(`stale exception ${rule.from} → ${rule.to} in scripts/check-layers.mjs matches no upward import any more: remove it`);
  }
  return { problems, imports };
}

// ---------------------------------------------------------------------------------------------
// Command line

function sourceFiles(dir, base = dir) {
  const out = new Map();
  for (const entry of readdirSync(dir)) {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) for (const [k, v] of sourceFiles(full, base)) out.set(k, v);
    else if (/\.m?ts$/.test(entry) && !entry.endsWith('.d.ts')) out.set(relative(base, full).split(sep).join('/'), readFileSync(full, 'utf8'));
  }
  return out;
}

/** Runs the check on this repository; prints the outcome; returns true when it passes. */
export function checkRepository(root = ROOT) {
  const files = sourceFiles(join(root, 'src'));
  const layers = parseLayerTable(readFileSync(join(root, 'docs/architecture.md'), 'utf8'));
  const { problems, imports } = checkLayers({ files, layers, exceptions: TEMPORARY_EXCEPTIONS, knownFileCycles: KNOWN_FILE_CYCLES });
  if (problems.length === 0) {
    const listed = [
      TEMPORARY_EXCEPTIONS.length && `${TEMPORARY_EXCEPTIONS.length} temporary exception(s)`,
      KNOWN_FILE_CYCLES.length && `${KNOWN_FILE_CYCLES.length} known file cycle(s)`,
    ].filter(Boolean);
    const pending = listed.length ? ` (${listed.join(', ')} listed in scripts/check-layers.mjs)` : '';
    console.log(`check-layers: ${files.size} files, ${imports} imports: no folder cycle, no upward import, no new file cycle${pending}`);
    return true;
  }
  console.error(`check-layers: ${problems.length} problem(s) with the layers of docs/architecture.md:`);
  for (const problem of problems) console.error(`  - ${problem}`);
  return false;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exit(checkRepository() ? 0 : 1);
}
