/** `herald start`: loads the configuration, starts the server and handles signals until it stops. */
import { ConfigError, loadConfig } from '../config/load.js';
import cluster from 'node:cluster';
import type { HeraldConfig } from '../config/schema.js';
import type { Herald } from '../server/herald.js';
import { createLogger, flushLogs, usePrettyLogs, type Logger } from '../platform/logger.js';
import { EXIT_STARTUP_TIMEOUT, StartupTimeoutError } from '../platform/startup-retry.js';
import { DamagedStoreError, EXIT_DAMAGED_STORE } from '../storage/store-check.js';
import { TlsError } from '../server/tls.js';
import { describeListenError } from './listen-errors.js';
import { startIdleCompaction } from '../server/idle-compaction.js';
import { Supervisor } from '../workers/supervisor.js';
import { workerCount } from '../workers/count.js';

export async function runStart(argv: string[], usage: string): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage);
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
  const logger = createLogger(loaded.config.logLevel, usePrettyLogs(loaded.config.logFormat));
  for (const notice of loaded.notices) logger.info(notice);
  for (const warning of loaded.warnings) logger.warn(warning);
  const workers = workerCount(loaded.config.workers);
  if (workers > 1 && cluster.isPrimary) return supervise(loaded.config, workers, logger);
  // Loaded here, not at the top: a supervisor never serves, so it keeps none of this in memory.
  const { startHerald } = await import('../server/herald.js');
  const worker = cluster.isWorker ? (await import('../workers/worker.js')).workerRuntime(loaded.config) : undefined;
  let herald: Herald;
  try {
    herald = await startHerald({
      config: loaded.config,
      apps: loaded.apps,
      developmentAppId: loaded.usingDevelopmentApp ? loaded.apps[0]!.id : undefined,
      logger,
      ...worker?.options,
    });
  } catch (err) {
    // Operator mistakes (bad certificate, port in use) get one clear line, not a stack trace.
    const message = err instanceof TlsError ? err.message : describeListenError(err as NodeJS.ErrnoException, loaded.config);
    if (message) {
      process.stderr.write(`herald: ${message}\n`);
      process.exit(2);
    }
    if (err instanceof StartupTimeoutError) {
      process.stderr.write(`herald: ${err.message}\n`);
      process.exit(EXIT_STARTUP_TIMEOUT);
    }
    if (err instanceof DamagedStoreError) {
      process.stderr.write(`herald: ${err.message}\n`);
      process.exit(EXIT_DAMAGED_STORE);
    }
    throw err;
  }
  // The process, not a Herald instance: one node per process, and tests embedding Herald keep V8's defaults.
  startIdleCompaction();
  handleSignals(herald, logger, loaded.config.shutdownTimeoutMs);
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
  // A worker's banner is printed once by the primary, when every worker listens.
  if (worker) worker.announce(herald.url, lines);
  else process.stdout.write(lines.join('\n') + '\n');
}

/** `herald start --workers N` (N > 1): this process supervises N workers that serve the port. */
function supervise(config: HeraldConfig, workers: number, logger: Logger): void {
  const supervisor = new Supervisor({ config, workers, logger, onListening: (lines) => process.stdout.write(lines.join('\n') + '\n') });
  const stop = (signal: string) => {
    logger.info({ signal }, 'shutting down every worker');
    void supervisor.stop();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => supervisor.reloadTls());
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
  void supervisor.finished.then(async (code) => {
    logger.info('stopped');
    await flushLogs(logger);
    process.exit(code);
  });
  supervisor.start();
}

/** SIGTERM/SIGINT: graceful shutdown (bounded); SIGHUP: reload the TLS certificate. */
function handleSignals(herald: Herald, logger: Logger, shutdownTimeoutMs: number): void {
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), shutdownTimeoutMs + 2000);
    force.unref();
    // The last lines get a bounded chance to reach stdout: a closed or stuck pipe never holds the exit.
    herald.close().then(
      () => {
        logger.info('stopped');
        void flushLogs(logger).then(() => process.exit(0));
      },
      (err) => {
        logger.error({ err }, 'shutdown failed');
        void flushLogs(logger).then(() => process.exit(1));
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  stopWhenNpmGoes(() => shutdown('npm exited'), logger);
  process.on('SIGHUP', () => {
    try {
      const reloaded = herald.reloadTls();
      logger.info(reloaded ? 'TLS certificate reloaded' : 'SIGHUP ignored: TLS is not configured');
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'TLS reload failed; keeping the previous certificate');
    }
  });
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
}

/**
 * Under `npm start` / `npx herald start`, npm does not pass SIGTERM on: killing npm would leave
 * Herald running, orphaned. So when started by npm (npm sets npm_command), Herald watches for its
 * parent to go away and then shuts down as on SIGTERM. Supervisors should run Herald directly.
 */
function stopWhenNpmGoes(stop: () => void, logger: Logger): void {
  if (!process.env.npm_command && !process.env.npm_lifecycle_event) return;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    logger.warn('npm (the parent process) exited without passing its signal on: shutting down; run `herald start` or `node bin/herald.js start` directly under a supervisor');
    stop();
  }, 500);
  timer.unref();
}
