/**
 * The NATS connection one node uses for both messages and JetStream KV state. The client
 * reconnects forever and re-subscribes by itself; health (for /ready) follows its status
 * events, and losing / regaining the server is logged once each.
 */
import { connect, Events, type NatsConnection } from 'nats';
import type { Logger } from '../platform/logger.js';
import { retryUntilConnected, StartupTimeoutError } from '../platform/startup-retry.js';
import { redactUrl } from './redis-link.js';

export interface NatsLinkOptions {
  url: string;
  logger: Logger;
  connectTimeoutMs?: number;
  /** Longest wait for NATS to become reachable at start, retrying (0 or undefined: forever). */
  startupTimeoutMs?: number;
}

export class NatsLink {
  private connection: NatsConnection | undefined;
  private up = false;
  private readonly listeners = new Set<(up: boolean) => void>();
  private starting: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: NatsLinkOptions) {}

  get nc(): NatsConnection {
    if (!this.connection) throw new Error('NATS is not connected yet');
    return this.connection;
  }

  /** Connects once (the broker and the cluster state both call it). */
  start(): Promise<void> {
    this.starting ??= this.connect();
    return this.starting;
  }

  private async connect(): Promise<void> {
    const servers = this.options.url.split(',').map((s) => s.trim()).filter(Boolean);
    try {
      // Not reachable yet: retried with back-off, one log line per attempt (src/platform/startup-retry.ts).
      this.connection = await retryUntilConnected(
        () =>
          connect({
            servers,
            name: 'herald',
            timeout: this.options.connectTimeoutMs ?? 10_000,
            maxReconnectAttempts: -1,
            reconnectTimeWait: 500,
            pingInterval: 5000,
            maxPingOut: 2,
          }),
        { dependency: 'NATS', where: servers.map(redactUrl).join(', '), logger: this.options.logger, timeoutMs: this.options.startupTimeoutMs, cancelled: () => this.stopped },
      );
    } catch (err) {
      this.starting = undefined;
      if (err instanceof StartupTimeoutError) throw err;
      throw new Error(`cannot reach NATS at ${servers.map(redactUrl).join(', ')}: ${(err as Error).message}`);
    }
    this.up = true;
    this.options.logger.info({ nats: servers.map(redactUrl), server: this.connection.info?.version }, 'connected to NATS');
    void this.watchStatus(this.connection);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const nc = this.connection;
    this.connection = undefined;
    this.up = false;
    if (nc && !nc.isClosed()) await nc.drain().catch(() => nc.close());
  }

  healthy(): boolean {
    return this.up && this.connection !== undefined && !this.connection.isClosed();
  }

  onHealthChange(listener: (up: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === Events.Disconnect && this.up) {
        this.up = false;
        this.options.logger.error('lost the NATS connection: cluster messages and state are unavailable, /ready fails until it is back (reconnecting)');
        for (const l of this.listeners) l(false);
      } else if (status.type === Events.Reconnect && !this.up) {
        this.up = true;
        this.options.logger.warn('NATS connection restored; messages published while it was down may not have been delivered across nodes');
        for (const l of this.listeners) l(true);
      }
    }
  }
}
