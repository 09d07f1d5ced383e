/** Builds the effective configuration: flags > environment > config file > defaults. */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { configSchema, SETTINGS, type HeraldConfig, type Setting } from './schema.js';
import { appSchema, toApp, type App } from '../apps/app.js';
import { ArgvError, lastValue, parseCommandArgs } from './argv.js';
import { aliasLayer, pathsOf, type AliasLayer } from './aliases.js';
import { unknownKeys } from './unknown-keys.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Credentials used when no app is configured at all. Printed in the banner; not for production. */
export const DEVELOPMENT_APP = { id: 'app-id', key: 'app-key', secret: 'app-secret' } as const;

export interface LoadOptions {
  argv?: string[];
  env?: Record<string, string | undefined>;
  /** Extra values layered above defaults and below the file (tests use it). */
  base?: Record<string, unknown>;
}

export interface LoadedConfig {
  config: HeraldConfig;
  apps: App[];
  /** True when the development app was added because nothing else was configured. */
  usingDevelopmentApp: boolean;
  /** For the start-up log: other servers' variables in use (aliases.ts). */
  notices: string[];
  /** For the start-up log: settings given twice, values without an equivalent. */
  warnings: string[];
}

function convert(setting: Setting, raw: string, source: string): unknown {
  switch (setting.type) {
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) {
        throw new ConfigError(`${source}: expected a whole number, got "${raw}"`);
      }
      return Number(raw.trim());
    }
    case 'bool': {
      const v = raw.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(v)) return true;
      if (['false', '0', 'no', 'off'].includes(v)) return false;
      throw new ConfigError(`${source}: expected true or false, got "${raw}"`);
    }
    default:
      return raw;
  }
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== 'object' || node[part] === null) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const existing = out[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && existing && typeof existing === 'object' && !Array.isArray(existing)) {
      out[k] = deepMerge(existing as Record<string, unknown>, v as Record<string, unknown>);
    } else {
      out[k] = v;
    }
  }
  return out;
}

/** Parses `--flag value` / `--flag=value` pairs; returns the config layer and the --config path. */
export function parseFlags(argv: string[]): { layer: Record<string, unknown>; configFile?: string } {
  let parsed;
  try {
    parsed = parseCommandArgs(argv, {
      command: 'start',
      valueOptions: ['--config', ...SETTINGS.filter((s) => s.type !== 'bool').map((s) => s.flag)],
      boolOptions: SETTINGS.filter((s) => s.type === 'bool').map((s) => s.flag),
      flagOptions: [],
    });
  } catch (err) {
    if (err instanceof ArgvError) throw new ConfigError(err.message);
    throw err;
  }
  if (parsed.positional.length > 0) throw new ConfigError(`Unexpected argument "${parsed.positional[0]}"`);
  const layer: Record<string, unknown> = {};
  for (const setting of SETTINGS) {
    const value = lastValue(parsed, setting.flag);
    if (value !== undefined) setPath(layer, setting.path, convert(setting, value, setting.flag));
  }
  return { layer, configFile: lastValue(parsed, '--config') };
}

export function envLayer(env: Record<string, string | undefined>): Record<string, unknown> {
  const layer: Record<string, unknown> = {};
  for (const setting of SETTINGS) {
    const raw = env[setting.env];
    if (raw === undefined || raw === '') continue;
    setPath(layer, setting.path, convert(setting, raw, setting.env));
  }
  return layer;
}

