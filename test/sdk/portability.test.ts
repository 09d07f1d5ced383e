/** The SDK's core path must stay runtime-neutral (Node 20+, Deno, Bun, edge): no Node-only APIs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const SDK_DIR = join(import.meta.dirname, '../../src/sdk');

test('src/sdk uses no node: modules, Buffer, process or require', () => {
  for (const file of readdirSync(SDK_DIR).filter((f) => f.endsWith('.ts'))) {
    // Comments may mention Node APIs; only code counts.
    const code = readFileSync(join(SDK_DIR, file), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '');
    for (const pattern of [/from\s+['"]node:/, /import\(\s*['"]node:/, /\bBuffer\b/, /\bprocess\./, /\brequire\(/, /from\s+['"](http|https|crypto|fs|net)['"]/]) {
      assert.doesNotMatch(code, pattern, `${file} matches ${pattern}`);
    }
  }
});
