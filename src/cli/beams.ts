/** `herald beams create|list|show|update|rotate-secret|delete` (docs/beams.md). */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { readLock } from '../apps/data-dir.js';
import { CliError, reportCliFailure, type CliCommand } from './command.js';
import { lastValue, parseCommandArgs, type ParsedArgs } from './args.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { DirectBeamsBackend, HttpBeamsBackend, type BeamsBackend, type InstanceView } from './beams-backend.js';
import type { InstanceInput } from '../beams/instances.js';

export const USAGE = `Usage: herald beams <command> [instance id] [options]

Commands:
  list                       List Beams instances
  show <id>                  Show one instance (secret key included; provider private keys hidden)
  create [fields]            Create an instance (id and secret key generated unless given;
                             a VAPID key pair is generated unless given)
  update <id> [fields]       Change provider credentials or limits; only the fields given change
  rotate-secret <id>         Issue a new secret key (the old one stops working at once)
  delete <id> --yes          Delete an instance with all its devices and publishes

Fields (create / update):
  --id <id>  --name <name>  --secret-key <key>
  APNs:  --apns-key-file <AuthKey.p8>  --apns-key-id <id>  --apns-team-id <id>
         --apns-topic <bundle id>  --apns-environment <production|development>
         --apns-endpoint <url>       (default: Apple's endpoint for the environment)
         --remove-apns
  FCM:   --fcm-service-account <service-account.json>  --fcm-endpoint <url>  --remove-fcm
  Web:   --vapid-public-key <b64url> --vapid-private-key <b64url>  --vapid-subject <mailto:|https:>
         --web-allowed-hosts <host,.suffix,...|*>  --web-allow-insecure <true|false>
  --publish-rate <n>         Publish API requests per second (default 100, 0 = unlimited)

Where the commands go:
  --url <url> / HERALD_URL   a running Herald's admin API (with --admin-token / HERALD_ADMIN_TOKEN)
  --database-url <url> / HERALD_DATABASE_URL   PostgreSQL, directly
  --data-dir <dir> / HERALD_DATA_DIR           embedded store, directly (default ./.herald)
  --config <file>            same configuration file as \`herald start\`
Output: YAML, or --json.
`;

const VALUE_OPTIONS = new Set([
  '--url', '--admin-token', '--data-dir', '--database-url', '--config', '--id', '--name', '--secret-key',
  '--apns-key-file', '--apns-key-id', '--apns-team-id', '--apns-topic', '--apns-environment', '--apns-endpoint',
  '--fcm-service-account', '--fcm-endpoint', '--vapid-public-key', '--vapid-private-key', '--vapid-subject',
  '--web-allowed-hosts', '--web-allow-insecure', '--publish-rate',
]);
const FLAG_OPTIONS = new Set(['--json', '--yes', '--remove-apns', '--remove-fcm', '--help', '-h']);

type Parsed = ParsedArgs;

function parseArgs(argv: string[]): Parsed {
  return parseCommandArgs(argv, { command: 'beams', valueOptions: VALUE_OPTIONS, flagOptions: FLAG_OPTIONS });
}

function readText(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`${flag} ${file}: ${(err as Error).message}`, 2);
  }
}

/** Instance fields from flags; APNs fields are merged with the current ones on update. */
function instanceFields(p: Parsed, current?: InstanceView): InstanceInput {
  const v = (name: string) => lastValue(p, name);
  const input: InstanceInput = {};
  if (v('--id') !== undefined) input.id = v('--id');
  if (v('--name') !== undefined) input.name = v('--name');
  if (v('--secret-key') !== undefined) input.secretKey = v('--secret-key');

  const apnsFlags = ['--apns-key-file', '--apns-key-id', '--apns-team-id', '--apns-topic', '--apns-environment', '--apns-endpoint'];
  if (p.flags.has('--remove-apns')) input.apns = null;
  else if (apnsFlags.some((f) => v(f) !== undefined)) {
    const file = v('--apns-key-file');
    const existing = (current?.apns ?? undefined) as Record<string, string> | undefined;
    if (!file) throw new CliError('APNs settings need --apns-key-file (the .p8 key) together with --apns-key-id and --apns-team-id', 2);
    input.apns = {
      privateKey: readText(file, '--apns-key-file'),
      keyId: v('--apns-key-id') ?? existing?.keyId ?? '',
      teamId: v('--apns-team-id') ?? existing?.teamId ?? '',
      ...(v('--apns-topic') ?? existing?.topic ? { topic: v('--apns-topic') ?? existing?.topic } : {}),
      ...(v('--apns-environment') ? { environment: v('--apns-environment') as 'production' | 'development' } : {}),
      ...(v('--apns-endpoint') ? { endpoint: v('--apns-endpoint') } : {}),
    };
  }
  if (p.flags.has('--remove-fcm')) input.fcm = null;
  else if (v('--fcm-service-account') !== undefined) {
    let account: unknown;
    try {
      account = JSON.parse(readText(v('--fcm-service-account')!, '--fcm-service-account'));
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw new CliError(`--fcm-service-account: not JSON (${(err as Error).message})`, 2);
    }
    input.fcm = { serviceAccount: account as never, ...(v('--fcm-endpoint') ? { endpoint: v('--fcm-endpoint') } : {}) };
  } else if (v('--fcm-endpoint') !== undefined) {
    throw new CliError('--fcm-endpoint needs --fcm-service-account', 2);
  }

  const web: Record<string, unknown> = {};
  if (v('--vapid-public-key') !== undefined) web.vapidPublicKey = v('--vapid-public-key');
  if (v('--vapid-private-key') !== undefined) web.vapidPrivateKey = v('--vapid-private-key');
  if (v('--vapid-subject') !== undefined) web.vapidSubject = v('--vapid-subject');
  if (v('--web-allowed-hosts') !== undefined) web.allowedEndpointHosts = v('--web-allowed-hosts')!.split(',').map((s) => s.trim()).filter(Boolean);
  const insecure = v('--web-allow-insecure');
  if (insecure !== undefined) {
    if (!/^(true|false)$/.test(insecure)) throw new CliError('--web-allow-insecure: expected true or false', 2);
    web.allowInsecureEndpoints = insecure === 'true';
  }
  if (Object.keys(web).length > 0) input.web = web as InstanceInput['web'];
  const rate = v('--publish-rate');
  if (rate !== undefined) {
    if (!/^\d{1,6}$/.test(rate)) throw new CliError('--publish-rate: expected a whole number', 2);
    input.limits = { publishesPerSecond: Number(rate) };
  }
  return input;
}

