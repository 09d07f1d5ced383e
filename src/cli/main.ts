/** The `herald` command: `start`, the management commands (commands.ts), `--version` and help. */
import { SETTINGS } from '../config/schema.js';
import { extraCommands } from './commands.js';
import { runStart } from './start.js';
import { heraldVersion } from './version.js';

const USAGE = `Usage: herald <command> [options]

Commands:
  start            Start the server (WebSocket /app/{key} and HTTP API /apps/{id}/... on one port)
${extraCommands.map((c) => `  ${c.name.padEnd(16)} ${c.summary}`).join('\n')}
  help             Show this help
  --version        Print Herald's version

Options for start (flags > environment > --config file > defaults):
  --config <file>  JSON or YAML configuration file
${SETTINGS.map((s) => `  ${`${s.flag} <${s.type === 'bool' ? 'true|false' : s.type === 'int' ? 'n' : 'value'}>`.padEnd(34)} ${s.env}  ${s.description}`).join('\n')}

Run it directly (\`herald start\`, \`node bin/herald.js start\`) under a supervisor (systemd, Docker,
Kubernetes), not through \`npm start\`/\`npx\`, so that SIGTERM reaches the server.
`;

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'start') return runStart(rest, USAGE);
  if (command === '--version' || command === '-v' || command === 'version') {
    process.stdout.write(`${heraldVersion()}\n`);
    return;
  }
  const extra = extraCommands.find((c) => c.name === command);
  if (extra) process.exit(await extra.run(rest));
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return;
  }
  process.stderr.write(`herald: unknown command "${command}"\n\n${USAGE}`);
  process.exit(2);
}

await main();
