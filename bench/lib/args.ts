/** Command line of `npm run bench`. */
import type { RunOptions } from './results.js';

export const USAGE = `Usage: npm run bench -- [options]

  --scenario a,b,…     scenarios to run (default: a,b,c,d,e,f,g,gc,gk,idle; "all" = the same; "huge" only when named)
  --duration S         measured seconds per scenario (default: each scenario's own, 10–15 s)
  --warmup S           warm-up seconds before measuring (default 20 for the paced a, b, f, g, after a 3 s
                       burst of publishes to unsubscribed channels; 2 for c, e; 0 skips both)
  --json FILE          also write the results as JSON
  --workers N          load generator processes (default 2)
  --server-workers L   Herald worker processes (herald start --workers), a comma-separated list:
                       scenarios e, g, gc and gk run once per entry, the others with the first entry
                       (default 1,2: e, g, gc and gk with 1 and 2 workers in the same run, the rest with 1)
  --payload-bytes N    event data size (default 100)
  --profile            CPU-profile the server during each measured phase (through its inspector),
                       save the .cpuprofile and print the functions with the most self time
  --server-node-args "…"  extra node flags for the server process(es)
  --target HOST:PORT   benchmark a running server (comma-separated for several nodes) instead of
                       starting Herald; CPU and memory need --server-pid PID[,PID…]
  --app-id/--app-key/--app-secret  credentials of that server's app (default bench / bench-key / bench-secret-0123)
  --compiled           the floor server as compiled JavaScript (tsc) instead of through tsx; Herald
                       always runs from dist/ (built first with \`npm run build\`), as users run it
  --reference          benchmark the reference floor server (bench/reference/floor-server.ts, no
                       Herald code: the least work a server must do per delivery) instead of Herald,
                       to see how much of a figure is this machine's floor; not with --target
  --database-url URL   PostgreSQL for the started server(s) instead of the embedded store; the
                       embedded store's WebAssembly memory makes RSS readings noisy (±30 MB)
  --connections N      connections for --scenario huge (default 100000)
  --nodes N            server nodes for --scenario huge (default: as many as the open-files limit requires)
  --help
`;

const STANDARD = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'gc', 'gk', 'idle'];
const KNOWN = [...STANDARD, 'huge'];

export function parseArgs(argv: string[], root: string): RunOptions {
  const options: RunOptions = {
    root,
    scenarios: STANDARD,
    workers: 2,
    serverWorkers: [1, 2],
    payloadBytes: 100,
    targets: [],
    serverPids: [],
    appId: 'bench',
    appKey: 'bench-key',
    appSecret: 'bench-secret-0123',
    profile: false,
    reference: false,
    compiled: false,
    serverNodeArgs: [],
    hugeConnections: 100_000,
    hugeNodes: 0,
  };
  // Node flags are values of --server-node-args, so only that option may take a value starting with --.
  const value = (i: number, name: string, mayLookLikeAFlag = false) => {
    const v = argv[i + 1];
    if (v === undefined || (v.startsWith('--') && !mayLookLikeAFlag)) throw new Error(`${name} needs a value`);
    return v;
  };
  const number = (i: number, name: string, min: number, max: number) => {
    const n = Number(value(i, name));
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`${name} must be a number between ${min} and ${max}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    switch (arg) {
      case '--scenario':
      case '--scenarios': {
        const list = value(i++, arg).split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
        const expanded = list.flatMap((s) => (s === 'all' ? STANDARD : [s]));
        const unknown = expanded.filter((s) => !KNOWN.includes(s));
        if (unknown.length > 0) throw new Error(`Unknown scenario(s) ${unknown.join(', ')}; known: ${KNOWN.join(', ')}`);
        options.scenarios = [...new Set(expanded)];
        break;
      }
      case '--duration':
        options.durationS = number(i++, arg, 1, 3600);
        break;
      case '--warmup':
        options.warmupS = number(i++, arg, 0, 600);
        break;
      case '--json':
        options.jsonPath = value(i++, arg);
        break;
      case '--workers':
        options.workers = Math.floor(number(i++, arg, 1, 64));
        break;
      case '--server-workers':
        options.serverWorkers = value(i++, arg).split(',').map((w) => {
          const n = Number(w);
          if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`--server-workers: "${w}" is not a number of workers from 1 to 64`);
          return n;
        });
        break;
      case '--payload-bytes':
        options.payloadBytes = Math.floor(number(i++, arg, 45, 10_000));
        break;
      case '--profile':
        options.profile = true;
        break;
      case '--reference':
        options.reference = true;
        break;
      case '--compiled':
        options.compiled = true;
        break;
      case '--server-node-args':
        options.serverNodeArgs = value(i++, arg, true).split(/\s+/).filter(Boolean);
        break;
      case '--target':
        options.targets = value(i++, arg).split(',').filter(Boolean);
        break;
      case '--server-pid':
        options.serverPids = value(i++, arg).split(',').map((p) => {
          const pid = Number(p);
          if (!Number.isInteger(pid) || pid <= 0) throw new Error(`--server-pid: "${p}" is not a process id`);
          return pid;
        });
        break;
      case '--app-id':
        options.appId = value(i++, arg);
        break;
      case '--app-key':
        options.appKey = value(i++, arg);
        break;
      case '--app-secret':
        options.appSecret = value(i++, arg);
        break;
      case '--database-url':
        options.databaseUrl = value(i++, arg);
        if (!/^postgres(ql)?:\/\//.test(options.databaseUrl)) throw new Error('--database-url must be a postgres:// URL');
        break;
      case '--connections':
        options.hugeConnections = Math.floor(number(i++, arg, 1, 1_000_000));
        break;
      case '--nodes':
        options.hugeNodes = Math.floor(number(i++, arg, 1, 64));
        break;
      case '--help':
      case '-h':
        throw new HelpRequested();
      default:
        throw new Error(`Unknown option ${arg}`);
    }
  }
  if (options.compiled && options.targets.length > 0) throw new Error('--compiled starts its own server: it cannot be combined with --target');
  if (options.reference && options.targets.length > 0) throw new Error('--reference starts its own server: it cannot be combined with --target');
  if (options.reference && options.databaseUrl) throw new Error('--reference: the floor server has no store, --database-url does not apply');
  // The floor server and an external target are one process each: no worker comparison.
  if (options.reference || options.targets.length > 0) options.serverWorkers = [1];
  return options;
}

export class HelpRequested extends Error {
  constructor() {
    super('help');
  }
}