async function openBackend(p: Parsed, env: NodeJS.ProcessEnv, stderr: (s: string) => void): Promise<BeamsBackend> {
  const configArgv: string[] = [];
  for (const name of ['--data-dir', '--database-url', '--config', '--admin-token']) {
    const value = lastValue(p, name);
    if (value !== undefined) configArgv.push(name, value);
  }
  let config;
  try {
    config = loadConfig({ argv: configArgv, env }).config;
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, 2);
    throw err;
  }
  const token = config.adminToken;
  const url = lastValue(p, '--url') ?? (env.HERALD_URL || undefined);
  if (url) {
    if (!token) throw new CliError('--url needs the admin token: --admin-token <token> or HERALD_ADMIN_TOKEN', 2);
    return new HttpBeamsBackend(url, token);
  }
  if (config.databaseUrl) return DirectBeamsBackend.open({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const dataDir = resolve(config.dataDir);
  const holder = readLock(dataDir);
  if (holder?.holder === 'server' && holder.url && token) {
    stderr(`herald: a Herald (pid ${holder.pid}) is using ${dataDir}; sending the command to its admin API at ${holder.url}\n`);
    return new HttpBeamsBackend(holder.url, token);
  }
  if (holder) {
    throw new CliError(
      `The embedded store in ${dataDir} is in use (pid ${holder.pid}${holder.url ? `, ${holder.url}` : ''}); PGlite allows one process at a time.\n` +
        `Use the running server: herald beams … --url ${holder.url ?? 'http://127.0.0.1:6001'} --admin-token <token>, or stop it first.`,
    );
  }
  return DirectBeamsBackend.open({ dataDir });
}

export async function runBeams(argv: string[], io: { stdout: (s: string) => void; stderr: (s: string) => void; env: NodeJS.ProcessEnv }): Promise<number> {
  let backend: BeamsBackend | undefined;
  try {
    const p = parseArgs(argv);
    const [command, id, ...extra] = p.positional;
    if (!command || command === 'help' || p.flags.has('--help') || p.flags.has('-h')) {
      io.stdout(USAGE);
      return command || p.flags.size > 0 ? 0 : 2;
    }
    const needsId = ['show', 'update', 'rotate-secret', 'delete'].includes(command);
    if (!needsId && command !== 'list' && command !== 'create') throw new CliError(`Unknown beams command "${command}"\n\n${USAGE}`, 2);
    if (needsId && !id) throw new CliError(`herald beams ${command} needs an instance id`, 2);
    if ((needsId ? extra : [id, ...extra].filter(Boolean)).length > 0) throw new CliError(`Unexpected argument "${(needsId ? extra : [id])[0]}"`, 2);
    if (command === 'delete' && !p.flags.has('--yes')) throw new CliError(`Deleting instance ${id} deletes all its devices; add --yes to confirm`, 2);
    const json = p.flags.has('--json');
    const out = (value: unknown, heading?: string) => io.stdout(json ? JSON.stringify(value, null, 2) + '\n' : `${heading ? `${heading}\n` : ''}${toYaml(value)}`);

    backend = await openBackend(p, io.env, io.stderr);
    switch (command) {
      case 'list':
        out({ instances: await backend.list() });
        break;
      case 'show':
        out(await backend.show(id!));
        break;
      case 'create': {
        const created = await backend.create(instanceFields(p));
        out(created, `# Created Beams instance ${created.id} in the ${backend.description}`);
        break;
      }
      case 'update': {
        const current = await backend.show(id!);
        const patch = instanceFields(p, current);
        if (patch.id !== undefined && patch.id !== id) throw new CliError('The instance id cannot be changed', 2);
        if (Object.keys(patch).length === 0) throw new CliError('Nothing to update: give fields such as --apns-key-file or --publish-rate', 2);
        out(await backend.update(id!, patch), `# Updated Beams instance ${id}`);
        break;
      }
      case 'rotate-secret':
        out(await backend.rotateSecret(id!), `# New secret key for Beams instance ${id} (the old one no longer works)`);
        break;
      case 'delete':
        await backend.remove(id!);
        out({ deleted: id });
        break;
    }
    return 0;
  } catch (err) {
    return reportCliFailure('beams', err, io.stderr);
  } finally {
    await backend?.close();
  }
}

export const beamsCommand: CliCommand = {
  name: 'beams',
  summary: 'Manage Beams (push) instances: create, list, show, update, rotate-secret, delete',
  run: (argv) => runBeams(argv, { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s), env: process.env }),
};
