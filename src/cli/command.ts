/**
 * What every management command (`herald apps`, `herald beams`, `herald store`) shares: its shape,
 * the error it shows the user as is, and how it reports a failure. Its own file so that the
 * commands and their backends import it without importing each other (commands.ts lists them).
 */

export interface CliCommand {
  name: string;
  summary: string;
  /** Returns the process exit code. */
  run(argv: string[]): Promise<number>;
}

/** An error shown to the user as is; `exitCode` 1 = refused/failed, 2 = bad usage. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/**
 * How a management command (`herald apps`, `herald beams`) reports a failure: expected errors as one
 * line with their exit code, anything else with its stack. Returns the exit code.
 */
export function reportCliFailure(command: string, err: unknown, stderr: (s: string) => void): number {
  if (err instanceof CliError || (err as Error).name === 'DataDirLockedError') {
    stderr(`herald ${command}: ${(err as Error).message}\n`);
    return err instanceof CliError ? err.exitCode : 1;
  }
  stderr(`herald ${command}: unexpected error: ${(err as Error).stack ?? err}\n`);
  return 1;
}
