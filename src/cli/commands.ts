/** Subcommands other than `start` (e.g. `herald apps …`), each in its own file. */
import { appsCommand } from './apps.js';
import { beamsCommand } from '../beams/cli.js';
import { storeCommand } from './store.js';

export interface CliCommand {
  name: string;
  summary: string;
  /** Returns the process exit code. */
  run(argv: string[]): Promise<number>;
}

export const extraCommands: CliCommand[] = [appsCommand, beamsCommand, storeCommand];
