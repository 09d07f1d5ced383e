/** Subcommands other than `start` (e.g. `herald apps …`), each in its own file. */
import { appsCommand } from './apps.js';
import { beamsCommand } from './beams.js';
import type { CliCommand } from './command.js';
import { storeCommand } from './store.js';

export const extraCommands: CliCommand[] = [appsCommand, beamsCommand, storeCommand];
