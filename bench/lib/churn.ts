/**
 * Presence churn (scenario f): connected "churner" clients repeatedly join a presence channel, stay
 * `holdMs`, and leave — usually by unsubscribing, every Nth time by dropping the connection and
 * reconnecting (a leave through disconnect takes a different server path). Each join's
 * subscribe → subscription_succeeded round trip is recorded; member_added/removed fan out to the
 * stable members, whose event latency the runner measures at the same time.
 */
import { Histogram } from './histogram.js';
import { nowMillis } from './payload.js';
import type { BenchClient } from './ws-client.js';
import type { ChurnCommand, ChurnResult } from './messages.js';
import { roundRobin } from './round-robin.js';

export async function runChurn(churners: BenchClient[], command: ChurnCommand): Promise<ChurnResult> {
  const joinTimes = new Histogram();
  const idle: BenchClient[] = churners.filter((c) => c.isOpen);
  const holding = new Set<BenchClient>();
  const start = nowMillis();
  const deadline = start + command.durationMs;
  let joinsStarted = 0;
  let joins = 0;
  let leaves = 0;
  let failures = 0;
  let firstError: string | undefined;
  let generation = 0; // makes each join's user id unique, so every join is a new member
  let inProgress = 0;

  const fail = (error: unknown) => {
    failures++;
    firstError ??= (error as Error)?.message ?? String(error);
  };

  const reconnect = async (client: BenchClient) => {
    try {
      await client.close();
      await client.connect();
      idle.push(client);
    } catch (error) {
      fail(error);
    }
  };

  const leave = (client: BenchClient) => {
    holding.delete(client);
    leaves++;
    if (command.disconnectEvery > 0 && leaves % command.disconnectEvery === 0) {
      inProgress++;
      void reconnect(client).finally(() => inProgress--);
    } else {
      client.unsubscribe();
      idle.push(client);
    }
  };

  const join = (client: BenchClient) => {
    const channel = roundRobin(command.channels, joinsStarted, 'churn channels');
    joinsStarted++;
    const userId = `churn-${client.index}-${generation++}`;
    const t0 = nowMillis();
    inProgress++;
    client
      .subscribe(channel, userId)
      .then(
        () => {
          joinTimes.recordMillis(nowMillis() - t0);
          joins++;
          holding.add(client);
          setTimeout(() => leave(client), command.holdMs);
        },
        (error) => {
          fail(error);
          inProgress++;
          void reconnect(client).finally(() => inProgress--);
        },
      )
      .finally(() => inProgress--);
  };

  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = nowMillis();
      if (now >= deadline) {
        resolve();
        return;
      }
      const due = Math.floor(((now - start) / 1000) * command.joinsPerSecond);
      while (joinsStarted < due && idle.length > 0) join(idle.shift()!);
      setTimeout(tick, 5);
    };
    tick();
  });

  // Let joins and holds in progress finish so the server ends with no churn members.
  const settleBy = nowMillis() + command.holdMs + 5000;
  while ((holding.size > 0 || inProgress > 0) && nowMillis() < settleBy) await new Promise((r) => setTimeout(r, 20));
  return { joins, leaves, failures, firstError, joinTimes: joinTimes.toJSON() };
}
