/** `herald apps create|list|show|update|rotate-secret|delete|stats|usage|import` (docs/apps.md). */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { stringify as toYaml } from 'yaml';
import type { AppSummary, AppView } from '../apps/manager.js';
import { readLock } from '../apps/data-dir.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { lastValue, parseCommandArgs, type ParsedArgs } from './args.js';
import { DirectAppsBackend, HttpAppsBackend, type AppsBackend } from './apps-backend.js';
import { CliError, reportCliFailure, type CliCommand } from './command.js';
import { importReport, importSoketiApps, readSoketiFile } from './apps-import.js';

export const USAGE = `Usage: herald apps <command> [app id] [options]

Commands:
  list                       List apps (secrets not shown)
  show <id>                  Show one app, secret included
  create [fields]            Create an app (id, key and secret are generated unless given)
  update <id> [fields]       Change an app; only the fields given change
  rotate-secret <id>         Issue a new secret; the previous key/secret keeps working
                             until dropped (--drop-previous drops it at once)
  delete <id> --yes          Delete an app and its usage history
  stats <id>                 Live connections, today's usage and quotas (running server only)
  usage <id>                 Daily usage history [--days n | --from YYYY-MM-DD --to YYYY-MM-DD]
  import --from-soketi <config.json>
                             Import Soketi's appManager.array.apps (webhooks and limits mapped;
                             reports what has no equivalent). --replace overwrites apps that
                             exist; --dry-run only reports

App fields (create / update):
  --id <id>  --key <key>  --secret <secret>  --name <name>
  --enabled <true|false>           --client-events <true|false>
  --max-connections <n>            Per-node connection limit (limits.maxConnections)
  --connection-quota <n>           Cluster-wide connection quota (quotas.maxConnections)
  --daily-messages <n>             Daily message quota (quotas.dailyMessages)
  --user-auth-required <true|false>
  --webhook <url>                  Webhook endpoint (repeat for several; replaces the list)
  --set <field>=<value>            Any field, e.g. --set limits.maxPresenceMembers=50
                                   (value parsed as JSON when it can be; null resets to default)
  --file <app.json>                Fields from a JSON file (flags override it)
  --drop-previous-credentials      update: stop accepting previous key/secret pairs
rotate-secret: --new-key (issue a new key too), --drop-previous

Where the commands go:
  --url <url> / HERALD_URL                 a running Herald's admin API (with --admin-token /
                                           HERALD_ADMIN_TOKEN); needed when a Herald is running
                                           on the embedded store (PGlite is single-process)
  --database-url <url> / HERALD_DATABASE_URL   PostgreSQL, directly
  --data-dir <dir> / HERALD_DATA_DIR           embedded store, directly (default ./.herald)
  --config <file>                          same configuration file as \`herald start\`
Output: --json for machine-readable output.
`;

type Parsed = ParsedArgs;

const VALUE_OPTIONS = new Set([
  '--url', '--admin-token', '--data-dir', '--database-url', '--config', '--id', '--key', '--secret', '--name', '--enabled',
  '--client-events', '--max-connections', '--connection-quota', '--daily-messages', '--user-auth-required', '--webhook', '--set',
  '--file', '--from', '--to', '--days', '--from-soketi',
]);
const FLAG_OPTIONS = new Set(['--json', '--yes', '--new-key', '--drop-previous', '--drop-previous-credentials', '--replace', '--dry-run', '--help', '-h']);

export function parseArgs(argv: string[]): Parsed {
  return parseCommandArgs(argv, { command: 'apps', valueOptions: VALUE_OPTIONS, flagOptions: FLAG_OPTIONS });
}

const last = lastValue;

function bool(p: Parsed, name: string): boolean | undefined {
  const raw = last(p, name);
  if (raw === undefined) return undefined;
  if (['true', '1', 'yes', 'on'].includes(raw.toLowerCase())) return true;
  if (['false', '0', 'no', 'off'].includes(raw.toLowerCase())) return false;
  throw new CliError(`${name}: expected true or false, got "${raw}"`, 2);
}

function int(p: Parsed, name: string): number | undefined {
  const raw = last(p, name);
  if (raw === undefined) return undefined;
  if (!/^\d{1,15}$/.test(raw)) throw new CliError(`${name}: expected a whole number ≥ 0, got "${raw}"`, 2);
  return Number(raw);
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  if (parts.length > 3 || parts.some((x) => !/^[A-Za-z][A-Za-z0-9]*$/.test(x))) throw new CliError(`--set: bad field name "${path}"`, 2);
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== 'object' || node[part] === null || Array.isArray(node[part])) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts.at(-1)!] = value;
}

