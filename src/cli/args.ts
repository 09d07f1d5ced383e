/** Argument parsing shared by the management commands (`herald apps`, `herald beams`). */
import { CliError } from './apps-backend.js';

export interface ParsedArgs {
  positional: string[];
  /** Every value given for an option, in order (options may repeat, e.g. --webhook). */
  values: Map<string, string[]>;
  flags: Set<string>;
}

export interface ArgSpec {
  /** Command name for error messages, e.g. `apps`. */
  command: string;
  /** Options that take a value (`--name x` or `--name=x`). */
  valueOptions: ReadonlySet<string>;
  /** Options without a value. */
  flagOptions: ReadonlySet<string>;
}

export function parseCommandArgs(argv: string[], spec: ArgSpec): ParsedArgs {
  const parsed: ParsedArgs = { positional: [], values: new Map(), flags: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) {
      parsed.positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (spec.flagOptions.has(name)) {
      parsed.flags.add(name);
      continue;
    }
    if (!spec.valueOptions.has(name)) throw new CliError(`Unknown option ${name} (see \`herald ${spec.command} --help\`)`, 2);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new CliError(`${name}: missing value`, 2);
    parsed.values.set(name, [...(parsed.values.get(name) ?? []), value]);
  }
  return parsed;
}

/** The last value given for an option (a repeated single-valued option: the last one wins). */
export function lastValue(parsed: ParsedArgs, name: string): string | undefined {
  return parsed.values.get(name)?.at(-1);
}
