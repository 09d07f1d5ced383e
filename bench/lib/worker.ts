/**
 * Load generator process. The runner forks a few of these (so the generator can use the second
 * core) and drives them over IPC: each holds a slice of the WebSocket clients, measures delivery
 * latency and loss for them, and can also run an HTTP publisher or presence churn.
 */
import { BenchClient, type ClientSink } from './ws-client.js';
import { Histogram } from './histogram.js';
import { nowMillis, type BenchPayload } from './payload.js';
import { Publisher } from './publisher.js';
import { roundRobin } from './round-robin.js';
import { runChurn } from './churn.js';
import type {
  CollectCommand,
  CollectResult,
  ConnectCommand,
  ConnectResult,
  ProgressReport,
  ReplyEnvelope,
  RequestEnvelope,
  WorkerCommand,
} from './messages.js';

const CONNECT_ATTEMPTS = 3;

class GeneratorWorker implements ClientSink {
  subscribers: BenchClient[] = [];
  churners: BenchClient[] = [];
  private phase = 0;
  private latency = new Histogram();
  private deliveries = 0;
  private memberEvents = 0;
  private stale = 0;
  private protocolErrors = 0;
  private firstProtocolError: string | undefined;
  private unexpectedCloses = 0;
  private progressTimer: NodeJS.Timeout | undefined;

  onBench(client: BenchClient, payload: BenchPayload, receivedAt: number): void {
    if (payload.phase !== this.phase) {
      this.stale++;
      return;
    }
    this.deliveries++;
    this.latency.recordMillis(receivedAt - payload.sentAt);
    client.sequence.record(payload.seq);
  }

  onMemberEvent(): void {
    this.memberEvents++;
  }

  onProtocolError(_client: BenchClient, message: string): void {
    this.protocolErrors++;
    this.firstProtocolError ??= message;
  }

  onUnexpectedClose(): void {
    this.unexpectedCloses++;
  }

  async connect(command: ConnectCommand): Promise<ConnectResult> {
    const started = nowMillis();
    const setupTimes = new Histogram();
    let failed = 0;
    let firstError: string | undefined;
    const clients: BenchClient[] = [];
    for (let i = 0; i < command.count; i++) {
      const index = command.firstIndex + i;
      const localAddress = command.sourceAddresses.length > 0 ? command.sourceAddresses[index % command.sourceAddresses.length] : undefined;
      const url = roundRobin(command.urls, index, 'server URLs');
      clients.push(new BenchClient(index, { url, key: command.key, secret: command.secret, localAddress, timeoutMs: command.timeoutMs }, this));
    }
    const setUp = async (client: BenchClient) => {
      const channel = command.channels.length > 0 ? command.channels[client.index % command.channels.length] : undefined;
      let lastError: unknown;
      for (let attempt = 1; attempt <= CONNECT_ATTEMPTS; attempt++) {
        const t0 = nowMillis();
        try {
          await client.connect();
          if (channel !== undefined) await client.subscribe(channel);
          setupTimes.recordMillis(nowMillis() - t0);
          return;
        } catch (error) {
          lastError = error;
          await client.close();
          await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
        }
      }
      failed++;
      firstError ??= (lastError as Error)?.message ?? String(lastError);
    };
    let next = 0;
    const lane = async () => {
      for (let client = clients[next++]; client !== undefined; client = clients[next++]) await setUp(client);
    };
    await Promise.all(Array.from({ length: Math.max(1, command.concurrency) }, lane));
    const open = clients.filter((c) => c.isOpen);
    const group = command.role === 'subscriber' ? this.subscribers : this.churners;
    for (const client of open) group.push(client); // no spread: tens of thousands of arguments
    return { connected: open.length, failed, firstError, elapsedMs: nowMillis() - started, setupTimes: setupTimes.toJSON() };
  }

