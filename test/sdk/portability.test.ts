/** The SDK's core path must stay runtime-neutral (Node 20+, Deno, Bun, edge): no Node-only APIs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC_DIR = join(import.meta.dirname, '../../src');
const SDK_DIR = join(SRC_DIR, 'sdk');

/** src/sdk/*.ts and every file outside it they import (e.g. protocol/encrypted-channels.ts), transitively. */
function sdkFiles(): string[] {
  const seen = new Set(readdirSync(SDK_DIR).filter((f) => f.endsWith('.ts')).map((f) => join(SDK_DIR, f)));
  for (const file of seen) {
    for (const [, specifier] of readFileSync(file, 'utf8').matchAll(/from\s+['"](\.{1,2}\/[^'"]+)['"]/g)) {
      seen.add(resolve(dirname(file), specifier!).replace(/\.js$/, '.ts'));
    }
  }
  return [...seen];
}

test('src/sdk and what it imports use no node: modules, Buffer, process or require', () => {
  const files = sdkFiles();
  assert.ok(files.some((f) => !f.startsWith(SDK_DIR)), 'the SDK shares protocol/encrypted-channels.ts with the server');
  for (const file of files) {
    // Comments may mention Node APIs; only code counts.
    const code = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '');
    for (const pattern of [/from\s+['"]node:/, /import\(\s*['"]node:/, /\bBuffer\b/, /\bprocess\./, /\brequire\(/, /from\s+['"](http|https|crypto|fs|net)['"]/]) {
      assert.doesNotMatch(code, pattern, `${relative(SRC_DIR, file)} matches ${pattern}`);
    }
  }
});