/** The app fields given on the command line (file, then flags, then --set). */
export function appFields(p: Parsed): Record<string, unknown> {
  let body: Record<string, unknown> = {};
  const file = last(p, '--file');
  if (file) {
    try {
      body = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new CliError(`--file ${file}: ${(err as Error).message}`, 2);
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new CliError(`--file ${file}: must contain a JSON object`, 2);
  }
  const put = (path: string, value: unknown) => value !== undefined && setPath(body, path, value);
  put('id', last(p, '--id'));
  put('key', last(p, '--key'));
  put('secret', last(p, '--secret'));
  put('name', last(p, '--name'));
  put('enabled', bool(p, '--enabled'));
  put('clientEvents', bool(p, '--client-events'));
  put('limits.maxConnections', int(p, '--max-connections'));
  put('quotas.maxConnections', int(p, '--connection-quota'));
  put('quotas.dailyMessages', int(p, '--daily-messages'));
  put('userAuthentication.required', bool(p, '--user-auth-required'));
  const webhooks = p.values.get('--webhook');
  if (webhooks) body.webhooks = webhooks.map((url) => ({ url }));
  if (p.flags.has('--drop-previous-credentials')) body.extraCredentials = [];
  for (const assignment of p.values.get('--set') ?? []) {
    const eq = assignment.indexOf('=');
    if (eq <= 0) throw new CliError(`--set expects field=value, got "${assignment}"`, 2);
    const raw = assignment.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      /* a plain string */
    }
    setPath(body, assignment.slice(0, eq), value);
  }
  return body;
}

/** Picks the admin API, PostgreSQL or the embedded store, from flags, environment and config. */
async function openBackend(p: Parsed, env: NodeJS.ProcessEnv, stderr: (s: string) => void): Promise<AppsBackend> {
  const configArgv: string[] = [];
  for (const name of ['--data-dir', '--database-url', '--config', '--admin-token']) {
    const value = last(p, name);
    if (value !== undefined) configArgv.push(name, value);
  }
  let loaded;
  try {
    loaded = loadConfig({ argv: configArgv, env });
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, 2);
    throw err;
  }
  const { config } = loaded;
  const token = config.adminToken;
  const url = last(p, '--url') ?? (env.HERALD_URL || undefined);
  if (url) {
    if (!token) throw new CliError('--url needs the admin token: --admin-token <token> or HERALD_ADMIN_TOKEN', 2);
    return new HttpAppsBackend(url, token);
  }
  const configApps = loaded.usingDevelopmentApp ? [] : loaded.apps;
  if (config.databaseUrl) return DirectAppsBackend.open({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, configApps });

  const dataDir = resolve(config.dataDir);
  const holder = readLock(dataDir);
  if (holder?.holder === 'server' && holder.url && token) {
    stderr(`herald: a Herald (pid ${holder.pid}) is using ${dataDir}; sending the command to its admin API at ${holder.url}\n`);
    return new HttpAppsBackend(holder.url, token);
  }
  if (holder) {
    throw new CliError(
      `The embedded store in ${dataDir} is in use by ${holder.holder === 'server' ? 'a running Herald' : 'another herald command'} (pid ${holder.pid}${holder.url ? `, ${holder.url}` : ''}).\n` +
        'PGlite can be opened by one process at a time, so manage apps through the running server instead:\n' +
        `  herald apps … --url ${holder.url ?? 'http://127.0.0.1:6001'} --admin-token <token>   (or HERALD_URL / HERALD_ADMIN_TOKEN)\n` +
        '(the server needs HERALD_ADMIN_TOKEN set for its admin API), or stop it first.',
    );
  }
  return DirectAppsBackend.open({ dataDir, configApps });
}

