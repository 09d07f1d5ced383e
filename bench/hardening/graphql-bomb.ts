/**
 * How much anonymous GraphQL work stalls everyone else (docs/hardening.md, issue 20 item 1).
 *
 *   node --import tsx bench/hardening/graphql-bomb.ts [--parallel 16] [--rounds 5]
 *
 * Starts `herald start` as a child process, then per round fires `--parallel` requests at once
 * without credentials while a prober asks GET /health back to back; prints the worst /health
 * answer time during the burst next to the worst one while idle. Three kinds of burst:
 *   bomb      the 8 KB query of 90 aliased `__schema { types { fields { args … } } }` walks
 *   full      getIntrospectionQuery(), each request made different (defeats the answer cache)
 *   full-ips  the same, each request from its own loopback address (127.0.0.2, …), so the
 *             per-address rate limit does not apply: the worst case for many attackers
 */
import http from 'node:http';
import { getIntrospectionQuery } from 'graphql';
import { startChildHerald } from './child-herald.js';

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
}
const PARALLEL = flag('parallel', 16);
const ROUNDS = flag('rounds', 5);

const WALK = '__schema { types { name fields { name args { name type { name ofType { name } } } } } }';
const BOMB = `{ ${Array.from({ length: 90 }, (_, i) => `a${i}: ${WALK}`).join(' ')} }`;

function post(port: number, query: string, localAddress?: string): Promise<number> {
  return new Promise((done, fail) => {
    const body = JSON.stringify({ query });
    const req = http.request(
      { host: '127.0.0.1', port, path: '/graphql', method: 'POST', localAddress, agent: false, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => done(res.statusCode ?? 0));
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}

function health(port: number): Promise<number> {
  return new Promise((done, fail) => {
    const started = performance.now();
    http
      .get({ host: '127.0.0.1', port, path: '/health', agent: false }, (res) => {
        res.resume();
        res.on('end', () => done(performance.now() - started));
      })
      .on('error', fail);
  });
}

/** Worst /health time while `work` runs (probing back to back until it settles). */
async function worstHealthDuring(port: number, work: Promise<unknown>): Promise<number> {
  let settled = false;
  void work.finally(() => (settled = true));
  let worst = 0;
  do worst = Math.max(worst, await health(port));
  while (!settled);
  await work;
  return worst;
}

async function main(): Promise<void> {
  const server = await startChildHerald();
  const kinds: Record<string, (i: number, round: number) => Promise<number>> = {
    bomb: () => post(server.port, BOMB),
    full: (i, round) => post(server.port, `${getIntrospectionQuery()} # ${round}-${i}`),
    'full-ips': (i, round) => post(server.port, `${getIntrospectionQuery()} # ${round}-${i}`, `127.0.${round + 1}.${i + 2}`),
  };
  try {
    for (let i = 0; i < 20; i++) await health(server.port); // warm-up
    console.log(`${PARALLEL} parallel requests without credentials, ${ROUNDS} rounds; worst GET /health ms per round`);
    for (const [kind, send] of Object.entries(kinds)) {
      const idle: number[] = [];
      const busy: number[] = [];
      const statuses = new Map<number, number>();
      for (let round = 0; round < ROUNDS; round++) {
        idle.push(await worstHealthDuring(server.port, new Promise((r) => setTimeout(r, 200))));
        const burst = Promise.all(Array.from({ length: PARALLEL }, (_, i) => send(i, round))).then((codes) => {
          for (const code of codes) statuses.set(code, (statuses.get(code) ?? 0) + 1);
        });
        busy.push(await worstHealthDuring(server.port, burst));
        await new Promise((r) => setTimeout(r, 1100)); // the per-address budget refills
      }
      const fmt = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(' ');
      console.log(`${kind.padEnd(9)} idle: ${fmt(idle)} | burst: ${fmt(busy)} | statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
    }
  } finally {
    await server.stop();
  }
}

await main();
