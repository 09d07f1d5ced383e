/**
 * The one command-line parser (every `herald` command and `loadConfig`'s flags), built on
 * node:util parseArgs in strict mode. Options are named with their dashes (`--port`, `-h`);
 * `--name value` and `--name=value` both work and options may repeat (every value is kept).
 * Boolean settings take an optional value: `--app-client-events`, `--app-client-events false`
 * and `--app-client-events=off` all work (parseArgs alone has no optional values, so those
 * forms are normalised to `--name=value` first).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface ParsedArgs {
  positional: string[];
  /** Every value given for an option, in order (options may repeat, e.g. --webhook). */
  values: Map<string, string[]>;
  flags: Set<string>;
}

export interface ArgSpec {
  /** Command name for error messages, e.g. `apps` → "see `herald apps --help`". */
  command: string;
  /** Options that take a value (`--name x` or `--name=x`). */
  valueOptions: Iterable<string>;
  /** Options without a value; `-h` is a short form of `--help`. */
  flagOptions: Iterable<string>;
  /** Options with an optional true/false value (bare means true); reported in `values`. */
  boolOptions?: Iterable<string>;
}

/** A usage mistake, with a message for the user. */
export class ArgvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArgvError';
  }
}

const BOOL_WORD = /^(true|false|yes|no|on|off|1|0)$/i;

function normaliseBools(argv: readonly string[], bools: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (!bools.has(arg)) {
      out.push(arg);
      continue;
    }
    const next = argv[i + 1];
    if (next !== undefined && BOOL_WORD.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(`${arg}=true`);
  }
  return out;
}

/** Rewrites parseArgs' messages ("Option '--x <value>' argument missing") in Herald's words. */
function explain(err: { code?: string; message: string }, command: string): ArgvError {
  const name = /'(-{1,2}[^' ]+)/.exec(err.message)?.[1] ?? '';
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new ArgvError(`Unknown option ${name} (see \`herald ${command} --help\`)`);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/does not take an argument/.test(err.message)) return new ArgvError(`${name} takes no value`);
      if (/ambiguous/.test(err.message)) return new ArgvError(`${name}: missing value (write ${name}=<value> for a value that starts with -)`);
      return new ArgvError(`${name}: missing value`);
    default:
      return new ArgvError(err.message);
  }
}

export function parseCommandArgs(argv: readonly string[], spec: ArgSpec): ParsedArgs {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  const bools = new Set(spec.boolOptions ?? []);
  for (const name of [...spec.valueOptions, ...bools]) options[name.replace(/^--/, '')] = { type: 'string', multiple: true };
  const flagNames = [...spec.flagOptions];
  for (const name of flagNames) if (name.startsWith('--')) options[name.slice(2)] = { type: 'boolean', multiple: true };
  if (flagNames.includes('-h')) options.help = { type: 'boolean', multiple: true, short: 'h' };

  let result: ReturnType<typeof parseArgs>;
  try {
    result = parseArgs({ args: normaliseBools(argv, bools), options, strict: true, allowPositionals: true });
  } catch (err) {
    throw explain(err as { code?: string; message: string }, spec.command);
  }
  const parsed: ParsedArgs = { positional: result.positionals, values: new Map(), flags: new Set() };
  for (const [name, value] of Object.entries(result.values)) {
    if (options[name]?.type === 'boolean') parsed.flags.add(`--${name}`);
    else parsed.values.set(`--${name}`, value as string[]);
  }
  return parsed;
}

/** The last value given for an option (a repeated single-valued option: the last one wins). */
export function lastValue(parsed: ParsedArgs, name: string): string | undefined {
  return parsed.values.get(name)?.at(-1);
}
