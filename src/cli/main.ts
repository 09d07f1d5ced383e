/** The `herald` command. */
import { ConfigError, loadConfig } from '../config/load.js';
import { SETTINGS } from '../config/schema.js';
import { startHerald, type Herald } from '../server/herald.js';
import { startIdleCompaction } from '../server/idle-compaction.js';
import { createLogger } from '../server/logger.js';
import { TlsError } from '../server/tls.js';
import { extraCommands } from './commands.js';

const USAGE = `Usage: herald <command> [options]

Commands:
  start            Start the server (WebSocket /app/{key} and HTTP API /apps/{id}/... on one port)
${extraCommands.map((c) => `  ${c.name.padEnd(16)} ${c.summary}`).join('\n')}
  help             Show this help

Options for start (flags > environment > --config file > defaults):
  --config <file>  JSON or YAML configuration file
${SETTINGS.map((s) => `  ${`${s.flag} <${s.type === 'bool' ? 'true|false' : s.type === 'int' ? 'n' : 'value'}>`.padEnd(34)} ${s.env}  ${s.description}`).join('\n')}
`;

async function start(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  let loaded;
  try {
    loaded = loadConfig({ argv, env: process.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`herald: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(loaded.config.logLevel);
  let herald: Herald;
  try {
    herald = await startHerald({ config: loaded.config, apps: loaded.apps, developmentAppId: loaded.usingDevelopmentApp ? loaded.apps[0]!.id : undefined, logger });
  } catch (err) {
    // Operator mistakes (bad certificate, port in use) get one clear line, not a stack trace.
    const code = (err as NodeJS.ErrnoException).code;
    if (err instanceof TlsError || code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      process.stderr.write(`herald: ${(err as Error).message}\n`);
      process.exit(2);
    }
    throw err;
  }

  // The process, not a Herald instance: one node per process, and tests embedding Herald keep V8's defaults.
  startIdleCompaction();

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), loaded.config.shutdownTimeoutMs + 2000);
    force.unref();
    herald.close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // SIGHUP reloads the TLS certificate (e.g. after renewal); connections stay open.
  process.on('SIGHUP', () => {
    try {
      const reloaded = herald.reloadTls();
      logger.info(reloaded ? 'TLS certificate reloaded' : 'SIGHUP ignored: TLS is not configured');
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'TLS reload failed; keeping the previous certificate');
    }
  });
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
  // The banner comes last: whoever waits for it may signal at once, and the handlers are in place.
  const lines = [`Herald listening on ${herald.url} (WebSocket ${herald.url.replace('http', 'ws')}${loaded.config.wsPath}/app/{key}, HTTP API ${herald.url}/apps/{id})`];
  if (loaded.usingDevelopmentApp && herald.apps.byId(loaded.apps[0]!.id)) {
    const app = loaded.apps[0]!;
    lines.push(
      `No app configured: started with a DEVELOPMENT app — not for production.`,
      `  app id:     ${app.id}`,
      `  app key:    ${app.key}`,
      `  app secret: ${app.secret}`,
      `Configure your own with HERALD_APP_ID, HERALD_APP_KEY and HERALD_APP_SECRET (see docs/configuration.md).`,
    );
  } else {
    lines.push(`Apps: ${herald.apps.list().map((a) => `${a.id} (key ${a.key})`).join(', ')}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'start') return start(rest);
  const extra = extraCommands.find((c) => c.name === command);
  if (extra) {
    const code = await extra.run(rest);
    process.exit(code);
  }
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return;
  }
  process.stderr.write(`herald: unknown command "${command}"\n\n${USAGE}`);
  process.exit(2);
}

await main();
