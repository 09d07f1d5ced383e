/** docs/configuration.md is generated from the config schema and must never drift from it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOC_PATH, EXAMPLE_YAML, referenceProblems, renderConfigurationReference } from '../../scripts/gen-config-docs.js';
import { loadConfig } from '../../src/config/load.js';
import { SETTINGS } from '../../src/config/schema.js';

test('docs/configuration.md is what `npm run docs:config` generates', () => {
  let current = '';
  try {
    current = readFileSync(DOC_PATH, 'utf8');
  } catch {
    /* reported below */
  }
  assert.ok(current === renderConfigurationReference(), 'docs/configuration.md is out of date with the config schema: run `npm run docs:config` and commit the result');
});

test('the schema, SETTINGS and descriptions agree (every setting and app field is documented)', () => {
  assert.deepEqual(referenceProblems(), []);
});

test('every environment variable appears in the reference', () => {
  const text = renderConfigurationReference();
  for (const s of SETTINGS) assert.ok(text.includes(`\`${s.env}\``), `${s.env} missing`);
});

test('the example config file in the reference is valid', () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-config-'));
  try {
    const file = join(dir, 'herald.yaml');
    writeFileSync(file, EXAMPLE_YAML);
    const loaded = loadConfig({ argv: ['--config', file], env: {} });
    assert.equal(loaded.apps[0]!.id, '1001');
    assert.equal(loaded.usingDevelopmentApp, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
