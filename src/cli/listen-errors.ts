/** Explains why the server could not listen, in one line an operator can act on. */
import type { HeraldConfig } from '../config/schema.js';

/** The message for a listen error (EADDRINUSE, EACCES, EADDRNOTAVAIL), or undefined for any other error. */
export function describeListenError(err: NodeJS.ErrnoException & { port?: number; address?: string }, config: HeraldConfig): string | undefined {
  const port = err.port ?? config.port;
  const host = err.address ?? config.host;
  const which = config.metricsPort !== undefined && port === config.metricsPort && port !== config.port ? 'metrics port' : 'port';
  const setting = which === 'metrics port' ? '--metrics-port / HERALD_METRICS_PORT' : '--port / HERALD_PORT';
  switch (err.code) {
    case 'EADDRINUSE':
      return (
        `${which} ${port} on ${host} is already in use: another Herald (or another program) is listening there. ` +
        `Stop it (\`ss -ltnp 'sport = :${port}'\` shows which process) or choose another port with ${setting}.`
      );
    case 'EACCES':
      return `not allowed to listen on ${which} ${port} on ${host}: ports below 1024 need root or CAP_NET_BIND_SERVICE; choose another port with ${setting}.`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${host}:${port}: ${host} is not an address of this machine; check --host / HERALD_HOST.`;
    default:
      return undefined;
  }
}