  reset(phase: number): void {
    this.phase = phase;
    this.latency.reset();
    this.deliveries = 0;
    this.memberEvents = 0;
    this.stale = 0;
    this.protocolErrors = 0;
    this.firstProtocolError = undefined;
    this.unexpectedCloses = 0;
    for (const client of this.subscribers) client.resetAccounting();
  }

  /**
   * Per channel, the fewest events any open subscriber has received in this phase; sequence numbers
   * start at 1, so that is how far every subscriber has got (up to reordering).
   */
  minSeqByChannel(): Record<string, number> {
    const min: Record<string, number> = {};
    for (const client of this.subscribers) {
      if (!client.isOpen || client.channel === undefined) continue;
      const current = min[client.channel];
      const received = client.sequence.received;
      if (current === undefined || received < current) min[client.channel] = received;
    }
    return min;
  }

  setProgress(intervalMs: number): void {
    if (this.progressTimer) clearInterval(this.progressTimer);
    this.progressTimer = undefined;
    if (intervalMs <= 0) return;
    this.progressTimer = setInterval(() => {
      const report: ProgressReport = { type: 'progress', minSeq: this.minSeqByChannel(), deliveries: this.deliveries };
      process.send?.(report);
    }, intervalMs);
  }

  async collect(command: CollectCommand): Promise<CollectResult> {
    const deadline = nowMillis() + command.drainTimeoutMs;
    const caughtUp = () =>
      this.subscribers.every(
        (c) => !c.isOpen || c.channel === undefined || c.sequence.received >= (command.lastSeq[c.channel] ?? 0),
      );
    while (!caughtUp() && nowMillis() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    let lost = 0;
    let reordered = 0;
    let duplicates = 0;
    let openClients = 0;
    for (const client of this.subscribers) {
      if (client.isOpen) openClients++;
      reordered += client.sequence.reordered;
      duplicates += client.sequence.duplicates;
      // A subscriber that dropped counts everything it missed as lost.
      const channel = client.accountedChannel ?? '';
      const expected = command.lastSeq[channel] ?? 0;
      lost += Math.max(0, expected - client.sequence.received);
    }
    return {
      deliveries: this.deliveries,
      memberEvents: this.memberEvents,
      latency: this.latency.toJSON(),
      lost,
      reordered,
      duplicates,
      stale: this.stale,
      protocolErrors: this.protocolErrors,
      firstProtocolError: this.firstProtocolError,
      unexpectedCloses: this.unexpectedCloses,
      openClients,
    };
  }

  async close(): Promise<void> {
    this.setProgress(0);
    const all = [...this.subscribers, ...this.churners];
    this.subscribers = [];
    this.churners = [];
    for (let i = 0; i < all.length; i += 500) await Promise.all(all.slice(i, i + 500).map((c) => c.close()));
  }

  async handle(command: WorkerCommand): Promise<unknown> {
    switch (command.type) {
      case 'connect':
        return this.connect(command);
      case 'reset':
        return this.reset(command.phase);
      case 'progress':
        return this.setProgress(command.intervalMs);
      case 'collect':
        return this.collect(command);
      case 'churn':
        return runChurn(this.churners, command);
      case 'publish': {
        const publisher = new Publisher(command.target, command.plan.concurrency);
        try {
          return await publisher.run(command.plan);
        } finally {
          publisher.close();
        }
      }
      case 'close':
        return this.close();
      default:
        throw new Error(`Unknown command ${(command as { type: string }).type}`);
    }
  }
}

const worker = new GeneratorWorker();

process.on('message', (message: RequestEnvelope) => {
  worker.handle(message.command).then(
    (result) => process.send?.({ id: message.id, ok: true, result: result ?? null } satisfies ReplyEnvelope),
    (error: unknown) =>
      process.send?.({ id: message.id, ok: false, error: (error as Error)?.stack ?? String(error) } satisfies ReplyEnvelope),
  );
});

// The runner going away (crash, Ctrl-C) must not leave orphaned generators holding sockets.
process.on('disconnect', () => process.exit(0));
