import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_JSON_DEPTH, jsonTextTooDeep } from '../../src/protocol/json-depth.js';

const nested = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

test('jsonTextTooDeep: the limit itself passes, one level more fails, with either bracket', () => {
  assert.equal(jsonTextTooDeep(nested(MAX_JSON_DEPTH)), false);
  assert.equal(jsonTextTooDeep(nested(MAX_JSON_DEPTH + 1)), true);
  assert.equal(jsonTextTooDeep('{"a":'.repeat(MAX_JSON_DEPTH + 1) + '1' + '}'.repeat(MAX_JSON_DEPTH + 1)), true);
  assert.equal(jsonTextTooDeep(`{"data":${nested(100_000)}}`), true);
});

test('jsonTextTooDeep: many brackets side by side or inside strings are not depth', () => {
  const siblings = `[${Array.from({ length: 500 }, () => '{}').join(',')}]`;
  assert.equal(jsonTextTooDeep(siblings), false);
  assert.equal(jsonTextTooDeep(JSON.stringify({ data: nested(5000) })), false, 'brackets in a string');
  assert.equal(jsonTextTooDeep(JSON.stringify({ data: `\\"${nested(5000)}` })), false, 'escaped quote inside the string');
  assert.equal(jsonTextTooDeep('{"name":"e","channel":"c","data":"{\\"t\\":1}"}'), false);
});
