/** The one command-line parser (node:util parseArgs underneath), as `herald start` and the management commands use it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArgvError, lastValue, parseCommandArgs } from '../../src/config/argv.js';
import { ConfigError, parseFlags } from '../../src/config/load.js';

const spec = { command: 'apps', valueOptions: ['--name', '--webhook'], flagOptions: ['--json', '--help', '-h'], boolOptions: ['--enabled'] };

test('values (--x v and --x=v), repeats in order, flags, -h, positionals', () => {
  const p = parseCommandArgs(['create', '--name', 'a', '--webhook=http://a', '--webhook', 'http://b', '--json', '-h', 'extra'], spec);
  assert.deepEqual(p.positional, ['create', 'extra']);
  assert.equal(lastValue(p, '--name'), 'a');
  assert.deepEqual(p.values.get('--webhook'), ['http://a', 'http://b']);
  assert.deepEqual([...p.flags].sort(), ['--help', '--json']);
});

test('boolean options take an optional value: bare, following word, or =value', () => {
  const values = (argv: string[]) => parseCommandArgs(argv, spec).values.get('--enabled');
  assert.deepEqual(values(['--enabled']), ['true']);
  assert.deepEqual(values(['--enabled', 'false', '--json']), ['false']);
  assert.deepEqual(values(['--enabled', '--json']), ['true']);
  assert.deepEqual(values(['--enabled=off']), ['off']);
  assert.deepEqual(parseCommandArgs(['--enabled', 'list'], spec).positional, ['list'], 'a non-boolean word after it stays a positional');
});

test('mistakes are explained in Herald words', () => {
  const fails = (argv: string[], pattern: RegExp) =>
    assert.throws(() => parseCommandArgs(argv, spec), (err: Error) => err instanceof ArgvError && pattern.test(err.message), pattern.source);
  fails(['--bogus'], /^Unknown option --bogus \(see `herald apps --help`\)$/);
  fails(['--name'], /^--name: missing value$/);
  fails(['--name', '--json'], /--name: missing value \(write --name=<value>/);
  fails(['--json=1'], /^--json takes no value$/);
  assert.equal(lastValue(parseCommandArgs(['--name=-dash'], spec), '--name'), '-dash');
});

test('herald start flags: settings by type, the last of a repeated flag wins, positionals refused', () => {
  const { layer, configFile } = parseFlags(['--port', '7000', '--port=7001', '--app-client-events', '--config', 'x.yaml', '--log-format', 'json']);
  assert.deepEqual(layer, { port: 7001, app: { clientEvents: true }, logFormat: 'json' });
  assert.equal(configFile, 'x.yaml');
  assert.deepEqual(parseFlags(['--app-client-events', 'no']).layer, { app: { clientEvents: false } });
  assert.throws(() => parseFlags(['stray']), (err: Error) => err instanceof ConfigError && /Unexpected argument "stray"/.test(err.message));
  assert.throws(() => parseFlags(['--port', 'x']), /--port: expected a whole number/);
});