function summaryTable(apps: AppSummary[]): string {
  if (apps.length === 0) return 'No apps.\n';
  const rows = [['ID', 'KEY', 'NAME', 'ENABLED', 'SOURCE'], ...apps.map((a) => [a.id, a.key, a.name ?? '', a.enabled ? 'yes' : 'no', a.source])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

function appText(app: AppView, heading?: string): string {
  const lines = heading ? [heading] : [];
  lines.push(`  app id:  ${app.id}`, `  key:     ${app.key}`, `  secret:  ${app.secret}`);
  if (app.name) lines.push(`  name:    ${app.name}`);
  lines.push(`  enabled: ${app.enabled ? 'yes' : 'no'}   source: ${app.source}`);
  if (app.extraCredentials.length > 0) {
    const keys = [...new Set(app.extraCredentials.map((c) => c.key))].join(', ');
    lines.push(`  previous key/secret pairs still accepted: ${app.extraCredentials.length} (keys: ${keys})`);
  }
  return lines.join('\n') + '\n';
}

export async function runApps(argv: string[], io: { stdout: (s: string) => void; stderr: (s: string) => void; env: NodeJS.ProcessEnv }): Promise<number> {
  let backend: AppsBackend | undefined;
  try {
    const p = parseArgs(argv);
    const [command, id, ...extra] = p.positional;
    if (!command || p.flags.has('--help') || p.flags.has('-h') || command === 'help') {
      io.stdout(USAGE);
      return command || p.flags.size > 0 ? 0 : 2;
    }
    if (command === 'import') return await runImport(p, io);
    const needsId = ['show', 'update', 'rotate-secret', 'delete', 'stats', 'usage'].includes(command);
    if (!needsId && command !== 'list' && command !== 'create') throw new CliError(`Unknown apps command "${command}"\n\n${USAGE}`, 2);
    if (needsId && !id) throw new CliError(`herald apps ${command} needs an app id`, 2);
    if ((needsId ? extra : [id, ...extra].filter(Boolean)).length > 0) throw new CliError(`Unexpected argument "${(needsId ? extra : [id])[0]}"`, 2);
    if (command === 'delete' && !p.flags.has('--yes')) throw new CliError(`Deleting app ${id} also deletes its usage history; add --yes to confirm`, 2);
    const json = p.flags.has('--json');
    const out = (value: unknown, text: () => string) => io.stdout(json ? JSON.stringify(value, null, 2) + '\n' : text());
    const fields = command === 'create' || command === 'update' ? appFields(p) : {};
    if (command === 'update' && Object.keys(fields).length === 0) throw new CliError('Nothing to update: give fields such as --name or --set', 2);

    backend = await openBackend(p, io.env, io.stderr);
    switch (command) {
      case 'list': {
        const apps = await backend.list();
        out({ apps }, () => summaryTable(apps));
        break;
      }
      case 'show': {
        const app = await backend.show(id!);
        out(app, () => toYaml(app));
        break;
      }
      case 'create': {
        const app = await backend.create(fields);
        out(app, () => appText(app, `Created app ${app.id}${app.name ? ` (${app.name})` : ''} in the ${backend!.description}:`));
        break;
      }
      case 'update': {
        const app = await backend.update(id!, fields);
        out(app, () => `Updated app ${app.id}; running servers apply the change without a restart.\n`);
        break;
      }
      case 'rotate-secret': {
        const app = await backend.rotate(id!, { newKey: p.flags.has('--new-key'), keepPrevious: !p.flags.has('--drop-previous') });
        out(app, () => appText(app, `New credentials for app ${app.id}:`));
        break;
      }
      case 'delete': {
        await backend.remove(id!);
        out({ deleted: id }, () => `Deleted app ${id}.\n`);
        break;
      }
      case 'stats': {
        const stats = await backend.stats(id!);
        out(stats, () => toYaml(stats));
        break;
      }
      case 'usage': {
        const usage = await backend.usage(id!, { from: last(p, '--from'), to: last(p, '--to'), days: last(p, '--days') });
        out(usage, () => toYaml(usage));
        break;
      }
    }
    return 0;
  } catch (err) {
    return reportCliFailure('apps', err, io.stderr);
  } finally {
    await backend?.close();
  }
}

/** `herald apps import --from-soketi <file>`: exit 1 when an app could not be imported. */
async function runImport(p: Parsed, io: { stdout: (s: string) => void; stderr: (s: string) => void; env: NodeJS.ProcessEnv }): Promise<number> {
  const file = last(p, '--from-soketi');
  if (!file) throw new CliError('herald apps import needs --from-soketi <config.json> (Soketi\'s configuration file)', 2);
  if (p.positional.length > 1) throw new CliError(`Unexpected argument "${p.positional[1]}"`, 2);
  const dryRun = p.flags.has('--dry-run');
  readSoketiFile(file); // a bad file is reported before any store is opened
  const backend = await openBackend(p, io.env, io.stderr);
  try {
    const outcomes = await importSoketiApps(backend, file, { replace: p.flags.has('--replace'), dryRun });
    io.stdout(p.flags.has('--json') ? JSON.stringify({ apps: outcomes }, null, 2) + '\n' : importReport(outcomes, `${dryRun ? '(dry run) ' : ''}${backend.description}`));
    return outcomes.some((o) => o.result === 'failed') ? 1 : 0;
  } finally {
    await backend.close();
  }
}

export const appsCommand: CliCommand = {
  name: 'apps',
  summary: 'Manage apps: create, list, show, update, rotate-secret, delete, stats, usage',
  run: (argv) => runApps(argv, { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s), env: process.env }),
};
