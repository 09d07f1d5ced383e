/** Argument parsing of the management commands (`herald apps`, `herald beams`): the shared parser, with CLI errors. */
import { ArgvError, parseCommandArgs as parse, type ArgSpec, type ParsedArgs } from '../config/argv.js';
import { CliError } from './command.js';

export { lastValue, type ArgSpec, type ParsedArgs } from '../config/argv.js';

/** Parses `argv`; a usage mistake becomes a CliError with exit code 2. */
export function parseCommandArgs(argv: readonly string[], spec: ArgSpec): ParsedArgs {
  try {
    return parse(argv, spec);
  } catch (err) {
    if (err instanceof ArgvError) throw new CliError(err.message, 2);
    throw err;
  }
}