export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`--config ${file}: cannot read file (${(err as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = extname(file) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`--config ${file}: not valid ${extname(file) === '.json' ? 'JSON' : 'YAML'} (${(err as Error).message})`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`--config ${file}: must contain an object`);
  return parsed as Record<string, unknown>;
}

/** A setting as every source spells it: the file key, then the variable and flag when it has them. */
function settingName(path: string): string {
  const setting = SETTINGS.find((s) => s.path === path);
  return setting ? `${path} (${setting.env} / ${setting.flag})` : path || '(root)';
}

function issueLines(error: z.ZodError, prefix = ''): string[] {
  return error.issues.map((issue) => `${settingName([prefix, ...issue.path.map(String)].filter(Boolean).join('.'))}: ${issue.message}`);
}

function describeIssues(error: z.ZodError, prefix = ''): string {
  return issueLines(error, prefix).join('\n');
}

export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const { layer: flags, configFile } = parseFlags(options.argv ?? []);
  const env = options.env ?? process.env;
  const fileLayer = configFile ? readConfigFile(configFile) : {};
  const heraldEnv = envLayer(env);
  const aliases = readAliases(env, [
    [flags, (path) => SETTINGS.find((s) => s.path === path)?.flag ?? path],
    [heraldEnv, (path) => SETTINGS.find((s) => s.path === path)?.env ?? path],
    [fileLayer, (path) => `${path} in ${configFile}`],
  ]);
  const merged = deepMerge(deepMerge(deepMerge(deepMerge(options.base ?? {}, aliases.layer), fileLayer), heraldEnv), flags);
  const result = configSchema.safeParse(merged);
  // Every problem at once: unknown keys in the file, then what the schema refuses.
  const problems = configFile ? unknownKeys(fileLayer, configSchema).map((p) => `${configFile}: ${p}`) : [];
  if (!result.success) problems.push(...issueLines(result.error));
  if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  const config = result.data!;
  if (config.metricsHost !== undefined && config.metricsPort === undefined) {
    throw new ConfigError(`Invalid configuration:\n${settingName('metricsHost')}: only used with a separate metrics listener; set ${settingName('metricsPort')} too`);
  }
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    throw new ConfigError('Invalid configuration:\ntlsCert / tlsKey (HERALD_TLS_CERT / HERALD_TLS_KEY): set both or neither');
  }

  const apps: App[] = config.apps.map(toApp);
  if (config.app && Object.values(config.app).some((v) => v !== undefined)) {
    const missing = (['id', 'key', 'secret'] as const).filter((k) => !config.app?.[k]);
    if (missing.length > 0) {
      throw new ConfigError(
        `Invalid configuration:\nthe default app needs ${missing.map((k) => `HERALD_APP_${k.toUpperCase()}`).join(', ')} (file keys ${missing.map((k) => `app.${k}`).join(', ')}; set HERALD_APP_ID, HERALD_APP_KEY and HERALD_APP_SECRET together` +
          `${aliases.origin.size > 0 ? `; from ${[...new Set(aliases.origin.values())].join(', ')} only: ${(['id', 'key', 'secret'] as const).filter((k) => aliases.origin.has(`app.${k}`)).join(', ') || 'no credentials'}` : ''})`,
      );
    }
    const parsed = appSchema.safeParse(config.app);
    if (!parsed.success) throw new ConfigError(`Invalid configuration:\n${describeIssues(parsed.error, 'app')}`);
    apps.unshift(toApp(parsed.data));
  }

  let usingDevelopmentApp = false;
  if (apps.length === 0) {
    apps.push(toApp(appSchema.parse({ ...DEVELOPMENT_APP, name: 'Development app', clientEvents: config.app?.clientEvents ?? true })));
    usingDevelopmentApp = true;
  }
  if (config.appWebhookUrl) {
    const urls = config.appWebhookUrl.split(',').map((u) => u.trim()).filter(Boolean);
    const hooks = appSchema.shape.webhooks.safeParse(urls.map((url) => ({ url })));
    if (!hooks.success) throw new ConfigError(`Invalid configuration:\n${settingName('appWebhookUrl')}: every entry must be an http(s) URL`);
    apps[0] = { ...apps[0]!, webhooks: [...apps[0]!.webhooks, ...hooks.data] };
  }

  const seen = new Map<string, string>();
  for (const app of apps) {
    for (const [kind, value] of [['id', app.id], ...app.credentials.map((c) => ['key', c.key] as const)] as const) {
      const tag = `${kind}:${value}`;
      if (seen.has(tag)) throw new ConfigError(`Invalid configuration:\napps: duplicate app ${kind} "${value}"`);
      seen.set(tag, app.id);
    }
  }
  return { config, apps, usingDevelopmentApp, notices: aliases.notices, warnings: aliases.warnings };
}

/** Other servers' variables (aliases.ts), minus what a Herald setting overrides — with a warning for each. */
function readAliases(env: Record<string, string | undefined>, heraldLayers: Array<[Record<string, unknown>, (path: string) => string]>): AliasLayer {
  let aliases: AliasLayer;
  try {
    aliases = aliasLayer(env);
  } catch (err) {
    throw new ConfigError(`Invalid configuration:\n${(err as Error).message}`);
  }
  for (const [layer, describe] of heraldLayers) {
    const paths = pathsOf(layer);
    for (const [path, variable] of aliases.origin) {
      if (paths.has(path)) aliases.warnings.push(`${variable} is ignored: ${describe(path)} is set too (Herald's own settings win)`);
    }
  }
  return aliases;
}
